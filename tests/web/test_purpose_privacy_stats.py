"""The purpose of use (利用目的) in the access register, one register line per document view, resident-ID
searches by researchers, translated statistics with XLSX downloads, and the shared handles that keep the
web fast (one Repository and state engine per app, the statistics census, token ``last_used``)."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from repository.accounts.register import RegisterEntry, list_uses
from repository.accounts.tokens import create_token, list_tokens, verify_token
from repository.accounts.users import add_user, get_user
from repository.config import load as load_config
from repository.home import Repository
from repository.services import stats as stats_service
from repository.state import tables as st
from repository.state.db import open_state


def _uses(home: Path) -> list[RegisterEntry]:
    with open_state(load_config(home).state_url) as state:
        return list_uses(state)


def _first(archives: dict[str, Any], prefix: str, access: str | None = None) -> Any:  # noqa: ANN401
    return next(v for _i, v in sorted(archives.items()) if v.archive.division.startswith(prefix)
                and (access is None or v.archive.access.value == access))


def _bare(app: Flask, wh: Any, username: str, **form: str) -> FlaskClient:  # noqa: ANN401
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": wh.PASSWORD,
                                           "csrf_token": wh.csrf_token(client), **form})
    assert response.status_code == 302
    return client


@pytest.fixture(scope="module")
def token_of(web_home: Path) -> dict[str, str]:
    made = {}
    with open_state(load_config(web_home).state_url) as state:
        for name in ("admin", "reader", "auditor"):
            made[name] = create_token(state, name, "purpose tests")[1]
    return made


# ------------------------------------------------------------------------------------ purpose of use


def test_a_page_use_without_a_purpose_asks_for_one_first_and_registers_the_answer(app, wh, archives,
                                                                                   web_home) -> None:
    household = _first(archives, "320102")
    client = _bare(app, wh, "xuanwu")  # signed in without a purpose
    before = len(_uses(web_home))
    url = f"/archives/{household.identifier}"
    asked = client.get(url)
    assert asked.status_code == 302 and "/purpose?next=" in asked.headers["Location"]
    assert len(_uses(web_home)) == before  # nothing shown, nothing registered
    form = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert "工作查考" in form and "资格审核" in form and 'name="purpose_note"' in form
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    # "other" without its note is refused, and so is a form without a choice
    bad = client.post("/purpose", data={"csrf_token": token, "purpose_kind": "other", "next": url})
    assert bad.status_code == 400 and "请选择利用目的" in bad.get_data(as_text=True)
    assert client.post("/purpose", data={"csrf_token": token, "next": url}).status_code == 400
    assert client.post("/purpose", data={"purpose_kind": "work", "next": url}).status_code == 400  # no CSRF
    done = client.post("/purpose", data={"csrf_token": token, "purpose_kind": "review",
                                         "purpose_note": "2024年度复核", "next": url})
    assert done.status_code == 302 and done.headers["Location"] == url
    page = client.get(url).get_data(as_text=True)
    assert "本次利用目的：资格审核：2024年度复核" in page
    [entry] = _uses(web_home)[before:]
    assert (entry.action, entry.archive_id, entry.purpose) == ("view", household.identifier, "资格审核：2024年度复核")


def test_the_purpose_given_at_sign_in_goes_with_every_register_line(app, wh, archives, web_home) -> None:
    unit = _first(archives, "320105", "open")
    client = _bare(app, wh, "reader", purpose_kind="research", purpose_note="保障房课题")
    before = len(_uses(web_home))
    path = unit.files[0].path
    assert client.get(f"/archives/{unit.identifier}/files/{path}?download=1").status_code == 200
    [entry] = _uses(web_home)[before:]
    assert (entry.action, entry.purpose, entry.masked) == ("download", "学术研究：保障房课题", True)


def test_a_researcher_without_a_purpose_is_asked_before_a_document(app, wh, archives, web_home) -> None:
    unit = _first(archives, "320105", "open")
    client = _bare(app, wh, "reader")
    before = len(_uses(web_home))
    response = client.get(f"/archives/{unit.identifier}/files/{unit.files[0].path}?download=1")
    assert response.status_code == 302 and "/purpose" in response.headers["Location"]
    assert len(_uses(web_home)) == before
    # the masked archive page itself is no registered use: shown without asking
    assert client.get(f"/archives/{unit.identifier}").status_code == 200


def test_the_api_takes_the_purpose_as_parameter_or_header(app, token_of, archives, web_home) -> None:
    household = _first(archives, "320102")
    path = household.files[0].path
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {token_of['admin']}"}
    before = len(_uses(web_home))
    missing = client.get(f"/api/v1/archives/{household.identifier}", headers=bearer)
    assert missing.status_code == 400 and missing.get_json()["error"]["code"] == "API-PURPOSE"
    nofile = client.get(f"/api/v1/archives/{household.identifier}/files/{path}", headers=bearer)
    assert nofile.status_code == 400 and nofile.get_json()["error"]["code"] == "API-PURPOSE"
    assert len(_uses(web_home)) == before
    by_param = client.get(f"/api/v1/archives/{household.identifier}?purpose=核对档号", headers=bearer)
    by_header = client.get(f"/api/v1/archives/{household.identifier}/files/{path}",
                           headers={**bearer, "X-HSAR-Purpose": "%E6%B3%95%E5%BE%8B%E5%87%AD%E8%AF%81"})
    assert by_param.status_code == 200 and by_header.status_code == 200
    assert [(e.action, e.purpose) for e in _uses(web_home)[before:]] == [("view", "核对档号"),
                                                                         ("download", "法律凭证")]
    documented = json.dumps(client.get("/api/v1/openapi.json").get_json()["paths"])
    assert "X-HSAR-Purpose" in documented


# ------------------------------------------------------------------------------------ one line per view


def test_paging_a_tiff_adds_one_register_line_not_one_per_page(login, archives, web_home) -> None:
    household = _first(archives, "320102")
    client = login("xuanwu")
    tif = next(f.path for f in household.files if f.path.endswith(".tif"))
    base = f"/archives/{household.identifier}"
    before = len(_uses(web_home))
    for _ in range(2):
        assert client.get(f"{base}/view/{tif}?page=1").status_code == 200
        assert client.get(f"{base}/page-image/1/{tif}").status_code == 200
    added = _uses(web_home)[before:]
    assert [(e.action, e.item) for e in added] == [("view", tif)]
    # another session is another view; and a page image fetched on its own is registered too
    other = login("xuanwu")
    assert other.get(f"{base}/page-image/1/{tif}").status_code == 200
    assert [(e.action, e.item) for e in _uses(web_home)[before:]] == [("view", tif), ("view", tif)]
    # a download is a use of its own, each time
    assert client.get(f"{base}/files/{tif}").status_code == 200
    assert client.get(f"{base}/files/{tif}").status_code == 200
    assert [e.action for e in _uses(web_home)[before:]] == ["view", "view", "download", "download"]


# ------------------------------------------------------------------------------------ resident-ID search


def _rid(archives: dict[str, Any]) -> str:
    return _first(archives, "320102").archive.household.head.resident_id


def _api_search(app: Flask, token: str, **params: str) -> dict[str, Any]:
    response = app.test_client().get("/api/v1/search", query_string=params,
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


NOBODY = "110101190001010017"  # a well-formed resident ID that is in no archive


@pytest.mark.parametrize("form", ["q={}", "q=id:{}", "q=身份证号:{}", "id={}", "q=-id:{}", "q={} OR 住房"])
def test_a_researcher_cannot_search_by_resident_id(app, login, archives, token_of, form: str) -> None:
    rid = _rid(archives)
    key, _, template = form.partition("=")
    params = {key: template.format(rid)}
    ghost = {key: template.format(NOBODY)}
    admin = _api_search(app, token_of["admin"], **params)
    if not form.startswith("q=-"):
        assert admin["total"] >= 1  # the number is there, and found by who may see it
    for user in ("reader", "auditor"):
        found, none = _api_search(app, token_of[user], **params), _api_search(app, token_of[user], **ghost)
        assert found["total"] == 0 and found["hits"] == []
        assert found == none  # the same answer as for a number that is nowhere: nothing to tell them apart
    reader = login("reader")
    csrf = re.compile(r'name="csrf_token" value="[^"]+"')
    page = csrf.sub("", reader.get("/search", query_string=params).get_data(as_text=True))
    nowhere = csrf.sub("", reader.get("/search", query_string=ghost).get_data(as_text=True))
    assert page.replace(rid, "X") == nowhere.replace(NOBODY, "X")
    assert 'class="hit"' not in page


def test_a_researcher_still_finds_by_name_and_other_fields(app, archives, token_of) -> None:
    household = _first(archives, "320102")
    found = _api_search(app, token_of["reader"], q=household.archive.reference_code)
    assert found["total"] >= 1


# ------------------------------------------------------------------------------------ statistics


def test_statistics_labels_are_translated_and_divisions_named(login) -> None:
    client = login("admin")
    zh = client.get("/stats").get_data(as_text=True)
    assert "公共租赁住房" in zh or "租金补贴" in zh or "廉租住房" in zh
    assert "玄武区" in zh and "在保" in zh
    client.post("/lang", data={"lang": "en", "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', zh)
                               .group(1)})
    en = client.get("/stats").get_data(as_text=True)
    assert "provided" in en and re.search(r"public rental housing|rent subsidy|low-rent housing", en)
    data = json.loads(re.search(r'id="stats-data">(.*?)</script>', en, re.S).group(1))
    security = data["security"]["labels"]
    assert security and not any(re.search(r"[\u4e00-\u9fff]", label) for label in security)
    facets = client.get("/search").get_data(as_text=True)
    assert re.search(r"public rental housing|rent subsidy|low-rent housing", facets)
    client.post("/lang", data={"lang": "zh", "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', en)
                               .group(1)})


def test_every_statistics_table_downloads_as_xlsx_and_csv(login) -> None:
    client = login("xuanwu")
    page = client.get("/stats").get_data(as_text=True)
    for key in stats_service.TABLES:
        assert f"/stats/{key}.xlsx" in page
        response = client.get(f"/stats/{key}.xlsx")
        assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
        rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
        csv_rows = client.get(f"/stats/{key}.csv").get_data(as_text=True).lstrip("\ufeff").splitlines()
        assert len(rows) == len(csv_rows) and rows[0][0] == csv_rows[0].split(",")[0]
        assert all(isinstance(n, int) for row in rows[1:] for n in row[-1:])
    division = list(load_workbook(io.BytesIO(client.get("/stats/division.xlsx").data)).active.values)
    assert all(r[1].startswith("320102") for r in division[1:]) and division[1][:2] == ("玄武区", "320102")
    assert all(r[0] and not r[0].strip().isdigit() for r in division[1:])  # named, within the scope only
    book = load_workbook(io.BytesIO(client.get("/stats/all.xlsx").data))
    assert book.sheetnames == list(stats_service.TABLES)
    assert client.get("/stats/nope.xlsx").status_code == 404


def test_the_statistics_census_is_reused_until_the_catalogue_changes(web_home: Path, tmp_path: Path) -> None:
    import shutil

    home = tmp_path / "home"
    shutil.copytree(web_home, home)  # this test removes an archive: not from the shared home
    with Repository.open(home) as repo:
        first = stats_service.census(repo)
        assert stats_service.census(repo) is first  # same change mark: not counted again
        national = stats_service.statistics(repo, [""])
        total = sum(r.numbers[0] for r in national["type"].rows)
        assert total == len(repo.catalog.archive_ids())
        assert stats_service.statistics(repo, [])["type"].rows == ()  # an empty scope counts nothing
        assert repo.catalog.delete_archive(repo.catalog.archive_ids()[0])
        after = stats_service.census(repo)
        assert after is not first
        assert sum(r.numbers[0] for r in stats_service.statistics(repo, [""])["type"].rows) == total - 1


# ------------------------------------------------------------------------------------ shared handles


def test_one_repository_serves_every_request_of_an_app(app, login) -> None:
    client = login("admin")
    client.get("/search?q=住房")
    from repository.web import shared

    repo = shared.of(app).repository()
    client.get("/search?q=住房")
    client.get("/stats")
    assert shared.of(app).repository() is repo


def test_token_last_used_is_written_at_most_once_a_minute(web_home: Path) -> None:
    with open_state(load_config(web_home).state_url) as state:
        if get_user(state, "robot-lastused") is None:
            add_user(state, "robot-lastused", "admin", "000000")
        token, plaintext = create_token(state, "robot-lastused", "throttle")
        assert verify_token(state, plaintext) is not None
        first = next(t for t in list_tokens(state, "robot-lastused") if t.id == token.id).last_used
        assert first is not None
        assert verify_token(state, plaintext) is not None
        assert next(t for t in list_tokens(state, "robot-lastused") if t.id == token.id).last_used == first
        with state.transaction(write=True) as conn:  # a minute later, it is written again
            conn.execute(st.tokens.update().where(st.tokens.c.id == token.id)
                         .values(last_used=datetime.now(UTC) - timedelta(minutes=2)))
        assert verify_token(state, plaintext) is not None
        later = next(t for t in list_tokens(state, "robot-lastused") if t.id == token.id).last_used
        assert later is not None and later > first - timedelta(seconds=1)


def test_the_shared_repository_is_reopened_when_a_reindex_replaces_the_index(app, login, monkeypatch) -> None:
    from repository.search.opening import open_engine
    from repository.web import shared

    login("admin").get("/search?q=住房")
    handles = shared.of(app)
    repo = handles.repository()
    monkeypatch.setattr(shared, "CHECK_SECONDS", 0.0)
    assert handles.repository() is repo  # the same index folder: kept
    kind = str(repo.cfg["search.engine"])
    folder = repo.paths.index / kind
    moved = folder.with_name(kind + ".kept")
    folder.rename(moved)  # what a reindex does: a new folder at the same path
    try:
        open_engine(kind, repo.paths.index).close()
        assert handles.repository() is not repo
    finally:
        import shutil

        shutil.rmtree(folder)
        moved.rename(folder)


def test_may_ingest_into_is_ingest_rights_and_scope() -> None:
    from repository.access import Principal, Role, may_ingest_into

    assert may_ingest_into(Principal("a", Role.ARCHIVIST, "320102"), "320102008")
    assert not may_ingest_into(Principal("a", Role.ARCHIVIST, "320102"), "320115")
    assert may_ingest_into(Principal("root", Role.ADMIN, "000000"), "320115")
    assert not may_ingest_into(Principal("r", Role.RESEARCHER, "320100"), "320102")


def test_the_division_of_a_packaged_sip_is_read_without_unpacking(tmp_path: Path) -> None:
    import shutil
    import tarfile

    from repository.demo.generate import write_demo_data
    from repository.services.uploads import sip_division

    root = tmp_path / "sips"
    write_demo_data(root, households=1, units=0, seed=11, defects=False)
    entry = json.loads((root / "demo_manifest.json").read_text("utf-8"))["sips"][0]
    sip = root / entry["path"]
    expected = sip_division(sip)
    assert expected is not None and len(expected) in (6, 9)
    zipped = Path(shutil.make_archive(str(tmp_path / "z"), "zip", root_dir=sip.parent, base_dir=sip.name))
    tarred = tmp_path / "t.tar.gz"
    with tarfile.open(tarred, "w:gz") as tf:
        tf.add(sip, arcname=sip.name)
    assert sip_division(zipped) == sip_division(tarred) == expected
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 nothing")
    assert sip_division(junk) is None  # left to the ingest job's validation
