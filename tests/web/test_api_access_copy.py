"""Access copies (利用副本) through the JSON API with bearer tokens: asked for as the archive page's form asks
(the same checks, the same job, the same day the same job), made by the worker's own runner, and downloaded
from the job's ``downloads`` with the web download's checks and register line. A researcher's copy is masked;
an archive of another division is not found; a refused body queues nothing."""

from __future__ import annotations

import io
import re
import shutil
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from repository.accounts.register import list_uses
from repository.accounts.users import set_scope
from repository.config import load as load_config
from repository.jobs import JobQueue
from repository.jobs.tasks import access_copy_name, execute
from repository.state.db import open_state
from repository.web import create_app

from .test_api import RESIDENT_ID, _error, tokens  # noqa: F401 - the token users


@pytest.fixture
def own(web_home: Path, tokens: dict[str, str], tmp_path: Path) -> Any:  # noqa: ANN401, F811
    """``own(user)``: a client of a copy of the demo home (jobs write exports) sending ``user``'s bearer token."""
    home = tmp_path / "home"
    shutil.copytree(web_home, home)
    app = create_app(home, {"TESTING": True, "SECRET_KEY": "test"})

    class Caller:
        def __init__(self, user: str) -> None:
            self.app, self.home, self.client = app, home, app.test_client()
            self.headers = {"Authorization": f"Bearer {tokens[user]}"}

        def get(self, path: str, **kw: Any) -> Any:  # noqa: ANN401
            return self.client.get(path, headers=self.headers, **kw)

        def post(self, path: str, **kw: Any) -> Any:  # noqa: ANN401
            return self.client.post(path, headers=self.headers, **kw)

    return Caller


def _unit(archives: dict[str, Any]) -> Any:  # noqa: ANN401
    """An open housing-unit archive of 建邺区 (320105): the archivist jianye's, and in the researcher's 南京市."""
    return next(v for _i, v in sorted(archives.items()) if v.archive.division.startswith("320105")
                and v.archive.access.value == "open")


def _jobs(home: Path) -> set[str]:
    """Every job of the home (the copied demo home may hold jobs other tests queued in it)."""
    with JobQueue.open(home) as queue:
        return {j.id for j in queue.list(limit=10_000)}


def _run(home: Path, job_id: str) -> Any:  # noqa: ANN401 - a Job, run as `hsar worker` runs it
    with JobQueue.open(home) as queue:
        execute(queue, job_id, threading.Event())
        return queue.get(job_id)


def _uses(home: Path, archive_id: str) -> list[Any]:
    with open_state(load_config(home).state_url) as state:
        return list_uses(state, archive_id=archive_id)


def _ask(caller: Any, archive_id: str, **body: Any) -> dict[str, Any]:  # noqa: ANN401
    response = caller.post(f"/api/v1/archives/{archive_id}/access-copy", json={"purpose": "资格复核", **body})
    assert response.status_code == 202, response.get_data(as_text=True)
    job = response.get_json()
    assert response.headers["Location"] == f"/api/v1/jobs/{job['id']}"
    assert job["kind"] == "access-copy" and job["state"] == "queued" and job["params"]["archives"] == [archive_id]
    return job


def _zip(caller: Any, job_id: str) -> tuple[zipfile.ZipFile, bytes]:  # noqa: ANN401
    """The finished job's one download, fetched by the URL ``GET /api/v1/jobs/<id>`` gives."""
    body = caller.get(f"/api/v1/jobs/{job_id}").get_json()
    assert body["state"] == "done", body
    (download,) = body["downloads"]
    assert download["url"] == f"/api/v1/jobs/{job_id}/export/{download['name']}"
    got = caller.get(download["url"])
    assert got.status_code == 200 and got.mimetype == "application/zip", got.get_data(as_text=True)[:300]
    assert got.headers["Cache-Control"] == "private, no-store"
    return zipfile.ZipFile(io.BytesIO(got.data)), got.data


def _texts(copy: zipfile.ZipFile) -> dict[str, str]:
    """Every entry's text: the README and the description as written, a PDF's text layer as read."""
    found = {}
    for name in copy.namelist():
        data = copy.read(name)
        if name.endswith(".pdf"):
            found[name] = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
        elif name.endswith((".txt", ".json", ".xml")):
            found[name] = data.decode("utf-8")
    return found


