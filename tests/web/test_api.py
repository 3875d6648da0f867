"""The JSON API /api/v1 for every route and role: bearer tokens (401 JSON without one), division scope (404,
never 403, by id, search, facet counts and download), masking for researchers, the access register, jobs,
and the OpenAPI document (every registered rule documented, and the other way round)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from repository.accounts.register import list_uses
from repository.accounts.tokens import create_token
from repository.accounts.users import add_user, get_user
from repository.config import load as load_config
from repository.state.db import open_state
from repository.web import create_app
from repository.web.api import spec

#: an 18-character resident identity number, unmasked
RESIDENT_ID = re.compile(r"(?<![\d*])\d{17}[\dXx](?![\d*])")
#: username -> (role, division, language) of the token users
#: (the page tests' accounts already exist, in Chinese; ``jianye.en`` is an English-speaking archivist)
TOKEN_USERS = {"admin": ("admin", "000000", "zh"), "xuanwu": ("archivist", "320102", "zh"),
               "jianye": ("archivist", "320105", "zh"), "jianye.en": ("archivist", "320105", "en"),
               "reader": ("researcher", "320100", "zh"), "auditor": ("auditor", "320100", "zh")}


@pytest.fixture(scope="session")
def tokens(web_home: Path) -> dict[str, str]:
    """A bearer token per user, made as ``hsar user token`` makes them."""
    made = {}
    with open_state(load_config(web_home).state_url) as state:
        for name, (role, division, lang) in TOKEN_USERS.items():
            if get_user(state, name) is None:
                add_user(state, name, role, division, lang=lang)
            made[name] = create_token(state, name, "api tests")[1]
    return made


def _first(archives: dict[str, Any], prefix: str, access: str | None = None) -> Any:  # noqa: ANN401
    return next(v for _i, v in sorted(archives.items()) if v.archive.division.startswith(prefix)
                and (access is None or v.archive.access.value == access))


@pytest.fixture
def api(app: Flask, tokens: dict[str, str]) -> Any:  # noqa: ANN401
    """``api(user).get(path)``: a test client sending ``user``'s bearer token."""
    return _callers(app, tokens)


@pytest.fixture
def own_api(tokens: dict[str, str], web_home: Path, tmp_path: Path, wh: Any) -> Any:  # noqa: ANN401
    """As :func:`api`, on a copy of the session's home made for the test (which queues jobs there)."""
    return _callers(create_app(wh.home_copy(web_home, tmp_path), {"TESTING": True, "SECRET_KEY": "test"}), tokens)


def _callers(app: Flask, tokens: dict[str, str]) -> Any:  # noqa: ANN401

    class Caller:
        def __init__(self, user: str) -> None:
            self.client: FlaskClient = app.test_client()
            self.headers = {"Authorization": f"Bearer {tokens[user]}", "X-HSAR-Purpose": "api-test"}

        def get(self, path: str, **kw: Any) -> Any:  # noqa: ANN401
            return self.client.get(path, headers=self.headers, **kw)

        def post(self, path: str, **kw: Any) -> Any:  # noqa: ANN401
            return self.client.post(path, headers=self.headers, **kw)

    return Caller


def _error(response: Any, status: int, code: str | None = None) -> dict[str, str]:  # noqa: ANN401
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    body = response.get_json()["error"]
    assert body["message"] and (code is None or body["code"] == code)
    return body


# ------------------------------------------------------------------------------------ authentication


