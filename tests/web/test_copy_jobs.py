"""The job that makes a long PDF's researcher's copy (repository/web/gateway/archives.py ``_copy_job``): one per
reader and copy; a failed one stands for an hour (the page says no copy can be made, naming the job) instead of
being queued again on every reload; a done one whose copy is gone again is followed by a new one."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, update

from repository.accounts.tokens import create_token
from repository.config import load as load_config
from repository.home import Repository
from repository.jobs import JobQueue
from repository.state.db import open_state
from repository.state.tables import jobs as jobs_table


@pytest.fixture
def long_home(web_home: Path, tmp_path: Path) -> Path:
    """A copy of the web home where every PDF's copy is made by a job (``web.research_inline_pages`` 0), none kept."""
    home = tmp_path / "home"
    shutil.copytree(web_home, home)
    settings = home / "hsar.toml"
    text = settings.read_text("utf-8")
    settings.write_text(text.replace("\nresearch_inline_pages = 40\n", "\nresearch_inline_pages = 0\n"), "utf-8")
    with Repository.open(home) as repo:
        shutil.rmtree(repo.paths.research_cache, ignore_errors=True)
    return home


def _target(archives: dict[str, Any]) -> tuple[str, str]:
    view = next(v for _i, v in sorted(archives.items()) if v.archive.division.startswith("320105")
                and v.archive.access.value == "open")
    return view.identifier, next(f.path for f in view.files if f.path.endswith(".pdf") and "承租人信息" in f.path)


def _job_id(client: FlaskClient, url: str) -> str:
    waiting = client.get(url)
    assert waiting.status_code == 202, waiting.status_code
    found = re.search(r'data-poll="/jobs/([0-9a-f-]{36})\.json"', waiting.get_data(as_text=True))
    assert found
    return found.group(1)


def _finish(home: Path, job_id: str, failed: bool) -> None:
    """The job run and ended now (failed, or done: its copy is not kept in the test's cache)."""
    with JobQueue.open(home) as queue:
        assert queue.records.claim(job_id)
        if failed:
            assert queue.records.fail(job_id, "JOB-LOST", "the worker died")
        else:
            assert queue.records.finish(job_id, {"size": 1})


def _copy_jobs(home: Path) -> list[Any]:
    with JobQueue.open(home) as queue:
        return queue.list(kind="research-copy")


def test_a_failed_copy_job_stands_an_hour_then_is_tried_once_more(long_home, archives, wh) -> None:
    from repository.web import create_app

    app = create_app(long_home, {"TESTING": True, "SECRET_KEY": "test"})
    client = wh.signed_in(app, "reader")
    archive_id, path = _target(archives)
    url = f"/archives/{archive_id}/view/{path}"
    job_id = _job_id(client, url)
    _finish(long_home, job_id, failed=True)
    for _reload in range(2):  # every reload within the hour: the failure, naming the job; nothing queued
        refused = client.get(url)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 403 and "WEB-NO-COPY" in html and job_id in html and "失败" in html
        assert [(j.id, j.state) for j in _copy_jobs(long_home)] == [(job_id, "failed")]
    with open_state(load_config(long_home).state_url) as state:
        token = create_token(state, "reader", "copies")[1]
    api = app.test_client().get(f"/api/v1/archives/{archive_id}/files/{path}", query_string={"purpose": "study"},
                                headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    assert api.status_code == 403 and api.get_json()["error"]["code"] == "API-NO-COPY"
    assert job_id in api.get_json()["error"]["message"]
    assert [j.state for j in _copy_jobs(long_home)] == ["failed"]
    _finish_aged(long_home, job_id)  # an hour later: one new try
    assert _job_id(client, url) == job_id
    assert [(j.id, j.state) for j in _copy_jobs(long_home)] == [(job_id, "queued")]


def _finish_aged(home: Path, job_id: str) -> None:
    with JobQueue.open(home) as queue, queue.records.state.transaction(write=True) as conn:
        conn.execute(update(jobs_table).where(jobs_table.c.id == job_id)
                     .values(finished_at=datetime.now(UTC) - timedelta(seconds=3601)))


def test_a_copy_made_and_gone_twice_gets_a_new_job_each_time(long_home, archives, wh) -> None:
    from repository.web import create_app

    client = wh.signed_in(create_app(long_home, {"TESTING": True, "SECRET_KEY": "test"}), "reader")
    archive_id, path = _target(archives)
    url = f"/archives/{archive_id}/view/{path}"
    first = _job_id(client, url)
    assert _job_id(client, url) == first  # a reload: the same job
    _finish(long_home, first, failed=False)  # made, and the cache emptied since (nothing kept here)
    second = _job_id(client, url)
    _finish(long_home, second, failed=False)
    third = _job_id(client, url)
    assert len({first, second, third}) == 3
    jobs = {j.id: j for j in _copy_jobs(long_home)}
    assert jobs[third].state == "queued" and all(len(j.dedupe_key) <= 128 for j in jobs.values())


def test_the_pages_and_the_api_say_when_no_worker_runs(long_home, archives, wh) -> None:
    """A job queued for more than 30 s with no worker heartbeat in as long: the job page shows the notice, the
    JSON the copy-pending and job pages poll says ``no_worker``, so does the API's job; a fresh heartbeat (a
    worker running, busy or not) clears it."""
    from repository.web import create_app

    app = create_app(long_home, {"TESTING": True, "SECRET_KEY": "test"})
    client = wh.signed_in(app, "reader")
    archive_id, path = _target(archives)
    job_id = _job_id(client, f"/archives/{archive_id}/view/{path}")
    with open_state(load_config(long_home).state_url) as state:
        token = create_token(state, "reader", "jobs")[1]

    def seen() -> tuple[bool, bool, bool]:
        page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
        shown = re.search(r'<p[^>]*id="job-no-worker"[^>]*>', page)
        assert shown and "hsar worker" in page
        api = app.test_client().get(f"/api/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {token}"})
        return "hidden" not in shown.group(0), client.get(f"/jobs/{job_id}.json").get_json()["no_worker"], \
            api.get_json()["no_worker"]

    assert seen() == (False, False, False)  # just queued: not yet
    with JobQueue.open(long_home) as queue, queue.records.state.transaction(write=True) as conn:
        conn.execute(update(jobs_table).where(jobs_table.c.id == job_id)
                     .values(created_at=datetime.now(UTC) - timedelta(seconds=31)))
    assert seen() == (True, True, True)
    with JobQueue.open(long_home) as queue:
        queue.worker_beat()
    assert seen() == (False, False, False)
    with JobQueue.open(long_home) as queue:
        queue.worker_beat(datetime.now(UTC).timestamp() - 31)  # a worker that stopped beating half a minute ago
    assert seen() == (True, True, True)
    assert "没有正在运行的 hsar worker" in client.get(f"/jobs/{job_id}").get_data(as_text=True)
    client.post("/lang", data={"lang": "en", "csrf_token": wh.csrf_token(client, "/search")})
    assert "no `hsar worker` seems to be running" in client.get(f"/jobs/{job_id}").get_data(as_text=True)


