"""Fixtures of the web tests: one home with every demo SIP ingested (once per session), accounts of every
role and scope in its state database (as ``hsar user add`` makes them), and a signed-in test client per user
(CSRF on, as in production)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from flask import Flask
from flask.testing import FlaskClient

from repository.accounts.users import add_user
from repository.config import load as load_config
from repository.home import Repository, init_home
from repository.state.db import open_state
from repository.web import create_app

PASSWORD = "correct horse battery staple"
#: username -> (role, division scope)
USERS = {
    "admin": ("admin", "000000"),
    "xuanwu": ("archivist", "320102"),  # 玄武区: one household archive
    "jianye": ("archivist", "320105"),  # 建邺区: the two unit archives
    "reader": ("researcher", "320100"),  # 南京市: everything, masked
    "auditor": ("auditor", "320100"),
}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def wh() -> ModuleType:
    """This module's helpers (PASSWORD, csrf_token) for test modules (conftest is not importable by name)."""
    return sys.modules[__name__]


def add_users(home: Path) -> None:
    """Every account of :data:`USERS` (password :data:`PASSWORD`) in the state database of ``home``."""
    with open_state(load_config(home).state_url) as state:
        for name, (role, division) in USERS.items():
            add_user(state, name, role, division, password=PASSWORD)


@pytest.fixture(scope="session")
def web_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from repository.demo.generate import write_demo_data
    from repository.ingest.pipeline import ingest

    root = tmp_path_factory.mktemp("web-demo") / "sips"
    write_demo_data(root, households=3, units=2, seed=7, defects=False)
    manifest = json.loads((root / "demo_manifest.json").read_text("utf-8"))
    home = tmp_path_factory.mktemp("web") / "home"
    init_home(home)
    with Repository.open(home) as repo:
        outcomes = ingest(repo, [root / e["path"] for e in manifest["sips"]])
    assert {o.status for o in outcomes} == {"ingested"}
    add_users(home)
    return home


def queued_work(home: Path) -> list[tuple[str, str, str]]:
    """What tests must not leave in the session's shared home: every job of ``home``'s queue as (kind, id,
    state) and every scan review (proposal) as ("scan review", id, state)."""
    from sqlalchemy import select

    from repository.state import tables

    j, r = tables.jobs, tables.scan_reviews
    with open_state(load_config(home).state_url) as state, state.transaction() as conn:
        jobs = [(k, str(i), s) for i, k, s in conn.execute(select(j.c.id, j.c.kind, j.c.state))]
        reviews = [("scan review", str(i), s) for i, s in conn.execute(select(r.c.id, r.c.state))]
    return sorted(jobs + reviews)


@pytest.fixture(autouse=True)
def _shared_home_queue_unchanged(request: pytest.FixtureRequest) -> Iterator[None]:
    """The session's :func:`web_home` is shared by every test: a test that queues a job (a researcher opening a
    scan queues its ``scan-proposal``, an API caller an audit) does it in a copy (:func:`own_login`,
    :func:`home_copy`), so a later test sees only the jobs and proposals it made. Checked around every test that
    uses the shared home."""
    if "web_home" not in request.fixturenames:
        yield
        return
    home = request.getfixturevalue("web_home")
    before = queued_work(home)
    yield
    after = queued_work(home)
    assert after == before, (f"{request.node.nodeid} changed the job queue or the scan reviews of the session's "
                             f"shared web home (use a copy of it): {sorted(set(after) ^ set(before))}")


def home_copy(home: Path, folder: Path) -> Path:
    """A copy of ``home`` at ``folder/home``, for a test that writes into it."""
    import shutil

    return Path(shutil.copytree(home, folder / "home", symlinks=True))


@pytest.fixture
def own_login(web_home: Path, tmp_path: Path) -> Callable[[str], FlaskClient]:
    """As :func:`login`, on a copy of the session's home made for the test (which may queue jobs there)."""
    own = create_app(home_copy(web_home, tmp_path), {"TESTING": True, "SECRET_KEY": "test"})
    return lambda username: signed_in(own, username)


@pytest.fixture(scope="session")
def archives(web_home: Path) -> dict[str, object]:
    """Every archive's view by identifier (for choosing test targets by their facts, not by name)."""
    with Repository.open(web_home) as repo:
        return {i: repo.catalog.show(i) for i in repo.catalog.archive_ids()}


@pytest.fixture
def app(web_home: Path) -> Flask:
    return create_app(web_home, {"TESTING": True, "SECRET_KEY": "test"})


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    match = TOKEN.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def signed_in(app: Flask, username: str) -> FlaskClient:
    """A test client of ``app`` signed in as one of :data:`USERS` (purpose of use: work)."""
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD, "purpose_kind": "work",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def copies_by_job(home: Path) -> None:
    """Every researcher's copy of ``home`` made by a job (``web.research_inline_pages`` 0), none kept yet (the
    copies other tests made in the home it was copied from are dropped)."""
    import shutil

    settings = home / "hsar.toml"
    text = settings.read_text("utf-8")
    assert "\nresearch_inline_pages = 40\n" in text  # the default, written by hsar init
    settings.write_text(text.replace("\nresearch_inline_pages = 40\n", "\nresearch_inline_pages = 0\n"), "utf-8")
    with Repository.open(home) as repo:
        shutil.rmtree(repo.paths.research_cache, ignore_errors=True)


@pytest.fixture
def login(app: Flask) -> Callable[[str], FlaskClient]:
    return lambda username: signed_in(app, username)


@pytest.fixture(scope="session")
def demo_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real demo household SIP (in 320115, 江宁区), zipped as a browser or a client would upload it."""
    import shutil

    from repository.demo.generate import write_demo_data

    root = tmp_path_factory.mktemp("ingest-demo") / "sips"
    write_demo_data(root, households=1, units=0, seed=11, defects=False)
    sip = root / json.loads((root / "demo_manifest.json").read_text("utf-8"))["sips"][0]["path"]
    if sip.is_file():
        return sip
    return Path(shutil.make_archive(str(root.parent / sip.name), "zip", root_dir=sip.parent, base_dir=sip.name))
