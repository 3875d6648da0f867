"""Preparing an archive's scans for researchers (repository/services/scan_reviews.py, the archive page's section,
``/scan-reviews?archive=``, an access copy asking for reviews): the ``scan-proposal`` jobs are queued and looked at,
never run (tesseract is slow; tests/web/test_scan_reviews.py runs one)."""

from __future__ import annotations

import re
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from repository.access import Principal, Role
from repository.accounts import scanreviews
from repository.config import load
from repository.dip.people import people
from repository.dip.research import copy_kind
from repository.home import Repository
from repository.jobs import JobQueue
from repository.jobs.proposals import dedupe_key
from repository.jobs.tasks import access_copy_name, execute
from repository.services.scan_reviews import scans_of
from repository.state.db import open_state
from repository.web import create_app

PAGE = [{"page": 1, "size": [400, 300], "boxes": [[10, 10, 50, 30]]}]


@pytest.fixture
def own_app(web_home: Path, tmp_path: Path, wh: Any) -> Flask:  # noqa: ANN401
    """A copy of the web home, with no scan proposal asked for yet (no test leaves one in the session's home:
    tests/web/conftest.py checks it)."""
    home = wh.home_copy(web_home, tmp_path)
    assert not [w for w in wh.queued_work(home) if w[0] in ("scan-proposal", "scan review")]
    return create_app(home, {"TESTING": True, "SECRET_KEY": "test"})


def _home(app: Flask) -> Path:
    return Path(app.config["HSAR_HOME"])


def _archive(archives: dict[str, Any], division: str) -> str:  # noqa: ANN401
    """The first archive of ``division`` (320105: the open unit archives, two scans each; 320102: a restricted
    household archive, four scans)."""
    return sorted(i for i, v in archives.items() if v.archive.division.startswith(division))[0]


def _scans(archives: dict[str, Any], archive_id: str) -> list[str]:  # noqa: ANN401
    return sorted(f.path for f in archives[archive_id].files if copy_kind(f.path) == "text")


def _jobs(app: Flask) -> list[Any]:  # noqa: ANN401
    with JobQueue.open(_home(app)) as queue:
        return queue.list(kind="scan-proposal", limit=500)


def _record(app: Flask, archive_id: str, path: str, *, key: str | None = None) -> scanreviews.Review:
    """A proposal recorded for ``path`` (under its names key as it is now, unless ``key``), as the job records one."""
    with Repository.open(_home(app)) as repo, open_state(load(_home(app)).state_url) as state:
        view = repo.catalog.show(archive_id)
        found = next(f for f in view.files if f.path == path)
        key = key or repo.research_copies.names_key(found.sha512, people(repo, view))
        return scanreviews.record_proposal(state, archive_id, path, view.archive.division, found.sha512, key, PAGE)


def _principal(wh: Any, name: str) -> Principal:  # noqa: ANN401
    role, division = wh.USERS[name]
    return Principal(name, Role(role), division)


def _section(html: str) -> str | None:
    match = re.search(r'<section id="scan-proposals".*?</section>', html, re.S)
    return match.group(0) if match else None


def _counts(section: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'class="scan-count-(\w+)">(\d+)<', section)}


def _propose(client: FlaskClient, wh: Any, archive_id: str, *, token: bool = True) -> Any:  # noqa: ANN401
    data = {"csrf_token": wh.csrf_token(client, "/search")} if token else {}
    return client.post(f"/archives/{archive_id}/scan-proposals", data=data)


