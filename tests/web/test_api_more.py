"""The JSON API's statistics, audits and ingest routes answer what the statistics page, the audit page and the
ingest page answer, for the same users: the same numbers as the page's CSV, the same division scope, the same
roles, an upload ingested once (the same bytes again: the same job) and refused, with nothing queued, outside
the uploader's division."""

from __future__ import annotations

import csv
import io
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from repository.accounts.tokens import create_token
from repository.codes import explanation
from repository.config import load as load_config
from repository.home import Repository, init_home
from repository.jobs import JobQueue
from repository.jobs.tasks import execute
from repository.services import audit as audit_service
from repository.services import stats as stats_service
from repository.state.db import open_state
from repository.web import create_app

from .test_api import _error, api, tokens  # noqa: F401 - the token users and their clients

Login = Callable[[str], FlaskClient]


def _in(archives: dict[str, Any], prefix: str) -> list[str]:
    return sorted(i for i, v in archives.items() if v.archive.division.startswith(prefix))


def _csv(client: FlaskClient, key: str) -> list[list[str]]:
    response = client.get(f"/stats/{key}.csv")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data(as_text=True)[1:])))


# ------------------------------------------------------------------------------------ statistics


@pytest.mark.parametrize("user", ["xuanwu", "reader", "auditor", "admin"])
def test_statistics_are_the_pages_csv_numbers_for_the_same_user(api: Any, login: Login, user: str) -> None:  # noqa: F811
    response = api(user).get("/api/v1/statistics")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["order"] == list(stats_service.TABLES) and set(body["tables"]) == set(stats_service.TABLES)
    page = login(user)
    for key in stats_service.TABLES:
        table, sheet = body["tables"][key], _csv(page, key)
        coded = key in ("division", "formats")
        expected = [(r[0], r[1] if coded else None, [int(n) for n in r[2 if coded else 1:]]) for r in sheet[1:]]
        shown = [(r["label"], r["value"] if coded else None, [r["numbers"][c] for c in table["columns"]])
                 for r in table["rows"]]
        assert shown == expected, key
        assert table["rows"] or key not in ("division", "type", "paper"), key  # the home has archives in every scope


def test_a_district_users_statistics_hold_its_subtree_only(api: Any, archives: dict[str, Any]) -> None:  # noqa: F811
    body = api("xuanwu").get("/api/v1/statistics").get_json()
    assert body["scope"] == {"division": "320102", "name": "玄武区"}
    divisions = body["tables"]["division"]["rows"]
    assert divisions and all(r["value"].startswith("320102") for r in divisions)
    assert (divisions[0]["value"], divisions[0]["name"], divisions[0]["depth"]) == ("320102", "玄武区", 0)
    assert divisions[0]["numbers"]["archives"] == len(_in(archives, "320102"))
    assert sum(r["numbers"]["archives"] for r in body["tables"]["type"]["rows"]) == len(_in(archives, "320102"))
    assert api("admin").get("/api/v1/statistics").get_json()["scope"] == {"division": "000000", "name": "全国"}
    city = api("reader").get("/api/v1/statistics").get_json()["tables"]["division"]["rows"]
    by_code = {r["value"]: r for r in city}
    assert by_code["320100"]["numbers"]["archives"] == len(_in(archives, "3201"))
    assert by_code["320105"]["name"] == "建邺区" and "320105" not in {r["value"] for r in divisions}


def test_statistics_need_a_token_and_answer_in_the_token_users_language(app: Flask, api: Any) -> None:  # noqa: F811
    _error(app.test_client().get("/api/v1/statistics"), 401, "API-UNAUTHORIZED")
    english = api("jianye.en").get("/api/v1/statistics").get_json()["tables"]
    chinese = api("jianye").get("/api/v1/statistics").get_json()["tables"]
    assert english["paper"]["title"] != chinese["paper"]["title"]
    assert [r["label"] for r in english["paper"]["rows"]] != [r["label"] for r in chinese["paper"]["rows"]]
    assert [r["numbers"] for r in english["paper"]["rows"]] == [r["numbers"] for r in chinese["paper"]["rows"]]


# ------------------------------------------------------------------------------------ audits


def test_audits_by_role(app: Flask, api: Any) -> None:  # noqa: F811
    for user in ("admin", "xuanwu", "auditor"):
        body = api(user).get("/api/v1/audits").get_json()
        assert body["log"]["ok"] is True and body["interval_days"] > 0
        # a count of the whole repository's log for the national scope only
        assert (body["log"]["entries"] >= 0) if user == "admin" else (body["log"]["entries"] is None)
    _error(api("reader").get("/api/v1/audits"), 403, "API-FORBIDDEN")
    _error(app.test_client().get("/api/v1/audits"), 401, "API-UNAUTHORIZED")


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[10] ^= 0x01
    path.write_bytes(bytes(data))


