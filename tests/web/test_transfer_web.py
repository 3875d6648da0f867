"""The export action of the archive page: archivists and administrators of the archive's division submit an
export job; the job (run here as ``hsar worker`` runs it) offers the package and the transfer list."""

from __future__ import annotations

import csv
import io
import shutil
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from repository.jobs import JobQueue
from repository.jobs.tasks import execute
from repository.web import create_app


@pytest.fixture
def own_app(web_home: Path, tmp_path: Path) -> Flask:
    home = tmp_path / "home"
    shutil.copytree(web_home, home)
    return create_app(home, {"TESTING": True, "SECRET_KEY": "test"})


def _client(app: Flask, wh: Any, username: str) -> FlaskClient:  # noqa: ANN401
    return wh.signed_in(app, username)


def _in(archives: dict[str, Any], prefix: str) -> list[str]:
    return sorted(i for i, v in archives.items() if v.archive.division.startswith(prefix))


def test_export_button_job_and_downloads(own_app: Flask, wh: Any, archives: dict[str, Any]) -> None:  # noqa: ANN401
    home = Path(own_app.config["HSAR_HOME"])
    mine, other = _in(archives, "320105")[0], _in(archives, "320102")[0]
    client = _client(own_app, wh, "jianye")
    page = client.get(f"/archives/{mine}").get_data(as_text=True)
    assert f'action="/archives/{mine}/export"' in page
    token = wh.csrf_token(client, f"/archives/{mine}")
    assert client.post(f"/archives/{other}/export", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/archives/{mine}/export").status_code == 400  # no CSRF token
    response = client.post(f"/archives/{mine}/export", data={"csrf_token": token})
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    with JobQueue.open(home) as queue:
        job = queue.get(job_id)
        assert job is not None and job.kind == "export" and job.params["archives"] == [mine]
        execute(queue, job_id, threading.Event())
        job = queue.get(job_id)
    assert job is not None and job.state == "done", job.result
    html = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert f"/jobs/{job_id}/export/{mine}.zip" in html and "transfer-list.csv" in html
    zipped = client.get(f"/jobs/{job_id}/export/{mine}.zip")
    assert zipped.status_code == 200 and zipped.headers["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(zipped.get_data())).namelist()
    assert f"{mine}/manifest-sha512.txt" in names and all(n.startswith(f"{mine}/") for n in names)
    listed = client.get(f"/jobs/{job_id}/export/transfer-list.csv").get_data().decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(listed)))[1][1] == mine
    assert client.get(f"/jobs/{job_id}/export/hsar.toml").status_code == 404
    assert client.get(f"/jobs/{job_id}/export/..%2Fhsar.toml").status_code == 404
    from repository.accounts.register import list_uses
    from repository.config import load
    from repository.state.db import open_state

    with open_state(load(home).state_url) as state:
        uses = [(u.username, u.action, u.archive_id) for u in list_uses(state, archive_id=mine)]
    assert ("jianye", "export", mine) in uses and ("jianye", "download", mine) in uses
    other_user = _client(own_app, wh, "xuanwu")  # not the owner: the job and its files do not exist
    assert other_user.get(f"/jobs/{job_id}/export/{mine}.zip").status_code == 404


def test_researchers_and_auditors_have_no_export(own_app: Flask, wh: Any, archives: dict[str, Any]) -> None:  # noqa: ANN401
    target = _in(archives, "320105")[0]
    for user in ("reader", "auditor"):
        client = _client(own_app, wh, user)
        page = client.get(f"/archives/{target}")
        assert "/export" not in page.get_data(as_text=True)
        token = wh.csrf_token(client, "/search")
        assert client.post(f"/archives/{target}/export", data={"csrf_token": token}).status_code == 403
    with JobQueue.open(Path(own_app.config["HSAR_HOME"])) as queue:
        assert queue.list(kind="export") == []
