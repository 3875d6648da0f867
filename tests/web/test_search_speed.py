"""The search request's bounded work (issue 13, "Speed"): a researcher's page of hits is masked with the
people of the whole page looked up in a fixed number of catalogue queries (not an archive view per hit), with
the same answer as per archive; an administrator's search asks the catalogue nothing while its marks stand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from repository.accounts.tokens import create_token
from repository.config import load as load_config
from repository.home import Repository
from repository.search.results import SearchRequest
from repository.services import index_check, people
from repository.state.db import open_state
from repository.web import create_app, shared
from repository.web.gateway import searching
from repository.web.gateway.access import Principal


@pytest.fixture
def app(web_home: Path) -> Flask:
    return create_app(web_home, {"TESTING": True, "SECRET_KEY": "test"})


def _token(home: Path, user: str) -> dict[str, str]:
    with open_state(load_config(home).state_url) as state:
        return {"Authorization": f"Bearer {create_token(state, user, 'speed test')[1]}"}


@contextmanager
def _statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements the application's catalogue runs inside the block."""
    seen: list[str] = []
    engine = shared.of(app).repository().catalog._engine  # noqa: SLF001 - counting what the page asks

    def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:  # noqa: ANN401
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_people_of_a_page_are_those_of_each_archive(web_home: Path, archives: dict[str, Any]) -> None:
    with Repository.open(web_home) as repo:
        ids = [*archives, "HH-000000000-0000000"]  # and one never catalogued
        found = people.people_of(repo, ids)
        assert set(found) == set(archives)  # one never catalogued is left out: nobody knows its people
        for archive_id in archives:
            expected = people.people(repo, repo.catalog.show(archive_id))
            assert sorted(map(repr, found[archive_id])) == sorted(map(repr, expected)), archive_id
        assert any(len(v) > 1 for v in found.values())  # a unit archive has its linked households' people


def test_a_researchers_page_is_masked_as_archive_by_archive(web_home: Path, archives: dict[str, Any]) -> None:
    reader = Principal("reader", searching.access.Role.RESEARCHER, "320100")
    with Repository.open(web_home) as repo:
        result = repo.search.search(SearchRequest(per_page=50))
        assert result.total == len(archives)
        page = searching._masked(repo, result)  # noqa: SLF001
        for hit, plain in zip(page.hits, result.hits, strict=True):
            view = repo.catalog.show(hit.archive_id)
            one = people.masked(repo, view, plain.to_dict() | {"highlights": {}})
            assert (hit.title, list(hit.items), list(hit.paper)) == (one["title"], one["items"], one["paper"])
        heads = [v.archive.household.head.name for v in archives.values() if v.archive.household]
        shown = str([h.to_dict() for h in page.hits])
        assert heads and not any(name in shown for name in heads)
    assert not searching.access.sees_personal_data(reader)


def test_a_researchers_search_asks_the_catalogue_the_same_few_queries_for_one_hit_or_many(
        app: Flask, web_home: Path, archives: dict[str, Any], monkeypatch) -> None:
    monkeypatch.setattr(index_check, "MARK_SECONDS", 3600.0)
    client, headers = app.test_client(), _token(web_home, "reader")
    assert client.get("/api/v1/search", headers=headers).status_code == 200  # the index marks, asked once
    counts = []
    for per_page in (1, len(archives)):
        with _statements(app) as seen:
            answer = client.get(f"/api/v1/search?per_page={per_page}", headers=headers)
        assert answer.status_code == 200 and len(answer.get_json()["hits"]) == per_page
        counts.append(len([s for s in seen if s.startswith("SELECT")]))
    assert counts[1] <= 3 and counts[0] <= 3  # households, links, linked households: never one per hit