def test_the_section_is_shown_to_reviewers_in_scope_only(own_app: Flask, wh: Any, archives: dict[str, Any]) -> None:  # noqa: ANN401
    unit, household = _archive(archives, "320105"), _archive(archives, "320102")
    _record(own_app, unit, _scans(archives, unit)[0])  # pending under the names key as it is now
    _record(own_app, unit, _scans(archives, unit)[1], key="0" * 64)  # under other names: no current proposal
    for name in ("jianye", "admin"):
        section = _section(wh.signed_in(own_app, name).get(f"/archives/{unit}").get_data(as_text=True))
        assert section is not None and "扫描件利用件" in section, name
        assert _counts(section) == {"none": 1, "pending": 1, "approved": 0, "rejected": 0}
        assert f'action="/archives/{unit}/scan-proposals"' in section and 'name="csrf_token"' in section
        assert f'href="/scan-reviews?archive={unit}"' in section
    for name in ("reader", "auditor"):
        page = wh.signed_in(own_app, name).get(f"/archives/{unit}")
        assert page.status_code == 200 and _section(page.get_data(as_text=True)) is None, name
        assert "scan-proposals" not in page.get_data(as_text=True)
    xuanwu = wh.signed_in(own_app, "xuanwu")
    assert xuanwu.get(f"/archives/{unit}").status_code == 404
    section = _section(xuanwu.get(f"/archives/{household}").get_data(as_text=True))
    assert section is not None and _counts(section) == {"none": 4, "pending": 0, "approved": 0, "rejected": 0}
    with Repository.open(_home(own_app)) as repo:  # the same counts the service gives (one query of reviews)
        assert scans_of(repo, _principal(wh, "jianye"), unit).counts == {"none": 1, "pending": 1, "approved": 0,
                                                                        "rejected": 0}


def test_propose_all_queues_each_scan_without_a_proposal_once(own_app: Flask, wh: Any,  # noqa: ANN401
                                                             archives: dict[str, Any]) -> None:
    unit = _archive(archives, "320105")
    first, second = _scans(archives, unit)
    _record(own_app, unit, first)
    jianye = wh.signed_in(own_app, "jianye")
    done = _propose(jianye, wh, unit)
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/archives/{unit}#scan-proposals")
    jobs = _jobs(own_app)
    assert [(j.params["archives"], j.params["path"], j.username) for j in jobs] == [([unit], second, "jianye")]
    with Repository.open(_home(own_app)) as repo:
        [found] = [s for s in scans_of(repo, _principal(wh, "jianye"), unit).scans if s.path == second]
    assert jobs[0].dedupe_key == dedupe_key(found)  # the key a researcher's view queues under
    assert "已排入 1 个遮盖建议作业；0 个扫描件的作业此前已排入" in jianye.get(f"/archives/{unit}").get_data(as_text=True)
    again = _propose(jianye, wh, unit)
    assert again.status_code == 303 and len(_jobs(own_app)) == 1
    assert "已排入 0 个遮盖建议作业；1 个扫描件的作业此前已排入" in jianye.get(f"/archives/{unit}").get_data(as_text=True)
    reader = wh.signed_in(own_app, "reader")  # a researcher opening the scan: the same job, none more
    assert reader.get(f"/archives/{unit}/view/{second}").status_code == 200
    assert [j.id for j in _jobs(own_app)] == [jobs[0].id]


def test_propose_all_says_how_many_queued_jobs_are_ahead_of_its_jobs(own_app: Flask, wh: Any,  # noqa: ANN401
                                                                    archives: dict[str, Any]) -> None:
    """The page after "propose all" says how many queued jobs (any user's: a count, nothing more) wait ahead of the
    first of its jobs; once they have all started, it says nothing of it."""
    unit = _archive(archives, "320105")
    with JobQueue.open(_home(own_app)) as queue:
        other = queue.submit("reindex", {"batch": 7}, user="admin")
        ahead = len(queue.list(state="queued", limit=10_000))  # (this one, and any the copied home held)
    jianye = wh.signed_in(own_app, "jianye")
    assert _propose(jianye, wh, unit).status_code == 303
    page = jianye.get(f"/archives/{unit}").get_data(as_text=True)
    assert f"前面还有 {ahead} 个排队中的作业（比这些作业先排入、尚未开始）。" in page and other.id not in page
    for job in _jobs(own_app):
        with JobQueue.open(_home(own_app)) as queue:
            assert queue.records.claim(job.id)
    assert _propose(jianye, wh, unit).status_code == 303  # (asked again: the same jobs, running now)
    assert "个排队中的作业（比这些作业先排入" not in jianye.get(f"/archives/{unit}").get_data(as_text=True)


