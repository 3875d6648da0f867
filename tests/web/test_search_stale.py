"""The search page and the search API run the stale-index check of ``hsar search`` (issue 15): an index that
holds none of the catalogue's archives is SEARCH-STALE naming ``hsar reindex`` (503), never 0 hits; one that
lacks some answers and says so. The check is cheap: the catalogue is counted again only when it changed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from repository.accounts.tokens import create_token
from repository.catalog.store import Catalog
from repository.config import load as load_config
from repository.home import Repository
from repository.services import index_check
from repository.state.db import open_state
from repository.web import create_app


@pytest.fixture
def own_home(web_home: Path, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(web_home, home)
    return home


def _clients(home: Path, wh: Any, user: str = "admin") -> tuple[Flask, Any, dict[str, str]]:  # noqa: ANN401
    app = create_app(home, {"TESTING": True, "SECRET_KEY": "test"})
    with open_state(load_config(home).state_url) as state:
        token = create_token(state, user, "stale test")[1]
    page = app.test_client()
    assert page.post("/login", data={"username": user, "password": wh.PASSWORD, "purpose_kind": "work",
                                     "csrf_token": wh.csrf_token(page)}).status_code == 302
    return page, app.test_client(), {"Authorization": f"Bearer {token}", "X-HSAR-Purpose": "test"}


def test_an_index_holding_no_archive_is_search_stale_on_the_page_and_in_the_api(own_home: Path, wh: Any,
                                                                              monkeypatch) -> None:
    with Repository.open(own_home) as repo:
        engine = repo.cfg["search.engine"]
    monkeypatch.setenv("HSAR_SEARCH_ENGINE", "tantivy" if engine == "whoosh" else "whoosh")  # never indexed
    page, api, headers = _clients(own_home, wh)
    shown = page.get("/search?q=%E4%BD%8F%E6%88%BF")
    text = shown.get_data(as_text=True)
    assert shown.status_code == 503 and "SEARCH-STALE" in text and "hsar reindex" in text
    answer = api.get("/api/v1/search?q=%E4%BD%8F%E6%88%BF", headers=headers)
    assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "SEARCH-STALE"
    assert "hsar reindex" in answer.get_json()["error"]["message"]


def test_an_index_lacking_an_archive_answers_and_says_so(own_home: Path, wh: Any) -> None:
    with Repository.open(own_home) as repo:
        catalogued = repo.catalog.archive_count()
        lost = sorted(repo.catalog.archive_ids())[0]
        repo.search.delete(lost)
        repo.search.commit()
    page, api, headers = _clients(own_home, wh)
    shown = page.get("/search")
    assert shown.status_code == 200 and 'id="index-behind"' in shown.get_data(as_text=True)
    found = api.get("/api/v1/search", headers=headers).get_json()
    assert found["total"] == catalogued - 1
    assert found["index_behind"]["indexed"] == catalogued - 1 and found["index_behind"]["catalogued"] == catalogued
    assert "hsar reindex" in found["index_behind"]["message"]
    page, api, headers = _clients(own_home, wh, "xuanwu")  # one district's archivist: no count of the whole
    shown = page.get("/search").get_data(as_text=True)
    assert 'id="index-behind"' in shown and not any(c.isdigit() for c in shown.split('id="index-behind"')[1].split("</p>")[0])
    found = api.get("/api/v1/search", headers=headers).get_json()
    assert set(found["index_behind"]) == {"message"} and "hsar reindex" in found["index_behind"]["message"]


def test_a_current_index_says_nothing_and_the_catalogue_is_counted_once(own_home: Path, wh: Any,
                                                                         monkeypatch) -> None:
    counted = []
    real = Catalog.archive_count
    monkeypatch.setattr(Catalog, "archive_count", lambda self: counted.append(1) or real(self))
    page, api, headers = _clients(own_home, wh)
    for _ in range(3):
        assert 'id="index-behind"' not in page.get("/search").get_data(as_text=True)
        assert "index_behind" not in api.get("/api/v1/search", headers=headers).get_json()
    assert len(counted) == 1  # the marks did not move: the first count serves every request
    monkeypatch.setattr(index_check, "RECOUNT_SECONDS", 0.0)
    page.get("/search")
    assert len(counted) == 2


def test_a_hit_the_catalogue_no_longer_holds_is_not_shown_to_a_researcher(own_home: Path, wh: Any) -> None:
    """Masking a researcher's hit needs the archive's people, from the catalogue. An archive the index still
    holds but the catalogue does not (disposed, or an index behind) cannot be masked: it is left out of the
    page, the API and the total, so its household's names never reach the researcher; the administrator, who
    sees everything unmasked anyway, still finds it."""
    with Repository.open(own_home) as repo:
        views = [repo.catalog.show(i) for i in repo.catalog.archive_ids()]
        gone = next(v for v in views if v is not None and v.archive.household)
        head = gone.archive.household.head.name
        catalogued = repo.catalog.archive_count()
        assert repo.catalog.delete_archive(gone.archive.identifier)
    page, api, headers = _clients(own_home, wh, "reader")
    found = api.get("/api/v1/search?q=" + head, headers=headers).get_json()
    assert gone.archive.identifier not in str(found) and head not in str(found)
    everything = api.get("/api/v1/search?per_page=100", headers=headers).get_json()
    assert everything["total"] == catalogued - 1
    assert gone.archive.identifier not in {h["archive_id"] for h in everything["hits"]}
    shown = page.get("/search?q=" + head).get_data(as_text=True)  # the page repeats the query; no hit of it
    assert gone.archive.identifier not in shown and shown.count(head) == page.get("/search?q=" + head + "x").get_data(
        as_text=True).count(head)
    _page, api, headers = _clients(own_home, wh, "admin")
    hits = api.get("/api/v1/search?q=" + head, headers=headers).get_json()["hits"]
    assert gone.archive.identifier in {h["archive_id"] for h in hits}
