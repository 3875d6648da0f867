"""The Tantivy engine's result cache: repeated searches are answered from it, but never across scopes or
filters, never past a commit (in this process or another) and never with another user's masking."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from repository.search import SearchRequest, mask_result, open_engine
from repository.search.resultcache import ResultCache

FACETS = ("division", "type", "year")


@pytest.fixture
def engine(tmp_path: Path, documents: list):
    eng = open_engine("tantivy", tmp_path / "index")
    eng.add(documents)
    eng.commit()
    yield eng
    eng.close()


def ids(result) -> list[str]:  # noqa: ANN001
    return [h.archive_id for h in result.hits]


def test_a_repeated_search_is_answered_from_the_cache_with_the_same_result(engine) -> None:
    request = SearchRequest("幸福家园", facets=FACETS)
    first = engine.search(request)
    hits = engine.results.hits
    again = engine.search(request)
    assert engine.results.hits == hits + 2  # the page and the facet counts (rendered again, and now kept)
    assert again == first and again.total > 0
    assert engine.search(request) == first
    assert engine.results.hits == hits + 3  # the whole rendered answer: hits, highlights, facet counts
    page_two = engine.search(replace(request, page=2, per_page=1))
    assert engine.results.hits == hits + 4  # the next page reuses the facet counts, not the page
    assert page_two.facets == first.facets and ids(page_two) == ids(first)[1:2]


def test_a_rendered_answer_is_kept_once_asked_again_and_as_a_copy(engine) -> None:
    def answers() -> list:
        return [v for (_gen, key), v in engine.results._data.items() if key[0] == "answer"]  # noqa: SLF001

    first = engine.search(SearchRequest("幸福家园"))
    engine.search(SearchRequest("住房"))
    assert answers() == []  # searches asked once keep only the engine's payloads and counts, no rendered hits
    engine.search(SearchRequest("幸福家园"))
    [kept] = answers()
    assert isinstance(kept, bytes)  # pickled: nothing for the garbage collector to walk
    one, two = engine.search(SearchRequest("幸福家园")), engine.search(SearchRequest("幸福家园"))
    assert one == two == first and one.hits[0] is not two.hits[0]  # each caller has its own copy


def test_a_kept_answer_is_rendered_for_what_was_asked(engine) -> None:
    lit = engine.search(SearchRequest("幸福家园"))
    plain = engine.search(SearchRequest("幸福家园", highlight=False))
    assert ids(plain) == ids(lit) and any(h.highlights for h in lit.hits)
    assert engine.search(SearchRequest("幸福家园")) == lit  # now kept
    plain = engine.search(SearchRequest("幸福家园", highlight=False))
    assert not any(h.highlights for h in plain.hits)  # not the highlighted answer kept for the same query
    assert engine.search(SearchRequest("幸福家园")) == lit


def test_the_cache_never_answers_for_another_scope_or_filter(engine) -> None:
    everywhere = engine.search(SearchRequest("", facets=FACETS))
    xuanwu = engine.search(SearchRequest("", facets=FACETS, division="320102"))
    wuxi = engine.search(SearchRequest("", facets=FACETS, division="320211"))
    assert everywhere.total == 6 and xuanwu.total == 3 and wuxi.total == 1
    assert set(xuanwu.facets["division"]) == {"320000", "320100", "320102", "320102002", "320102003"}
    assert all(h.division.startswith("320102") for h in xuanwu.hits)
    assert engine.search(SearchRequest("", filters={"type": "unit"})).total == 2
    assert engine.search(SearchRequest("", division="320102", facets=FACETS)) == xuanwu  # and repeats


def test_masking_applies_to_a_cached_result(engine, demo) -> None:
    request = SearchRequest(demo.HEAD_ID)
    plain = engine.search(request)
    masked = mask_result(engine.search(request))  # a researcher after an administrator, same query
    assert demo.HEAD_ID in str(plain.hits[0].highlights)
    assert demo.HEAD_ID not in str(masked) and demo.HEAD_ID[:6] + "********" in str(masked)
    assert demo.HEAD_ID in str(engine.search(request).hits[0].highlights)  # the cache itself was not masked


def test_a_commit_in_this_process_is_seen_at_once(engine, documents) -> None:
    request = SearchRequest("幸福家园")
    before = engine.search(request)
    engine.search(request)
    engine.delete(before.hits[0].archive_id)
    engine.commit()
    after = engine.search(request)
    assert after.total == before.total - 1 and before.hits[0].archive_id not in ids(after)


def test_a_commit_by_another_process_is_seen_at_once(engine, documents, tmp_path: Path) -> None:
    request = SearchRequest("", facets=("type",))
    before = engine.search(request)
    assert engine.search(request) == before  # cached
    other = open_engine("tantivy", tmp_path / "index")  # another writer of the same index (as hsar ingest is)
    try:
        gone = documents[0].archive_id
        other.delete(gone)
        other.commit()
    finally:
        other.close()
    after = engine.search(request)
    assert after.total == before.total - 1 and gone not in ids(after)
    assert sum(after.facets["type"].values()) == after.total


def test_the_cache_keeps_its_newest_entries_only() -> None:
    cache = ResultCache(entries=2)
    for key in "abc":
        assert cache.get(1, key, lambda key=key: key.upper()) == key.upper()
    assert cache.get(1, "a", lambda: "again") == "again"  # dropped as the least recently used
    assert cache.get(1, "c", lambda: "x") == "C"
    assert cache.get(2, "c", lambda: "new") == "new"  # a new generation empties it