@pytest.mark.parametrize("header", [None, "Bearer hsar_not-a-token", "Bearer ", "Basic YWRtaW46eA==", "hsar_x"])
def test_no_or_bad_token_is_401_json(app: Flask, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    for path in ("/api/v1/search", "/api/v1/audit/log", "/api/v1/register", "/api/v1/jobs/x", "/api/v1/archives/x"):
        response = app.test_client().get(path, headers=headers)
        _error(response, 401, "API-UNAUTHORIZED")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    _error(app.test_client().post("/api/v1/jobs", json={"kind": "reindex"}, headers=headers), 401)


def test_errors_are_json_in_the_token_users_language(api: Any, app: Flask) -> None:
    assert _error(api("jianye.en").get("/api/v1/archives/nope"), 404, "API-NOT-FOUND")["message"] == "Not found."
    assert _error(api("xuanwu").get("/api/v1/archives/nope"), 404)["message"] == "未找到。"
    assert _error(app.test_client().get("/api/v1/search", headers={"Accept-Language": "en"}), 401)[
        "message"].startswith("A valid access token")
    _error(api("admin").get("/api/v1/no-such-route"), 404, "API-NOT-FOUND")
    _error(api("admin").client.delete("/api/v1/search", headers=api("admin").headers), 405, "API-METHOD")
    _error(api("admin").get("/api/v1/search?page=0"), 400, "API-PARAM")
    _error(api("admin").get("/api/v1/search?per_page=abc"), 400, "API-PARAM")


def test_browser_session_works_for_gets_only(login: Any) -> None:
    client = login("admin")
    assert client.get("/api/v1/search").status_code == 200
    _error(client.post("/api/v1/jobs", json={"kind": "reindex"}), 401)  # a cookie alone never changes state


# ------------------------------------------------------------------------------------ search and archives


def test_search_answers_as_the_search_page(api: Any, archives: dict[str, Any]) -> None:
    body = api("admin").get("/api/v1/search").get_json()
    assert body["total"] == len(archives) and len(body["hits"]) == len(archives)
    assert {h["archive_id"] for h in body["hits"]} == set(archives)
    assert all(h["paper"] for h in body["hits"])  # paper references on every hit
    assert set(body["facets"]) == {"division", "type", "class", "year", "security", "status"}
    names = list(body["division_names"])  # in code order, the same in every process (not a set's order)
    assert len(names) > 2 and names == sorted(names)
    paged = api("admin").get("/api/v1/search?per_page=2&page=2&sort=id&facet=type").get_json()
    assert paged["per_page"] == 2 and paged["page"] == 2 and len(paged["hits"]) == min(2, len(archives) - 2)
    assert set(paged["facets"]) == {"type"}
    ids = sorted(archives)
    assert [h["archive_id"] for h in paged["hits"]] == ids[2:4]


@pytest.mark.parametrize("user, prefix", [("xuanwu", "320102"), ("jianye", "320105")])
def test_district_token_gets_404_and_no_counts_outside_its_district(api: Any, archives: dict[str, Any],
                                                                  user: str, prefix: str) -> None:
    caller = api(user)
    inside = {i for i, v in archives.items() if v.archive.division.startswith(prefix)}
    body = caller.get("/api/v1/search").get_json()
    assert {h["archive_id"] for h in body["hits"]} == inside and body["total"] == len(inside)
    assert all(v["value"].startswith(prefix[:4]) for v in body["facets"]["division"])
    assert all(len(v["value"]) < 6 or v["value"].startswith(prefix) or prefix.startswith(v["value"][:6])
               for v in body["facets"]["division"])
    outside = [v for i, v in archives.items() if i not in inside]
    assert outside
    for view in outside:
        _error(caller.get(f"/api/v1/archives/{view.identifier}"), 404, "API-NOT-FOUND")  # by id, never 403
        assert caller.get(f"/api/v1/search?q=archive:{view.identifier}").get_json()["total"] == 0
        found = caller.get(f"/api/v1/search?division={view.archive.division}").get_json()
        assert found["total"] == 0 and view.archive.division not in {v["value"] for v in found["facets"]["division"]}
        _error(caller.get(f"/api/v1/archives/{view.identifier}/files/{view.files[0].path}"), 404)  # by download


def test_researcher_never_receives_an_unmasked_resident_id(api: Any, archives: dict[str, Any]) -> None:
    admin_text = json.dumps([api("admin").get(f"/api/v1/archives/{i}").get_json() for i in archives],
                            ensure_ascii=False)
    assert RESIDENT_ID.search(admin_text)  # there are identity numbers to mask
    for user in ("reader", "auditor"):
        texts = [api(user).get(f"/api/v1/archives/{i}").get_data(as_text=True) for i in archives]
        texts.append(api(user).get("/api/v1/search?per_page=100").get_data(as_text=True))
        for name in ("", "name", "id"):  # by searching for people too
            texts.append(api(user).get(f"/api/v1/search?q={name}").get_data(as_text=True))
        for text in texts:
            assert not RESIDENT_ID.search(json.loads(json.dumps(text))), (user, text[:300])
    views = {api("reader").get(f"/api/v1/archives/{i}").get_json()["view"] for i in archives}
    assert views <= {"masked", "entry"} and api("admin").get(f"/api/v1/archives/{next(iter(archives))}").get_json()[
        "view"] == "full"


def test_download_is_registered_and_restricted_is_404_for_researchers(api: Any, archives: dict[str, Any],
                                                                     web_home: Path) -> None:
    view = _first(archives, "3201")
    path = view.files[0].path
    response = api("xuanwu" if view.archive.division.startswith("320102") else "admin").get(
        f"/api/v1/archives/{view.identifier}/files/{path}?purpose=checking")
    assert response.status_code == 200 and response.data
    assert response.headers["Content-Disposition"].startswith("attachment")
    with open_state(load_config(web_home).state_url) as state:
        uses = list_uses(state, archive_id=view.identifier, action="download")
    assert any(u.item == path and u.purpose == "checking" for u in uses)
    restricted = _first(archives, "3201", "restricted")
    for user in ("reader", "auditor"):
        _error(api(user).get(f"/api/v1/archives/{restricted.identifier}/files/{restricted.files[0].path}"), 404)
    _error(api("admin").get(f"/api/v1/archives/{view.identifier}/files/data/no-such-file.pdf"), 404)


def _linked_outside(archives: dict[str, Any], prefix: str) -> list[tuple[Any, set[str]]]:  # noqa: ANN401
    """(archive in ``prefix``, the archives linked with it, either way, that lie outside ``prefix``)."""
    pairs = [(v, {r.other for r in v.relations if not archives[r.other].archive.division.startswith(prefix)})
             for _i, v in sorted(archives.items()) if v.archive.division.startswith(prefix)]
    return [(v, others) for v, others in pairs if others]


def _district_token(web_home: Path, name: str, role: str, division: str) -> str:
    with open_state(load_config(web_home).state_url) as state:
        if get_user(state, name) is None:
            add_user(state, name, role, division)
        return create_token(state, name, "api tests")[1]


def test_a_linked_archive_outside_the_scope_is_not_named_in_the_api_nor_the_page(
        api: Any, app: Flask, login: Any, archives: dict[str, Any], web_home: Path) -> None:  # noqa: ANN401
    """A unit archive of 建邺区 linked to households of other districts (房户对接): its district archivist and a
    researcher of the district get the unit, but nothing of those households, anywhere in the JSON (neither
    their ids, titles nor the periods their own records give); the page says no more. A national user sees them."""
    pairs = _linked_outside(archives, "320105")
    assert pairs, "the demo data links 建邺区 units with households of other districts"
    researcher = _district_token(web_home, "jianye.reader", "researcher", "320105")
    callers = {"jianye": api("jianye").get, "jianye.reader": lambda path: app.test_client().get(
        path, headers={"Authorization": f"Bearer {researcher}", "X-HSAR-Purpose": "api-test"})}
    for unit, others in pairs:
        titles = {archives[o].archive.title for o in others}
        own = [(r.type, r.start.isoformat(), r.end and r.end.isoformat()) for r in unit.relations
               if r.direction == "out"]
        for user, get in callers.items():
            response = get(f"/api/v1/archives/{unit.identifier}")
            assert response.status_code == 200, (user, response.get_data(as_text=True)[:300])
            text = response.get_data(as_text=True)
            assert not [o for o in others | titles if o in text], (user, text)
            body = response.get_json()
            links = body["archive"]["relations"]
            assert all(r["other"] is None and r["other_title"] is None and not r["visible"] for r in links)
            assert [(r["direction"], r["type"], r["start"], r["end"]) for r in links] == [
                ("out", *o) for o in own]  # the unit's own links, unnamed; the households' links to it: none
            described = body["archive"]["description"].get("relations") or []
            assert all(r["target"] is None for r in described), user
        page = login("jianye").get(f"/archives/{unit.identifier}").get_data(as_text=True)
        assert not [o for o in others | titles if o in page]
        national = api("admin").get(f"/api/v1/archives/{unit.identifier}")
        assert all(o in national.get_data(as_text=True) for o in others)
        assert {r["other"] for r in national.get_json()["archive"]["relations"] if r["visible"]} == others


# ------------------------------------------------------------------------------------ logs, register, jobs


def test_audit_log_and_register_for_the_roles_that_read_them(api: Any, archives: dict[str, Any]) -> None:
    for user in ("admin", "auditor"):
        assert isinstance(api(user).get("/api/v1/audit/log?count=5").get_json()["entries"], list)
        assert isinstance(api(user).get("/api/v1/register").get_json()["entries"], list)
    _error(api("reader").get("/api/v1/audit/log"), 403, "API-FORBIDDEN")
    for user in ("reader", "xuanwu"):
        _error(api(user).get("/api/v1/register"), 403, "API-FORBIDDEN")
    view = _first(archives, "320102")
    api("xuanwu").get(f"/api/v1/archives/{view.identifier}/files/{view.files[0].path}")
    entries = api("admin").get("/api/v1/register?username=xuanwu&action=download").get_json()["entries"]
    assert entries and all(e["username"] == "xuanwu" for e in entries)


def test_jobs_for_permitted_roles(own_api: Any, archives: dict[str, Any]) -> None:
    api = own_api
    response = api("admin").post("/api/v1/jobs", json={"kind": "reindex"})
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert job["kind"] == "reindex" and job["state"] in ("queued", "running", "done")
    assert api("admin").get(f"/api/v1/jobs/{job['id']}").get_json()["id"] == job["id"]
    _error(api("xuanwu").get(f"/api/v1/jobs/{job['id']}"), 404)  # another's job does not exist for you
    _error(api("xuanwu").post("/api/v1/jobs", json={"kind": "reindex"}), 403, "API-FORBIDDEN")
    _error(api("reader").post("/api/v1/jobs", json={"kind": "audit"}), 403)
    _error(api("admin").post("/api/v1/jobs", json={"kind": "ingest", "params": {"paths": ["/etc"]}}), 400,
           "API-JOB-KIND")
    _error(api("admin").post("/api/v1/jobs", data="not json"), 400, "API-JOB-KIND")
    _error(api("xuanwu").post("/api/v1/jobs", json={"kind": "audit", "params": {"mode": "all"}}), 400,
           "API-JOB-SCOPE")
    other = _first(archives, "320105")
    _error(api("xuanwu").post("/api/v1/jobs", json={"kind": "audit", "params": {
        "mode": "archive", "archives": [other.identifier]}}), 400, "API-JOB-SCOPE")
    mine = _first(archives, "320102")
    response = api("xuanwu").post("/api/v1/jobs", json={"kind": "audit", "params": {
        "mode": "archive", "archives": [mine.identifier]}})
    assert response.status_code == 202, response.get_json()
    assert api("xuanwu").get(f"/api/v1/jobs/{response.get_json()['id']}").status_code == 200
    _error(api("admin").post("/api/v1/jobs", json={"kind": "audit", "params": {"mode": "nonsense"}}), 400)


# ------------------------------------------------------------------------------------ the OpenAPI document


def test_every_api_rule_is_documented_and_every_documented_path_is_a_rule(app: Flask) -> None:
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    rules = {(re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", r.rule), m.lower())
             for r in app.url_map.iter_rules() if r.rule.startswith(spec.PREFIX)
             for m in r.methods or () if m not in ("HEAD", "OPTIONS")}
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert rules == documented
    assert document["openapi"].startswith("3.0")
    types = {"string", "integer", "number", "boolean", "array", "object"}  # OpenAPI 3.0: one type, `nullable`

    def walk(value: Any, where: str) -> None:  # noqa: ANN401
        if isinstance(value, dict):
            if "type" in value and not isinstance(value["type"], dict):  # (a property named "type" is a schema)
                assert isinstance(value["type"], str) and value["type"] in types, (where, value["type"])
            for k, v in value.items():
                walk(v, f"{where}/{k}")
        elif isinstance(value, list):
            for n, v in enumerate(value):
                walk(v, f"{where}/{n}")

    walk(document["paths"], "/paths")  # (every schema is given inline; components hold the security scheme)
    walk(document.get("components", {}).get("schemas", {}), "/components/schemas")


def _operation(document: dict[str, Any], operation_id: str) -> dict[str, Any]:
    return next(op for ops in document["paths"].values() for op in ops.values() if op["operationId"] == operation_id)


def _json_schema(node: Any) -> Any:  # noqa: ANN401
    """An OpenAPI 3.0 schema as JSON Schema: ``nullable`` becomes a "null" type (jsonschema ignores the word)."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def test_every_viewer_the_code_gives_is_in_the_documents_enum_with_its_meaning(app: Flask) -> None:
    """``files[].viewer`` is an enum of every value :func:`viewer_of` gives, for users who receive the originals
    and for those who receive researchers' copies (``scan``, ``none``), each described, and nothing more."""
    from repository.web.gateway.archives import COPY_VIEWERS, VIEWERS, viewer_of

    document = app.test_client().get("/api/v1/openapi.json").get_json()
    archive = _operation(document, "archive")["responses"]["200"]["content"]["application/json"]["schema"]
    viewer = archive["properties"]["archive"]["properties"]["files"]["items"]["properties"]["viewer"]
    suffixes = {*VIEWERS, ".PDF", ".Tif", ".xml", ".docx", ".ofd", ".txt", ".zip", ".tar.gz", ""}
    paths = [f"data/file{s}" for s in suffixes] + ["data/.pdf", "data/pdf", "data/a.pdf/b", "data/x.jpg.xml"]
    given = {viewer_of(p, originals) for p in paths for originals in (True, False)}
    assert given == set(viewer["enum"]), (given, viewer["enum"])
    assert {"scan", "none"} <= given and set(COPY_VIEWERS.values()) <= given
    for value in viewer["enum"]:
        assert f"- `{value}`: " in viewer["description"], value
    assert "approved" in viewer["description"].split("- `scan`: ", 1)[1].split("\n- ", 1)[0]


def test_the_download_is_documented_to_give_a_researcher_an_approved_scans_copy(app: Flask) -> None:
    """A researcher downloads a scan's copy once an archivist has approved it (open review), 403 before."""
    download = _operation(app.test_client().get("/api/v1/openapi.json").get_json(), "download")
    text = download.get("description", "") + download.get("summary", "")
    assert "of a scan the PDF of its pages painted over as an archivist approved" in text
    assert "before approval, or when rejected, 403 API-NO-COPY" in text


def test_a_researchers_archive_json_validates_against_the_document(api: Any, app: Flask,  # noqa: ANN401
                                                                   archives: dict[str, Any]) -> None:
    """The archive JSON of every archive, as a researcher and as an administrator, validates against the
    document's own schema (viewer an enum): the researcher's files are shown as copies (pdf, scan, none)."""
    import jsonschema

    document = app.test_client().get("/api/v1/openapi.json").get_json()
    schema = _json_schema(_operation(document, "archive")["responses"]["200"]["content"]["application/json"]["schema"])
    seen: dict[str, set[str]] = {"reader": set(), "admin": set()}
    for user in seen:
        for archive_id in archives:
            response = api(user).get(f"/api/v1/archives/{archive_id}")
            if response.status_code != 200:
                continue  # out of the reader's scope
            body = response.get_json()
            jsonschema.validate(body, schema)
            seen[user] |= {f["viewer"] for f in body["archive"]["files"]}
    assert seen["reader"] and seen["reader"] <= {"pdf", "scan", "none"}, seen
    assert "scan" in seen["reader"], seen  # the demo's scans, shown to a researcher as OCR text only
    assert seen["admin"] and not seen["admin"] & {"scan", "none"}, seen
