"""The archive page and the statistics page after the speed work of issue 13: the register line is written
before the page is answered (a failed write shows no record); the statistics are recounted in the background
and a page never waits for a whole recount; the census indexes reach an existing catalogue."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from sqlalchemy import inspect, text

from repository.accounts import register
from repository.accounts.register import list_uses
from repository.config import load as load_config
from repository.errors import StateError
from repository.home import Repository
from repository.services import census as counts
from repository.state.db import open_state
from repository.web import create_app


def _uses(home: Path) -> list:
    with open_state(load_config(home).state_url) as state:
        return list_uses(state)


def test_a_view_whose_register_line_fails_shows_nothing(login, archives, web_home, monkeypatch) -> None:
    view = next(v for v in archives.values() if v.archive.household is not None)
    client = login("admin")
    before = len(_uses(web_home))

    def full_disk(head, batch):
        raise StateError(msgid="state.unreadable", url="state", detail="disk full")

    monkeypatch.setattr(register, "_chained", full_disk)
    page = client.get(f"/archives/{view.identifier}")
    assert page.status_code == 500
    body = page.get_data(as_text=True)
    assert view.archive.household.head.resident_id not in body and view.archive.title not in body
    assert len(_uses(web_home)) == before
    monkeypatch.undo()
    assert client.get(f"/archives/{view.identifier}").status_code == 200
    [entry] = _uses(web_home)[before:]  # written before the answer, in the same request
    assert (entry.archive_id, entry.action, entry.username) == (view.identifier, "view", "admin")


def _copy(web_home: Path, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(web_home, home)
    return home


def _admin(home: Path, wh) -> object:
    client = create_app(home, {"TESTING": True, "SECRET_KEY": "test"}).test_client()
    assert client.post("/login", data={"username": "admin", "password": wh.PASSWORD, "purpose_kind": "work",
                                       "csrf_token": wh.csrf_token(client)}).status_code == 302
    return client


def test_the_statistics_page_shows_the_previous_counts_while_a_recount_runs(wh, web_home, tmp_path,
                                                                              monkeypatch) -> None:
    home = _copy(web_home, tmp_path)
    client = _admin(home, wh)
    first = client.get("/stats").get_data(as_text=True)
    assert 'id="stats-stale"' not in first and 'id="stats-counting"' not in first
    census, release = counts.figures_of.census, threading.Event()

    def slow(catalog):
        assert release.wait(30)
        return census(catalog)

    monkeypatch.setattr(counts.figures_of, "census", slow)
    with Repository.open(home) as repo:
        total = len(repo.catalog.archive_ids())
        assert repo.catalog.delete_archive(repo.catalog.archive_ids()[0])  # the catalogue changes
    started = time.monotonic()
    page = client.get("/stats")
    assert time.monotonic() - started < 5  # not the recount's time (held until released)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="stats-stale"' in body  # the previous counts, said to be so
    assert f"<td class=\"num\">{total}</td>" in body
    release.set()
    with Repository.open(home) as repo:
        answer = counts.latest(repo, wait=30)
        assert answer.fresh and sum(answer.counted.census.scoped([""]).by["type"].archives.values()) == total - 1
    assert 'id="stats-stale"' not in client.get("/stats").get_data(as_text=True)


def test_before_the_first_count_the_statistics_page_says_it_is_counting(wh, web_home, tmp_path,
                                                                         monkeypatch) -> None:
    home = _copy(web_home, tmp_path)
    release = threading.Event()
    census = counts.figures_of.census

    def slow(catalog):
        assert release.wait(30)
        return census(catalog)

    monkeypatch.setattr(counts.figures_of, "census", slow)
    client = _admin(home, wh)
    page = client.get("/stats")
    assert page.status_code == 200 and 'id="stats-counting"' in page.get_data(as_text=True)
    release.set()
    with Repository.open(home) as repo:
        assert counts.latest(repo, wait=30).fresh
    body = client.get("/stats").get_data(as_text=True)
    assert 'id="stats-counting"' not in body and 'id="stat-type"' in body


def test_the_census_indexes_reach_an_existing_catalogue(web_home, tmp_path) -> None:
    home = _copy(web_home, tmp_path)
    names = ("ix_archives_census", "ix_items_census", "ix_files_census")
    with Repository.open(home) as repo:
        with repo.catalog.transaction(write=True) as conn:  # as a catalogue made before them
            for name in names:
                conn.execute(text(f"DROP INDEX {name}"))
        assert sorted(repo.catalog.add_missing_indexes()) == sorted(names)
        assert repo.catalog.add_missing_indexes() == []  # once
        with repo.catalog.transaction() as conn:
            found = {ix["name"] for table in ("archives", "items", "files") for ix in inspect(conn).get_indexes(table)}
            plan = " ".join(str(r[3]) for r in conn.execute(text(
                "EXPLAIN QUERY PLAN SELECT archive_id, number, material_class FROM items")))
    assert set(names) <= found and "COVERING INDEX ix_items_census" in plan
