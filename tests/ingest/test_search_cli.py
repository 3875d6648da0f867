"""``hsar search`` and ``hsar reindex`` over a repository built by ingesting the demo SIPs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from repository.cli import cli
from repository.home import Repository
from repository.ingest.pipeline import ingest
from repository.preservation.ids import object_id

from .conftest import copy_home


def search(home: Path, *args: str) -> tuple[int, dict | str]:
    result = CliRunner().invoke(cli, ["--home", str(home), "search", *args])
    assert "Traceback" not in result.output
    if "--json" in args and result.exit_code == 0:
        return result.exit_code, json.loads(result.output)
    return result.exit_code, result.output


def _answer(home: Path, query: str) -> dict:
    """A search's answer without relevance scores (they depend on the index's deleted-document history)."""
    code, found = search(home, query, "--json", "--facet", "status")
    assert code == 0
    for hit in found["hits"]:
        hit.pop("score", None)
    return found


def _household(home: Path) -> tuple[str, object]:
    with Repository.open(home) as repo:
        archive_id = next(a for a in repo.catalog.archive_ids() if a.startswith("hh-"))
        return archive_id, repo.catalog.show(archive_id).archive


def test_search_by_name_id_and_box_with_masking(ingested_home: Path) -> None:
    archive_id, archive = _household(ingested_home)
    head = archive.household.head
    code, found = search(ingested_home, f"name:{head.name}", "--json")
    assert code == 0 and archive_id in [h["archive_id"] for h in found["hits"]]
    code, found = search(ingested_home, f"id:{head.resident_id}", "--json")
    assert [h["archive_id"] for h in found["hits"]] == [archive_id]
    assert set(found) == {"total", "hits", "facets"}
    assert set(found["hits"][0]) >= {"archive_id", "title", "division", "items", "paper", "highlights"}
    code, masked = search(ingested_home, f"id:{head.resident_id}", "--json", "--mask")
    assert head.resident_id not in json.dumps(masked, ensure_ascii=False)
    assert head.resident_id[:6] + "********" + head.resident_id[-4:] in json.dumps(masked, ensure_ascii=False)
    code, found = search(ingested_home, f"box:{archive.volume.box}", "--json")
    assert archive_id in [h["archive_id"] for h in found["hits"]]


def test_division_scope_and_facets(ingested_home: Path) -> None:
    archive_id, archive = _household(ingested_home)
    district = archive.division[:6]
    code, scoped = search(ingested_home, "", "--division", district, "--facet", "type", "--json")
    assert code == 0 and scoped["total"] >= 1
    assert all(h["division"].startswith(district) for h in scoped["hits"])
    assert sum(scoped["facets"]["type"].values()) == scoped["total"]
    code, city = search(ingested_home, "", "--division", "320100", "--json", "--per-page", "1000")
    with Repository.open(ingested_home) as repo:
        assert city["total"] == len(repo.catalog.archive_ids())


def test_malformed_query_is_a_clear_message(ingested_home: Path) -> None:
    code, out = search(ingested_home, '"unbalanced')
    assert code == 2 and "[QUERY]" in out and "Traceback" not in out  # unusable arguments
    code, out = search(ingested_home, "year:abc")
    assert code == 2 and "[QUERY]" in out
    code, out = search(ingested_home, "王", "--facet", "bogus")
    assert code == 2 and "[SEARCH]" in out and "unknown facet 'bogus'" in out


def test_supplement_items_become_findable_and_reindex_answers_the_same(demo, home_template, tmp_path) -> None:
    home = copy_home(home_template, tmp_path / "home")
    original, supplement = demo.first_with_supplement()
    with Repository.open(home) as repo:
        [first] = ingest(repo, [original])
        before = {i.number for i in repo.catalog.show(first.archive_id).archive.items}
        ingest(repo, [supplement])
        after = repo.catalog.show(first.archive_id).archive
    new = [i for i in after.items if i.number not in before]
    assert new
    code, found = search(home, f"archive:{first.archive_id} title:{new[0].title}", "--json")
    hits = found["hits"]
    assert [h["archive_id"] for h in hits] == [first.archive_id]
    assert new[0].number in [i["number"] for i in hits[0]["items"]]
    queries = [f"archive:{first.archive_id}", "年度复核", f"subtype:{new[0].subtype}"]
    answers = [_answer(home, q) for q in queries]
    shutil.rmtree(home / "index")
    result = CliRunner().invoke(cli, ["--home", str(home), "reindex"])
    assert result.exit_code == 0, result.output
    assert [_answer(home, q) for q in queries] == answers
    with Repository.open(home) as repo:
        assert repo.store.head(object_id(first.archive_id)) == "v2"