def test_the_pages_and_the_api_say_how_many_queued_jobs_are_ahead(long_home, archives, wh) -> None:
    """Two jobs of another user queued before the reader's copy job, one of an earlier time that already runs, one
    done: the copy-pending page, the job page, the JSON they poll and the API's job (and its 202 answer) say two
    are ahead, and nothing else of them; one starts: one; the reader's starts: the line is gone (null)."""
    from repository.web import create_app

    with JobQueue.open(long_home) as queue:
        with queue.records.state.transaction(write=True) as conn:  # (the copied home's jobs, queued by other tests)
            conn.execute(delete(jobs_table))
        running, done, first, second = (queue.submit("reindex", {"batch": n}, user="admin") for n in (1, 2, 3, 4))
        assert queue.records.claim(running.id) and queue.records.claim(done.id)
        assert queue.records.finish(done.id, {})
    app = create_app(long_home, {"TESTING": True, "SECRET_KEY": "test"})
    client = wh.signed_in(app, "reader")
    archive_id, path = _target(archives)
    url = f"/archives/{archive_id}/view/{path}"
    with open_state(load_config(long_home).state_url) as state:
        token = create_token(state, "reader", "ahead")[1]
    headers = {"Authorization": f"Bearer {token}"}

    def shown(page: str) -> str | None:
        line = re.search(r'<p[^>]*id="job-ahead"([^>]*)>([^<]*)</p>', page)
        assert line is not None
        return None if "hidden" in line.group(1) else line.group(2)

    waiting = client.get(url)
    html = waiting.get_data(as_text=True)
    assert waiting.status_code == 202 and shown(html) == "前面还有 2 个排队中的作业（比它先排入、尚未开始）。"
    assert not any(j.id in html for j in (running, done, first, second)) and "reindex" not in html
    job_id = _job_id(client, url)
    polled = client.get(f"/jobs/{job_id}.json").get_json()
    assert polled["queued_ahead"] == 2 and polled["labels"]["ahead"] == shown(html)
    assert shown(client.get(f"/jobs/{job_id}").get_data(as_text=True)) == shown(html)
    api = app.test_client().get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
    assert api["queued_ahead"] == 2
    pending = app.test_client().get(f"/api/v1/archives/{archive_id}/files/{path}", headers=headers,
                                    query_string={"purpose": "study"})
    assert pending.status_code == 202 and pending.get_json()["queued_ahead"] == 2
    with JobQueue.open(long_home) as queue:
        assert queue.records.claim(first.id)
    assert client.get(f"/jobs/{job_id}.json").get_json()["queued_ahead"] == 1
    with JobQueue.open(long_home) as queue:
        assert queue.records.claim(second.id)
    assert shown(client.get(url).get_data(as_text=True)) == "前面没有排队中的作业：一有空闲的 hsar worker 即开始。"
    client.post("/lang", data={"lang": "en", "csrf_token": wh.csrf_token(client, "/search")})
    assert shown(client.get(f"/jobs/{job_id}").get_data(as_text=True)) == \
        "No queued job is ahead of this one: it starts as soon as an `hsar worker` is free."
    with JobQueue.open(long_home) as queue:
        assert queue.records.claim(job_id)
    assert shown(client.get(f"/jobs/{job_id}").get_data(as_text=True)) is None
    polled = client.get(f"/jobs/{job_id}.json").get_json()
    assert polled["queued_ahead"] is None and polled["labels"]["ahead"] == ""
    assert app.test_client().get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()["queued_ahead"] is None
