"""The caches behind a fast search API (docs/BENCHMARKS.md, "Web search, eighth session"): verified bearer
tokens (refused at once when revoked or their user disabled, by this process or another) and the Tantivy
engine's result cache (shared by the users of one application, never crossing their scope or masking)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from repository.accounts.tokens import create_token, list_tokens, revoke_token
from repository.accounts.users import add_user, disable_user, get_user
from repository.config import load as load_config
from repository.home import Repository
from repository.services.search import reindex
from repository.state.db import open_state
from repository.web import create_app, shared

RESIDENT_ID = re.compile(r"(?<![\d*])\d{17}[\dXx](?![\d*])")
USERS = {"c-admin": ("admin", "000000"), "c-xuanwu": ("archivist", "320102"), "c-reader": ("researcher", "000000"),
         "c-revoked": ("archivist", "320102"), "c-gone": ("researcher", "320100")}


@pytest.fixture(scope="module")
def tantivy_home(web_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the web tests' home on the Tantivy engine (whose results are cached)."""
    home = tmp_path_factory.mktemp("web-tantivy") / "home"
    shutil.copytree(web_home, home)
    toml = home / "hsar.toml"
    toml.write_text(re.sub(r'(?m)^engine = "whoosh"', 'engine = "tantivy"', toml.read_text("utf-8")), "utf-8")
    with Repository.open(home) as repo:
        reindex(repo)
    return home


@pytest.fixture
def tokens(tantivy_home: Path) -> dict[str, str]:
    made = {}
    with open_state(load_config(tantivy_home).state_url) as state:
        for name, (role, division) in USERS.items():
            if get_user(state, name) is None:
                add_user(state, name, role, division)
            made[name] = create_token(state, name, "cache tests")[1]
    return made


@pytest.fixture
def app(tantivy_home: Path) -> Flask:
    return create_app(tantivy_home, {"TESTING": True, "SECRET_KEY": "test"})


def _get(app: Flask, token: str, path: str) -> Any:  # noqa: ANN401
    return app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})


def test_a_revoked_token_is_refused_at_its_next_request(app: Flask, tokens: dict[str, str],
                                                        tantivy_home: Path) -> None:
    token = tokens["c-revoked"]
    for _ in range(3):  # verified, then remembered
        assert _get(app, token, "/api/v1/search").status_code == 200
    with open_state(load_config(tantivy_home).state_url) as state:  # another process's connection
        mine = [t for t in list_tokens(state, "c-revoked") if t.active]
        for t in mine:
            revoke_token(state, t.id)
    assert _get(app, token, "/api/v1/search").status_code == 401


def test_a_disabled_users_token_is_refused_at_once(app: Flask, tokens: dict[str, str], tantivy_home: Path) -> None:
    token = tokens["c-gone"]
    assert _get(app, token, "/api/v1/search").status_code == 200
    assert _get(app, token, "/api/v1/search").status_code == 200
    with open_state(load_config(tantivy_home).state_url) as state:
        disable_user(state, "c-gone")
    assert _get(app, token, "/api/v1/search").status_code == 401


def test_a_remembered_token_answers_for_its_own_user_only(app: Flask, tokens: dict[str, str]) -> None:
    for _ in range(2):
        admin = _get(app, tokens["c-admin"], "/api/v1/search").get_json()
        xuanwu = _get(app, tokens["c-xuanwu"], "/api/v1/search").get_json()
        assert xuanwu["total"] < admin["total"]
        assert all(h["division"].startswith("320102") for h in xuanwu["hits"])
    assert _get(app, "hsar_" + "x" * 43, "/api/v1/search").status_code == 401


def test_cached_results_keep_each_users_scope_and_masking(app: Flask, tokens: dict[str, str]) -> None:
    everything = _get(app, tokens["c-admin"], "/api/v1/search?per_page=100").get_json()
    household = next(h for h in everything["hits"] if h["archive_id"].startswith("hh-"))
    name = household["title"].split("户")[0]  # the head of the household, 韩海燕户住房保障档案 -> 韩海燕
    path = f"/api/v1/search?q={name}"
    admin = _get(app, tokens["c-admin"], path).get_json()
    assert name in str(admin["hits"])  # in full, for an administrator
    engine = shared.of(app).repository().search
    hits_before = engine.results.hits
    reader = _get(app, tokens["c-reader"], path)  # a researcher of the same (whole) scope
    assert engine.results.hits > hits_before  # the same query, answered from the cache
    assert reader.get_json()["total"] == admin["total"]
    assert name not in str(reader.get_json()["hits"]) and name[0] + "*" in str(reader.get_json()["hits"])
    assert not RESIDENT_ID.search(reader.get_data(as_text=True))
    assert _get(app, tokens["c-admin"], path).get_json() == admin  # unchanged by the researcher's masking
    xuanwu = _get(app, tokens["c-xuanwu"], "/api/v1/search?per_page=100").get_json()
    assert {h["archive_id"] for h in xuanwu["hits"]} < {h["archive_id"] for h in everything["hits"]}
    assert all(h["division"].startswith("320102") for h in xuanwu["hits"])
    assert "320105" not in {f["value"] for f in xuanwu["facets"]["division"]}
    assert _get(app, tokens["c-admin"], "/api/v1/search?per_page=100").get_json() == everything


@pytest.mark.parametrize("args", [{}, {"q": "王秀英 OR 李强", "sort": "-year"}, {"q": 'a&b=c+d/e*"f"', "division": "320102"},
                                  {"type": "household", "q": "租金", "year": "2019..2021"}])
@pytest.mark.parametrize("name", ["division", "type", "year"])
def test_the_pages_facet_links_are_the_urls_flask_would_build(app: Flask, args: dict[str, str], name: str) -> None:
    from flask import url_for

    from repository.web.views.search import facet_links, query_link

    with app.test_request_context("/search"):
        base = url_for("search.search")
        link = facet_links(base, args, name)
        for value in ("320102", "公共租赁住房", "a b&c", ""):
            expected = url_for("search.search", **{k: v for k, v in {**args, "page": 1, name: value}.items()
                                                   if v not in (None, "") and not (k == "page" and v == 1)})
            assert link(value) == expected == query_link(base, args, 1, {name: value, "page": 1})
        assert query_link(base, args, 3, {"page": 4}) == url_for("search.search", **{**args, "page": 4})


def test_a_disabled_users_session_ends_at_its_next_request(app: Flask, tantivy_home: Path, login: Any) -> None:
    from .conftest import PASSWORD

    with open_state(load_config(tantivy_home).state_url) as state:
        if get_user(state, "c-session") is None:
            add_user(state, "c-session", "researcher", "000000", password=PASSWORD)
    client = login("c-session")
    for _ in range(3):  # looked up, then remembered while the state database stands still
        assert client.get("/search").status_code == 200
    with open_state(load_config(tantivy_home).state_url) as state:  # another process's connection
        disable_user(state, "c-session")
    assert client.get("/search").status_code == 302  # to the login page