@pytest.mark.parametrize("user", ["admin", "jianye"])
def test_an_administrator_or_the_archivist_gets_the_zip(own: Any, archives: dict[str, Any], user: str) -> None:  # noqa: ANN401
    caller, target = own(user), _unit(archives).identifier
    job = _ask(caller, target, format="jpeg", language="en")
    assert job["params"]["format"] == "jpeg" and job["params"]["lang"] == "en" and job["params"]["items"] is None
    assert caller.get(f"/api/v1/jobs/{job['id']}").get_json()["downloads"] == []  # not made yet
    assert _run(caller.home, job["id"]).state == "done"
    copy, data = _zip(caller, job["id"])
    assert data == (caller.home / "exports" / job["id"] / access_copy_name(target)).read_bytes()
    assert copy.testzip() is None and "资格复核" in copy.read("README.txt").decode("utf-8")
    assert any(RESIDENT_ID.search(text) for text in _texts(copy).values())  # not masked: the tenants' IDs
    uses = [(u.username, u.action, u.purpose, u.masked) for u in _uses(caller.home, target)]
    assert uses.count((user, "export", "资格复核", False)) == 1  # made once, for them
    assert uses.count((user, "download", "资格复核", False)) == 1  # received once, with the copy's purpose


def test_a_researchers_copy_is_masked_throughout(own: Any, archives: dict[str, Any]) -> None:  # noqa: ANN401
    caller, target = own("reader"), _unit(archives).identifier
    before = len(_uses(caller.home, target))  # (a copy of the session's home: tests run earlier may have used it)
    job = _ask(caller, target, mask=False)  # masked anyway
    assert _run(caller.home, job["id"]).state == "done"
    copy, data = _zip(caller, job["id"])
    texts = _texts(copy)
    assert "description.json" in texts and any(n.endswith(".pdf") for n in texts)
    assert not any(RESIDENT_ID.search(text) for text in texts.values()), texts
    assert not RESIDENT_ID.search(data.decode("latin-1"))  # nor anywhere in the bytes sent
    assert caller.get(f"/api/v1/jobs/{job['id']}").get_json()["result"]["masked"] is True
    assert [(u.action, u.masked) for u in _uses(caller.home, target)[before:] if u.username == "reader"] == [
        ("export", True), ("download", True)]


def test_an_archive_of_another_division_is_not_found_and_nothing_is_queued(own: Any, archives: dict[str, Any]) -> None:  # noqa: ANN401
    caller, target = own("xuanwu"), _unit(archives).identifier  # 玄武区's archivist, 建邺区's archive
    before = _jobs(caller.home)
    for body in ({"purpose": "资格复核"}, {"purpose": ""}, {"purpose": "资格复核", "items": [999_999]},
                 {"purpose": "资格复核", "mask": "yes"}, {"purpose": "资格复核", "items": "1,2"}, ["资格复核"]):
        _error(caller.post(f"/api/v1/archives/{target}/access-copy", json=body), 404, "API-NOT-FOUND")
    _error(caller.post(f"/api/v1/archives/{target}/access-copy", data="purpose=x"), 404, "API-NOT-FOUND")
    for body in ({"purpose": "x"}, {"purpose": "x", "password": "x"}):  # an archive that is not there: the same
        _error(caller.post("/api/v1/archives/no-such-archive/access-copy", json=body), 404, "API-NOT-FOUND")
    assert _jobs(caller.home) == before