def test_audits_are_scoped_failures_are_failed_runs_and_codes_are_explained(
        web_home: Path, tmp_path: Path, tokens: dict[str, str], archives: dict[str, Any]) -> None:  # noqa: F811
    from repository.preservation.ids import object_id

    home = tmp_path / "home"
    shutil.copytree(web_home, home)  # the accounts and their tokens come along
    intact, broken = _in(archives, "320105")[:2]
    mine = _in(archives, "320102")[0]
    with Repository.open(home) as repo:
        root = repo.store.object_root(object_id(broken))
        _flip(next(p for p in sorted((root / "v1" / "content").rglob("*")) if p.is_file() and "/data/" in p.as_posix()))
        run = audit_service.audit(repo, audit_service.selection([], [intact, broken]))
    assert {a.archive_id: a.result for a in run.archives} == {intact: "intact", broken: "failed"}
    found = {f.code for a in run.archives if a.archive_id == broken for f in a.findings}
    client = create_app(home, {"TESTING": True, "SECRET_KEY": "test"}).test_client()

    def audits(user: str) -> dict[str, Any]:
        response = client.get("/api/v1/audits", headers={"Authorization": f"Bearer {tokens[user]}"})
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    body = audits("jianye")
    assert {r["archive_id"]: r["result"] for r in body["runs"]} == {intact: "intact", broken: "failed"}
    [failure] = body["failures"]  # an intact run is not a failure
    assert failure["archive_id"] == broken and body["repairs"] == []
    assert found and {i["code"] for i in failure["issues"]} == found
    for issue in failure["issues"]:
        assert issue["text"] == explanation(issue["code"], "zh") != issue["code"]
    english = client.get("/api/v1/audits", headers={"Authorization": f"Bearer {tokens['jianye.en']}"}).get_json()
    assert [i["text"] for i in english["failures"][0]["issues"]] == [
        explanation(i["code"], "en") for i in failure["issues"]]
    due = {d["archive_id"] for d in body["due"]}
    assert intact not in due and broken not in due and set(_in(archives, "320105")[2:]) <= due
    assert body["due_total"] == len(due)  # all listed: fewer than the page lists
    names = [Path(p).name for p in run.reports]
    assert names and set(names) <= set(body["reports"])
    other = audits("xuanwu")  # another district's runs, failures and reports do not exist for them
    assert other["runs"] == [] and other["failures"] == [] and not set(names) & set(other["reports"])
    assert mine in {d["archive_id"] for d in other["due"]} and not {intact, broken} & {d["archive_id"] for d in other["due"]}
    assert broken in {f["archive_id"] for f in audits("admin")["failures"]}
    assert audits("auditor")["failures"][0]["archive_id"] == broken  # 南京市: both districts


# ------------------------------------------------------------------------------------ ingest


@pytest.fixture
def fresh(tmp_path: Path, wh: Any) -> tuple[Flask, dict[str, str]]:  # noqa: ANN401
    """An empty home of its own (uploads and jobs leave the shared demo home alone), the test accounts with a
    token each, and a request limit far below the SIP's size (the ingest route has the upload limit)."""
    home = tmp_path / "home"
    init_home(home)
    wh.add_users(home)
    with open_state(load_config(home).state_url) as state:
        made = {name: create_token(state, name, "api ingest tests")[1] for name in wh.USERS}
    app = create_app(home, {"TESTING": True, "SECRET_KEY": "test", "MAX_CONTENT_LENGTH": 1000})
    return app, made


def _post(app: Flask, token: str, *paths: Path, field: str = "sips") -> Any:  # noqa: ANN401
    handles = [open(p, "rb") for p in paths]  # noqa: SIM115 - closed below
    try:
        return app.test_client().post("/api/v1/ingest", headers={"Authorization": f"Bearer {token}"},
                                      data={field: [(h, p.name) for h, p in zip(handles, paths, strict=True)]},
                                      content_type="multipart/form-data")
    finally:
        for h in handles:
            h.close()


def _queued(app: Flask) -> tuple[list[str], list[str]]:
    with JobQueue(load_config(app.config["HSAR_HOME"])) as queue:
        return [j.id for j in queue.list()], [t.id for t in queue.huey.pending()]


def _uploads(app: Flask) -> list[Path]:
    folder = Path(app.config["HSAR_HOME"]) / "jobs" / "uploads"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def test_an_uploaded_sip_is_one_job_followed_to_its_four_property_checks(fresh: Any, demo_zip: Path) -> None:  # noqa: ANN401
    app, made = fresh
    assert demo_zip.stat().st_size > app.config["MAX_CONTENT_LENGTH"]  # the upload limit applies, not this one
    first = _post(app, made["admin"], demo_zip)
    assert first.status_code == 202, first.get_data(as_text=True)
    [job] = first.get_json()
    assert job["kind"] == "ingest" and job["state"] == "queued" and job["username"] == "admin"
    assert first.headers["Location"] == f"/api/v1/jobs/{job['id']}"
    again = _post(app, made["admin"], demo_zip)
    assert again.status_code == 202 and [j["id"] for j in again.get_json()] == [job["id"]]
    assert _queued(app) == ([job["id"]], [job["id"]]) and len(_uploads(app)) == 1  # recorded and queued once
    with JobQueue(load_config(app.config["HSAR_HOME"])) as queue:
        execute(queue, job["id"], threading.Event())  # what `hsar worker` does with the message
    followed = app.test_client().get(f"/api/v1/jobs/{job['id']}", headers={"Authorization": f"Bearer {made['admin']}"})
    assert followed.status_code == 200
    done = followed.get_json()
    assert done["state"] == "done" and done["progress"] == {"done": 1, "total": 1}
    [row] = done["result"]["sips"]
    assert row["status"] == "ingested" and row["version"] == "v1" and isinstance(row["issues"], list)
    assert row["checks"]["standard"] == "DA/T 70-2018" and row["checks"]["result"] in ("pass", "warn")
    assert set(row["checks"]["groups"]) == {"authenticity", "integrity", "usability", "security"}
    # the same bytes once more, after the job ended: still that job, nothing new kept
    late = _post(app, made["admin"], demo_zip)
    assert [j["id"] for j in late.get_json()] == [job["id"]] and _uploads(app) == []
    # the job is the admin's: another user's token does not find it
    _error(app.test_client().get(f"/api/v1/jobs/{job['id']}", headers={"Authorization": f"Bearer {made['jianye']}"}),
           404, "API-NOT-FOUND")


