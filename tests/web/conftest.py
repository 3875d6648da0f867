"""Fixtures of the web tests: one home with every demo SIP ingested (once per session), accounts of every
role and scope in its state database (as ``hsar user add`` makes them), and a signed-in test client per user
(CSRF on, as in production)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
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