@pytest.mark.parametrize("body, status, code", [
    ({}, 400, "API-DIP-PURPOSE"),
    ({"purpose": "   "}, 400, "API-DIP-PURPOSE"),
    ({"purpose": "x" * 501}, 400, "API-DIP-PURPOSE"),
    ({"purpose": "资格复核", "format": "gif"}, 400, "API-DIP-FORMAT"),
    ({"purpose": "资格复核", "items": [987_654]}, 400, "API-DIP-ITEMS"),  # no such item in the archive
    ({"purpose": "资格复核", "items": "1,2"}, 400, "API-DIP-ITEMS"),
    ({"purpose": "资格复核", "items": []}, 400, "API-DIP-ITEMS"),
    ({"purpose": "资格复核", "items": [1, True]}, 400, "API-DIP-ITEMS"),
    ({"purpose": "资格复核", "mask": "yes"}, 400, "API-DIP-BODY"),
    ({"purpose": "资格复核", "language": "fr"}, 400, "API-DIP-BODY"),
    ({"purpose": "资格复核", "password": "x"}, 400, "API-DIP-BODY"),
    (["资格复核"], 400, "API-DIP-BODY"),
    (None, 400, "API-DIP-BODY"),  # no JSON body at all
])
def test_a_bad_body_has_a_stable_code_and_queues_nothing(own: Any, archives: dict[str, Any], body: Any,  # noqa: ANN401
                                                         status: int, code: str) -> None:
    caller, target = own("jianye"), _unit(archives).identifier
    before = _jobs(caller.home)
    kw = {"data": "purpose=x"} if body is None else {"json": body}
    refused = _error(caller.post(f"/api/v1/archives/{target}/access-copy", **kw), status, code)
    if code == "API-DIP-PURPOSE":  # the access copy's own words, as the web form shows them
        assert refused["message"] == "请说明利用目的（不超过 500 字）"
    assert _jobs(caller.home) == before


def test_a_restricted_archive_is_refused_to_a_researcher_with_the_forms_code(own: Any, archives: dict[str, Any]) -> None:  # noqa: ANN401
    caller = own("reader")
    before = _jobs(caller.home)
    restricted = next(i for i, v in sorted(archives.items()) if v.archive.division.startswith("3201")
                      and v.archive.access.value == "restricted")
    _error(caller.post(f"/api/v1/archives/{restricted}/access-copy", json={"purpose": "研究"}), 403,
           "API-DIP-WITHHELD")
    assert _jobs(caller.home) == before


def test_the_same_request_the_same_day_is_the_same_job(own: Any, archives: dict[str, Any]) -> None:  # noqa: ANN401
    caller, target = own("jianye"), _unit(archives).identifier
    before = _jobs(caller.home)
    first = _ask(caller, target, items=[1])
    assert _ask(caller, target, items=[1])["id"] == first["id"]
    assert _ask(caller, target, items=[1], purpose="另一目的")["id"] != first["id"]  # another request
    assert len(_jobs(caller.home) - before) == 2


def test_the_download_follows_the_web_downloads_checks(own: Any, archives: dict[str, Any]) -> None:  # noqa: ANN401
    """Another user's job is not found; once the archive is no longer the user's, the copy is neither listed
    nor sent (the web's own check), and nothing more is registered."""
    caller, target = own("jianye"), _unit(archives).identifier
    job = _ask(caller, target)
    assert _run(caller.home, job["id"]).state == "done"
    url = f"/api/v1/jobs/{job['id']}/export/{access_copy_name(target)}"
    _error(own("xuanwu").get(url), 404, "API-NOT-FOUND")
    _error(own("xuanwu").get(f"/api/v1/jobs/{job['id']}"), 404, "API-NOT-FOUND")
    _error(caller.get(f"/api/v1/jobs/{job['id']}/export/other.zip"), 404, "API-NOT-FOUND")
    assert own("admin").get(url).status_code == 200  # an administrator: any job's
    with open_state(load_config(caller.home).state_url) as state:
        set_scope(state, "jianye", division="320102")  # moved to 玄武区
    _error(caller.get(url), 404, "API-NOT-FOUND")
    assert caller.get(f"/api/v1/jobs/{job['id']}").get_json()["downloads"] == []
    assert [u.username for u in _uses(caller.home, target) if u.action == "download"] == ["admin"]


def test_a_job_without_files_lists_no_downloads(own: Any) -> None:  # noqa: ANN401
    caller = own("admin")
    made = caller.post("/api/v1/jobs", json={"kind": "reindex"})
    assert made.status_code == 202
    assert "downloads" not in caller.get(f"/api/v1/jobs/{made.get_json()['id']}").get_json()
    assert re.fullmatch(r"[0-9a-f-]+", made.get_json()["id"])