def test_an_upload_outside_the_archivists_division_is_refused_with_nothing_queued(fresh: Any,  # noqa: ANN401
                                                                                  demo_zip: Path, tmp_path: Path) -> None:
    app, made = fresh
    other = tmp_path / "other.zip"
    other.write_bytes(b"PK\x03\x04 not really a zip")  # unreadable: left to the job, but refused with the rest
    body = _error(_post(app, made["xuanwu"], other, demo_zip), 403, "API-INGEST-SCOPE")
    assert "320115" in body["message"] and "320102" in body["message"] and demo_zip.name in body["message"]
    assert _queued(app) == ([], []) and _uploads(app) == []


@pytest.mark.parametrize("user", ["reader", "auditor"])
def test_researchers_and_auditors_may_not_ingest(fresh: Any, demo_zip: Path, user: str) -> None:  # noqa: ANN401
    app, made = fresh
    _error(_post(app, made[user], demo_zip), 403, "API-FORBIDDEN")
    assert _queued(app) == ([], []) and _uploads(app) == []


def test_an_ingest_without_a_file_or_a_token_or_over_the_limit_is_refused(fresh: Any, demo_zip: Path) -> None:  # noqa: ANN401
    app, made = fresh
    client, auth = app.test_client(), {"Authorization": f"Bearer {made['admin']}"}
    _error(client.post("/api/v1/ingest", headers=auth), 400, "API-INGEST-NO-FILE")
    _error(client.post("/api/v1/ingest", headers=auth, data={"sips": "not a file"}), 400, "API-INGEST-NO-FILE")
    _error(_post(app, made["admin"], demo_zip, field="files"), 400, "API-INGEST-NO-FILE")  # the field is sips
    _error(client.post("/api/v1/ingest", data={"sips": (io.BytesIO(b"x"), "a.zip")}), 401, "API-UNAUTHORIZED")
    app.config["HSAR_UPLOAD_LIMIT"] = 1000
    _error(_post(app, made["admin"], demo_zip), 413, "API-TOO-LARGE")
    assert _queued(app) == ([], []) and _uploads(app) == []


def test_two_sips_in_one_request_are_two_jobs(fresh: Any, demo_zip: Path, tmp_path: Path) -> None:  # noqa: ANN401
    app, made = fresh
    second = tmp_path / "second.zip"
    second.write_bytes(demo_zip.read_bytes() + b"\0")  # other bytes: another job
    response = _post(app, made["jianye"], demo_zip, second)  # 建邺区 may not: the household lies in 江宁区
    assert response.status_code == 403
    response = _post(app, made["admin"], demo_zip, second)
    assert response.status_code == 202 and "Location" not in response.headers
    ids = [j["id"] for j in response.get_json()]
    assert len(set(ids)) == 2 and sorted(_queued(app)[0]) == sorted(ids)


def test_any_bytes_under_any_file_name_are_a_job_never_a_server_error(fresh: Any) -> None:  # noqa: ANN401
    """As on the ingest page, a package is judged by its ingest job, not at upload: bytes that are no SIP are
    queued (the job rejects them), each under a safe name inside the home's uploads folder."""
    app, made = fresh
    client, auth = app.test_client(), {"Authorization": f"Bearer {made['admin']}"}
    names = ["../../outside.zip", "档案 包.tar", "x" * 400, "..", "a\\b\\c.zip", " . "]
    for n, name in enumerate(names):
        response = client.post("/api/v1/ingest", headers=auth, content_type="multipart/form-data",
                               data={"sips": (io.BytesIO(bytes([n]) * (n + 1) + b"\xff\xfe"), name)})
        assert response.status_code == 202, (name, response.get_data(as_text=True))
    uploads = (Path(app.config["HSAR_HOME"]) / "jobs" / "uploads").resolve()
    kept = _uploads(app)
    assert len(kept) == len(names) == len(_queued(app)[0])
    assert all(p.resolve().parent.parent == uploads and len(p.name) <= 200 for p in kept)