def test_an_administrators_search_asks_the_catalogue_nothing_while_nothing_moves(
        app: Flask, web_home: Path, monkeypatch) -> None:
    monkeypatch.setattr(index_check, "MARK_SECONDS", 3600.0)
    client, headers = app.test_client(), _token(web_home, "admin")
    assert client.get("/api/v1/search?q=住房", headers=headers).status_code == 200  # the marks, asked once
    with _statements(app) as seen:
        for query in ("住房", "申请书", ""):
            assert client.get(f"/api/v1/search?q={query}", headers=headers).status_code == 200
    assert [s for s in seen if s != "BEGIN"] == []
    monkeypatch.setattr(index_check, "MARK_SECONDS", 0.0)  # the version mark is asked again once it is old
    with _statements(app) as seen:
        assert client.get("/api/v1/search", headers=headers).status_code == 200
    assert [s.split()[1] for s in seen if s != "BEGIN"] == ["max(versions.id)"]


@pytest.mark.parametrize("archive_id", ["HH-320102001-0000001", "hh-320102-2022-0001", "a b/c?d#e%f", "档案·甲&乙=丙", "x;y@z!"])
def test_the_pages_archive_links_are_the_urls_flask_would_build(app: Flask, archive_id: str) -> None:
    from flask import url_for

    from repository.web.views.search import archive_links

    with app.test_request_context("/search"):
        assert archive_links()(archive_id) == url_for("archives.show", archive_id=archive_id)


@pytest.mark.parametrize("value", ["", "plain 文本", "<b>&'\"</b>", "&amp; &lt;", 12345, "a\u2028b", "<em>x</em>"])
def test_the_pages_escaping_is_jinjas(value: object) -> None:
    from markupsafe import escape

    from repository.web import i18n
    from repository.web.views.search import _e, _lit

    assert _e(value) == str(escape(value))
    if isinstance(value, str):
        fragment = f"…{value}<em>{value}</em>&amp;<em>m</em>"
        assert _lit(fragment) == str(i18n.highlight(fragment))


def test_hsar_serve_keeps_what_start_up_made_out_of_the_collectors_full_passes(web_home: Path, monkeypatch) -> None:
    import gc

    import waitress
    from click.testing import CliRunner

    from repository.cli import cli

    seen = {}

    def serve(app: Flask, **options: Any) -> None:  # noqa: ANN401
        seen["frozen"] = gc.get_freeze_count()

    monkeypatch.setattr(waitress, "serve", serve)
    try:
        done = CliRunner().invoke(cli, ["--home", str(web_home), "serve", "--port", "5999"], prog_name="hsar")
    finally:
        gc.unfreeze()
    assert done.exit_code == 0, done.output
    assert seen["frozen"] > 10_000  # the app, its modules and catalogues: not walked by every full collection


def test_masking_skips_only_texts_too_short_of_digits_to_hold_a_number() -> None:
    import random

    from repository import privacy

    rng = random.Random(5)
    pieces = ["1", "2", "9", "０", "９", "X", "x", "Ｘ", " ", "\u3000", "-", "<em>", "</em>", "王", "户", "A", "，"]
    samples = ["", "110101199001011234", "1101011990010112", "11010119900101123X", "110101 1990 0101 123x",
               "证号１１０１０１１９９００１０１１２３４。", "<em>1101</em>01199001011234", "1101011990010"]
    samples += ["".join(rng.choice(pieces) for _ in range(rng.randint(10, 40))) for _ in range(20_000)]
    for text in samples:
        assert privacy.mask_text(text) == privacy._mask_ids(text) if text else text == "", repr(text)  # noqa: SLF001
    assert privacy.mask_text("身份证号110101199001011234") == "身份证号110101********1234"


def test_nfkc_quick_path_gives_the_full_normal_form() -> None:
    """Texts already in NFKC are only lower-cased; every other text still gets the full pass (same result)."""
    import unicodedata

    from repository.search import analysis
    from repository.search.hits import _nfkc_lower

    texts = ["张三 南京市玄武区", "Ｚｈａｎｇ　三，（甲）", "ＡＢＣ住房", "⼀号楼", "丽水苑 ＩＩ 期", "ß Straße Ǆ", "①号", "ﬁle 住"]
    for text in texts:
        assert _nfkc_lower(text) == analysis.normalize(text) == unicodedata.normalize("NFKC", text).lower()
