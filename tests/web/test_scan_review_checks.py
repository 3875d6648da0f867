"""The review of scans' researchers' copies without OCR (repository/web/gateway/scans.py, views/scans.py): a proposal
recorded directly for a scan of a demo household archive (no tesseract run), then what the decision form refuses
(boxes that are not boxes, however odd), two archivists deciding from pages shown at the same time, and the jobs
the review queues (their dedupe keys fit the jobs table's 128 characters; a proposal superseded again and again is
proposed again each time)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from repository.access import Principal, Role
from repository.accounts import scanreviews
from repository.accounts.securitylog import SYSTEM
from repository.config import load as load_config
from repository.dip.people import people
from repository.dip.research import copy_kind
from repository.dip.scans import ScanState
from repository.home import Repository
from repository.jobs import JobQueue
from repository.state.db import open_state
from repository.state.tables import jobs as jobs_table
from repository.web import create_app
from repository.web.gateway import scans

SIZE = (400, 300)


def _scan(home: Path) -> tuple[str, str, str, str]:
    """(archive id, path, division, names key) of a scan of an archive in xuanwu's scope (320102)."""
    with Repository.open(home) as repo:
        for archive_id in sorted(repo.catalog.archive_ids()):
            view = repo.catalog.show(archive_id)
            if not view.archive.division.startswith("320102"):
                continue
            for f in view.files:
                if copy_kind(f.path) == "text":
                    key = repo.research_copies.names_key(f.sha512, people(repo, view))
                    return archive_id, f.path, view.archive.division, key
    raise AssertionError("no scan in 320102")


@pytest.fixture
def reviewed(web_home: Path, tmp_path: Path) -> tuple[Path, int]:
    """A copy of the web home with one pending proposal (one page, one box) for a scan in 320102; its id."""
    home = tmp_path / "home"
    shutil.copytree(web_home, home)
    archive_id, path, division, key = _scan(home)
    with Repository.open(home) as repo, open_state(load_config(home).state_url) as state:
        sha512 = next(f.sha512 for f in repo.catalog.show(archive_id).files if f.path == path)
        review = scanreviews.record_proposal(state, archive_id, path, division, sha512, key,
                                             [{"page": 1, "size": list(SIZE), "boxes": [[10, 10, 50, 30]]}])
    return home, review.id


def _get(home: Path, review_id: int) -> scanreviews.Review:
    with open_state(load_config(home).state_url) as state:
        found = scanreviews.get(state, review_id)
    assert found is not None
    return found


