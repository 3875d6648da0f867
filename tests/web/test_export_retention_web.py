"""An export job's downloads are offered while they are kept (``transfer.keep_exports_days``): once the worker
has removed the job's output, the job page no longer links them and a download is a 404."""

from __future__ import annotations

import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import update

from repository.config import load
from repository.jobs import JobQueue
from repository.jobs.exports import prune_exports
from repository.jobs.tasks import execute
from repository.state.tables import jobs as jobs_table
from repository.web import create_app


def test_removed_export_outputs_are_no_longer_offered(web_home: Path, tmp_path: Path, wh: Any,  # noqa: ANN401
                                                       archives: dict[str, Any]) -> None:  # noqa: ANN401
    home = tmp_path / "home"
    shutil.copytree(web_home, home)
    app: Flask = create_app(home, {"TESTING": True, "SECRET_KEY": "test"})
    client = app.test_client()
    response = client.post("/login", data={"username": "jianye", "password": wh.PASSWORD, "purpose_kind": "work",
                                           "csrf_token": wh.csrf_token(client)})
    assert response.status_code == 302
    mine = sorted(i for i, v in archives.items() if v.archive.division.startswith("320105"))[0]
    token = wh.csrf_token(client, f"/archives/{mine}")
    job_id = client.post(f"/archives/{mine}/export", data={"csrf_token": token}).headers["Location"].rsplit("/", 1)[1]
    with JobQueue.open(home) as queue:
        execute(queue, job_id, threading.Event())
        assert queue.get(job_id).state == "done"
        assert prune_exports(load(home), queue.records) == []  # ended just now: kept
        assert f"/jobs/{job_id}/export/{mine}.zip" in client.get(f"/jobs/{job_id}").get_data(as_text=True)
        long_ago = datetime.now(UTC) - timedelta(days=15)
        with queue.records.state.transaction(write=True) as conn:
            conn.execute(update(jobs_table).where(jobs_table.c.id == job_id).values(finished_at=long_ago))
        assert prune_exports(load(home), queue.records) == [job_id]
    assert not (home / "exports" / job_id).exists()
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert f"/jobs/{job_id}/export/" not in page
    assert client.get(f"/jobs/{job_id}/export/{mine}.zip").status_code == 404