def test_propose_all_refuses_without_the_right_the_scope_or_the_token(own_app: Flask, wh: Any,  # noqa: ANN401
                                                                     archives: dict[str, Any]) -> None:
    unit = _archive(archives, "320105")
    for name in ("reader", "auditor"):
        refused = _propose(wh.signed_in(own_app, name), wh, unit)
        assert refused.status_code == 403 and "WEB-FORBIDDEN" in refused.get_data(as_text=True), name
    assert _propose(wh.signed_in(own_app, "xuanwu"), wh, unit).status_code == 404  # outside the scope
    assert _propose(wh.signed_in(own_app, "admin"), wh, "hh-000000-0000-0000").status_code == 404
    refused = _propose(wh.signed_in(own_app, "jianye"), wh, unit, token=False)
    assert refused.status_code == 400 and "WEB-CSRF" in refused.get_data(as_text=True)
    assert _jobs(own_app) == []


def test_the_review_list_filters_by_archive_within_the_scope(own_app: Flask, wh: Any,  # noqa: ANN401
                                                            archives: dict[str, Any]) -> None:
    unit, household = _archive(archives, "320105"), _archive(archives, "320102")
    _record(own_app, unit, _scans(archives, unit)[0])
    decided = _record(own_app, household, _scans(archives, household)[0])
    with open_state(load(_home(own_app)).state_url) as state:
        from repository.accounts.securitylog import SYSTEM

        scanreviews.decide(state, decided.id, True, {1: [(10, 10, 50, 30)]}, SYSTEM)
    _record(own_app, household, _scans(archives, household)[1])
    admin = wh.signed_in(own_app, "admin")

    def listed(client: FlaskClient, query: str) -> set[str]:
        page = client.get(f"/scan-reviews{query}")
        assert page.status_code == 200, query
        return set(re.findall(r'href="/archives/([^"]+)"><code>', page.get_data(as_text=True)))

    assert listed(admin, "") == {unit, household}
    assert listed(admin, f"?archive={unit}") == {unit}
    assert listed(admin, f"?archive={household}&state=approved") == {household}
    assert listed(admin, f"?archive={unit}&state=approved") == set()
    assert listed(wh.signed_in(own_app, "xuanwu"), f"?archive={unit}") == set()  # outside the scope: nothing
    assert listed(wh.signed_in(own_app, "jianye"), f"?archive={unit}") == {unit}
    assert admin.get("/scan-reviews?state=superseded").status_code == 400
    assert admin.get("/scan-reviews?archive=a%00b").status_code == 400
    assert wh.signed_in(own_app, "reader").get(f"/scan-reviews?archive={unit}").status_code == 404


def test_a_researchers_access_copy_asks_for_the_review_of_the_scans_it_leaves_out(  # noqa: ANN401
        own_app: Flask, wh: Any, archives: dict[str, Any]) -> None:
    unit = _archive(archives, "320105")
    first, second = _scans(archives, unit)
    _record(own_app, unit, first)  # pending: left out, its review asked for already
    reader = wh.signed_in(own_app, "reader")

    def copy() -> tuple[Any, str]:  # noqa: ANN401
        token = wh.csrf_token(reader, f"/archives/{unit}")
        asked = reader.post(f"/archives/{unit}/access-copy", data={"csrf_token": token, "purpose": "资格复核"})
        assert asked.status_code == 302, asked.get_data(as_text=True)
        job_id = asked.headers["Location"].rsplit("/", 1)[1]
        with JobQueue.open(_home(own_app)) as queue:
            execute(queue, job_id, threading.Event())
            job = queue.get(job_id)
        assert job.state == "done", job.result
        with zipfile.ZipFile(_home(own_app) / "exports" / job_id / access_copy_name(unit)) as made:
            return job, made.read("README.txt").decode("utf-8")

    job, readme = copy()
    assert job.result["masked"] is True and job.result["reviews_asked"] == [second]
    assert [(j.params["path"], j.username) for j in _jobs(own_app)] == [(second, "reader")]
    lines = {line.split("  (")[0].strip(): line for line in readme.splitlines() if line.startswith("  data/")}
    assert "已申请开放审核" in lines[second] and "已申请开放审核" not in lines[first]
    job, readme = copy()  # again: the same job stands for the scan, none more
    assert job.result["reviews_asked"] == [second] and len(_jobs(own_app)) == 1