def _form(client: FlaskClient, review_id: int) -> dict[str, str]:
    page = client.get(f"/scan-reviews/{review_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    fields = dict(re.findall(r'<input type="hidden" name="(csrf_token|seen)" value="([^"]*)"', html))
    assert "csrf_token" in fields
    return fields


def test_boxes_of_no_page_or_too_deep_are_refused_with_their_code(reviewed: tuple[Path, int], wh: Any) -> None:  # noqa: ANN401
    """A page named by digits Python reads but int() does not ("²"), a page in other digits ("１"), and a JSON too
    deeply nested to read are not boxes: 400 WEB-SCAN-BOXES, nothing recorded (no 500)."""
    home, review_id = reviewed
    client = wh.signed_in(create_app(home, {"TESTING": True, "SECRET_KEY": "test"}), "xuanwu")
    for boxes in (json.dumps({"²": [[0, 0, 10, 10]]}), json.dumps({"１": [[0, 0, 10, 10]]}), "[" * 5000):
        refused = client.post(f"/scan-reviews/{review_id}", data={**_form(client, review_id), "decision": "approve",
                                                                  "boxes": boxes})
        assert refused.status_code == 400 and "WEB-SCAN-BOXES" in refused.get_data(as_text=True), boxes[:10]
    assert _get(home, review_id).state == "pending"


def test_a_decision_made_meanwhile_by_another_is_not_overwritten(reviewed: tuple[Path, int], wh: Any) -> None:  # noqa: ANN401
    """Two archivists open the review page at once; the first approves with a box added over a missed number, the
    second (whose page showed no decision) then approves the proposal as it was: the second decision is refused
    (the page again, saying so), the first one's boxes stand, one line in the security log."""
    home, review_id = reviewed
    app = create_app(home, {"TESTING": True, "SECRET_KEY": "test"})
    first, second = wh.signed_in(app, "xuanwu"), wh.signed_in(app, "admin")
    first_form, second_form = _form(first, review_id), _form(second, review_id)
    assert first_form["seen"] == second_form["seen"] == "pending@"  # the decision each page shows: none yet
    added = {"1": [[10, 10, 50, 30], [100, 100, 200, 140]]}
    done = first.post(f"/scan-reviews/{review_id}", data={**first_form, "decision": "approve",
                                                          "boxes": json.dumps(added)})
    assert done.status_code == 303
    late = second.post(f"/scan-reviews/{review_id}", data={**second_form, "decision": "approve",
                                                           "boxes": json.dumps({"1": [[10, 10, 50, 30]]})})
    assert late.status_code == 303 and late.headers["Location"].endswith(f"/scan-reviews/{review_id}")
    assert "另一位档案管理人员已在此期间作出决定" in second.get(late.headers["Location"]).get_data(as_text=True)
    found = _get(home, review_id)
    assert (found.state, found.decided_by, found.approved_boxes) == (
        "approved", "xuanwu", {1: [(10, 10, 50, 30), (100, 100, 200, 140)]})
    again = second.post(f"/scan-reviews/{review_id}", data={**_form(second, review_id), "decision": "reject"})
    assert again.status_code == 303 and _get(home, review_id).state == "rejected"  # seen first, then decided
    missing = first.post(f"/scan-reviews/{review_id}", data={"csrf_token": first_form["csrf_token"],
                                                             "decision": "approve", "boxes": json.dumps(added)})
    assert missing.status_code == 303 and _get(home, review_id).state == "rejected"  # no decision shown: none made


def test_the_copy_job_an_approval_queues_has_a_key_that_fits(reviewed: tuple[Path, int]) -> None:
    """The scan-copy job an approval queues (a long scan) is named by a key of at most 128 characters (PostgreSQL
    refuses a longer one) whatever the archivist's name (64 characters at most)."""
    home, review_id = reviewed
    with open_state(load_config(home).state_url) as state:
        review = scanreviews.decide(state, review_id, True, {1: [(10, 10, 50, 30)]}, SYSTEM)
    assert review is not None
    settings = home / "hsar.toml"
    settings.write_text(settings.read_text("utf-8").replace("\nresearch_inline_scan_pages = 8\n",
                                                            "\nresearch_inline_scan_pages = 0\n"), "utf-8")
    archivist = Principal("a" * 64, Role.ARCHIVIST, "320102")
    with Repository.open(home) as repo:
        job_id = scans.queue_copy(repo, archivist, review)
    assert job_id is not None
    with JobQueue.open(home) as queue:
        job = queue.get(job_id)
        assert job is not None and job.username == "a" * 64
        assert job.dedupe_key is not None and len(job.dedupe_key) <= jobs_table.c.dedupe_key.type.length


def test_a_proposal_superseded_again_and_again_is_proposed_each_time(reviewed: tuple[Path, int]) -> None:
    """A researcher's view of a scan with no proposal under its key queues the proposal job; once that job is done
    and its proposal gone (superseded, disposed of), the next view queues one more: a third time as a second."""
    home, _review_id = reviewed
    archive_id, path, _division, key = _scan(home)
    found = ScanState(archive_id, path, key, None)
    reader = Principal("reader", Role.RESEARCHER, "320100")
    seen: list[str] = []
    with create_app(home, {"TESTING": True, "SECRET_KEY": "test"}).app_context(), Repository.open(home) as repo:
        for _turn in range(3):
            job_id = scans.queue_proposal(repo, reader, found)
            assert job_id is not None and job_id not in seen
            assert scans.queue_proposal(repo, reader, found) == job_id  # a reload: the same job
            seen.append(job_id)
            with JobQueue.open(home) as queue:
                assert queue.records.claim(job_id) and queue.records.finish(job_id, {"review": 0})
    with JobQueue.open(home) as queue:
        assert all(len(queue.get(j).dedupe_key or "") <= jobs_table.c.dedupe_key.type.length for j in seen)


def test_a_review_follows_its_archive_to_the_division_it_has_now(web_home: Path, tmp_path: Path, wh: Any) -> None:  # noqa: ANN401
    """A review keeps the division its archive had when it was proposed; the archive may have moved since. Who may
    list, open and decide it is asked of the catalogue as it is now: the archivists of the division it moved to
    (320102) see it, those of the one it left (320105) do not (404); the decision records the division it has now,
    on the row and in the security log."""
    from repository.accounts.securitylog import list_events

    home = tmp_path / "home"
    shutil.copytree(web_home, home)
    archive_id, path, division, key = _scan(home)
    with Repository.open(home) as repo, open_state(load_config(home).state_url) as state:
        sha512 = next(f.sha512 for f in repo.catalog.show(archive_id).files if f.path == path)
        review = scanreviews.record_proposal(state, archive_id, path, "320105", sha512, key,  # (where it was)
                                             [{"page": 1, "size": list(SIZE), "boxes": [[10, 10, 50, 30]]}])
    app = create_app(home, {"TESTING": True, "SECRET_KEY": "test"})
    now, before = wh.signed_in(app, "xuanwu"), wh.signed_in(app, "jianye")
    assert f"/scan-reviews/{review.id}" in now.get("/scan-reviews").get_data(as_text=True)
    assert f"/scan-reviews/{review.id}" not in before.get("/scan-reviews").get_data(as_text=True)
    assert before.get(f"/scan-reviews/{review.id}").status_code == 404
    form = _form(now, review.id)
    done = now.post(f"/scan-reviews/{review.id}", data={**form, "decision": "reject"})
    assert done.status_code == 303 and _get(home, review.id).division == division
    with open_state(load_config(home).state_url) as state:
        [line] = [e for e in list_events(state) if e.event == "scan-reject"]
    assert line.division == division


def test_an_approval_that_paints_nothing_must_be_confirmed(reviewed: tuple[Path, int], wh: Any) -> None:  # noqa: ANN401
    """Approving with every box removed would give researchers the scan as it is stored: not recorded unless the
    archivist ticks that it holds nothing personal (the page again, saying so); then it is."""
    home, review_id = reviewed
    app = create_app(home, {"TESTING": True, "SECRET_KEY": "test"})
    client = wh.signed_in(app, "xuanwu")
    form = _form(client, review_id)
    bare = client.post(f"/scan-reviews/{review_id}", data={**form, "decision": "approve", "boxes": '{"1": []}'})
    assert bare.status_code == 303 and bare.headers["Location"].endswith(f"/scan-reviews/{review_id}")
    assert "研究人员将看到扫描件原样" in client.get(bare.headers["Location"]).get_data(as_text=True)
    assert _get(home, review_id).state == "pending"
    said = client.post(f"/scan-reviews/{review_id}", data={**_form(client, review_id), "decision": "approve",
                                                            "boxes": "{}", "nothing_personal": "1"})
    assert said.status_code == 303 and (_get(home, review_id).state, _get(home, review_id).approved_boxes) == (
        "approved", {})
