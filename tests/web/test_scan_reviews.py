"""Researchers' copies of scans, proposed by OCR and approved by an archivist (开放审核, repository/dip/scans.py).

One demo household archive, made open (so a researcher may open its documents), whose housing proof (无房证明) is a
300 dpi scan printing the head's name and resident ID. The researcher's first view queues the proposal job, which
is run once for the module (one tesseract run); the tests then look at the proposal's pixels, the review pages, the
decisions and what the researcher, the API and an access copy receive, reading pixels back where the scan prints
the resident ID."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import shutil
import threading
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageDraw, ImageStat
from pypdf import PdfReader

from repository.accounts import scanreviews
from repository.accounts.securitylog import list_events
from repository.accounts.tokens import create_token
from repository.accounts.users import add_user
from repository.config import load as load_config
from repository.demo.generate import write_demo_data
from repository.demo.textscan import cjk_font
from repository.descriptive import read_descriptive
from repository.home import Repository, init_home
from repository.jobs import JobQueue
from repository.jobs.tasks import execute
from repository.model import Access
from repository.sip.build import write_sip
from repository.state.db import open_state
from repository.web import create_app

if shutil.which("tesseract") is None:
    pytest.skip("tesseract is not installed (make system-deps)", allow_module_level=True)

PASSWORD = "correct horse battery staple"
USERS = {"admin": ("admin", "000000"), "lishui": ("archivist", "320117"), "xuanwu": ("archivist", "320102"),
         "reader": ("researcher", "320100")}
ADDED = (300, 2000, 700, 2150)  # a box the archivist adds on page 1, on blank paper below the text


@dataclass(frozen=True)
class ScanHome:
    home: Path
    archive_id: str
    path: str  # the housing proof's path in the archive
    rid: tuple[int, int, int, int]  # where the scan prints the resident ID (pixels)
    review_id: int
    jobs_after_views: int  # proposal jobs recorded after the researcher opened the scan twice


def _id_box(truth: str) -> tuple[int, int, int, int]:
    """Where :func:`repository.demo.textscan.text_scan` draws the resident ID of the housing proof's second line."""
    line = truth.splitlines()[2]
    head, rid = re.match(r"兹证明申请人(.+?)（身份证号(\d{17}[\dX])）", line).groups()
    draw = ImageDraw.Draw(Image.new("L", (10, 10)))
    left = 260 + draw.textlength(f"兹证明申请人{head}（身份证号", font=cjk_font(52))
    return int(left), 672, int(left + draw.textlength(rid, font=cjk_font(52))), 672 + 60


_SIGNED: dict[tuple[int, str], Any] = {}


def _client(app: Any, username: str) -> Any:  # noqa: ANN401
    """A client of ``app`` signed in as ``username`` (once per app and user: sign-ins are throttled)."""
    if (id(app), username) in _SIGNED:
        return _SIGNED[id(app), username]
    client = _SIGNED[id(app), username] = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    done = client.post("/login", data={"username": username, "password": PASSWORD, "purpose_kind": "work",
                                       "csrf_token": token})
    assert done.status_code == 302
    return client


@pytest.fixture(scope="module")
def scan_home(tmp_path_factory: pytest.TempPathFactory) -> ScanHome:
    root = tmp_path_factory.mktemp("scan-demo")
    write_demo_data(root / "sips", households=1, units=0, seed=5, defects=False)
    entry = json.loads((root / "sips" / "demo_manifest.json").read_text("utf-8"))["sips"][0]
    sip = root / "sips" / entry["path"]
    [(path, [truth])] = entry["ocr_truth"].items()
    archive = dataclasses.replace(read_descriptive(sip / "metadata" / "descriptive.xml"), access=Access.OPEN)
    payload = {p.relative_to(sip).as_posix(): p.read_bytes() for p in sorted((sip / "data").rglob("*")) if p.is_file()}
    opened = write_sip(archive, payload, root / "open", source_organization=archive.institution,
                       bagging_date=date(2025, 1, 2))
    home = root / "home"
    init_home(home)
    with Repository.open(home) as repo:
        from repository.ingest.pipeline import ingest

        assert [o.status for o in ingest(repo, [opened])] == ["ingested"]
    with open_state(load_config(home).state_url) as state:
        for name, (role, division) in USERS.items():
            add_user(state, name, role, division, password=PASSWORD)
    app = create_app(home, {"TESTING": True, "SECRET_KEY": "test"})
    reader = _client(app, "reader")
    viewer = f"/archives/{archive.identifier}/view/{path}"
    assert reader.get(viewer).status_code == 200 and reader.get(viewer).status_code == 200  # a reload: no 2nd job
    with JobQueue.open(home) as queue:
        jobs = queue.list(kind="scan-proposal")
        for job in jobs:
            execute(queue, job.id, threading.Event())
            assert queue.get(job.id).state == "done", queue.get(job.id).result
        review_id = queue.get(jobs[0].id).result["review"]
    return ScanHome(home, archive.identifier, path, _id_box(truth), review_id, len(jobs))


@pytest.fixture(scope="module")
def scan_app(scan_home: ScanHome) -> Any:  # noqa: ANN401
    return create_app(scan_home.home, {"TESTING": True, "SECRET_KEY": "test"})


def _black(image: Image.Image, box: tuple[int, int, int, int]) -> bool:
    """Whether the inside of ``box`` is (nearly) black."""
    left, top, right, bottom = box
    return ImageStat.Stat(image.convert("L").crop((left + 4, top + 4, right - 4, bottom - 4))).mean[0] < 40


def _review(scan_home: ScanHome) -> scanreviews.Review:
    with open_state(load_config(scan_home.home).state_url) as state:
        return scanreviews.get(state, scan_home.review_id)


def _decide(client: Any, scan_home: ScanHome, decision: str, boxes: dict[str, Any] | None = None) -> Any:  # noqa: ANN401
    page = client.get(f"/scan-reviews/{scan_home.review_id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    seen = re.search(r'name="seen" value="([^"]*)"', page).group(1)  # the decision the page showed
    data = {"csrf_token": token, "decision": decision, "seen": seen}
    if boxes is not None:
        data["boxes"] = json.dumps(boxes)
    return client.post(f"/scan-reviews/{scan_home.review_id}", data=data)


def test_the_first_view_queues_one_proposal_that_paints_the_resident_id(scan_home: ScanHome) -> None:
    assert scan_home.jobs_after_views == 1
    review = _review(scan_home)
    assert (review.state, review.archive_id, review.path, review.pages) == ("pending", scan_home.archive_id,
                                                                            scan_home.path, 1)
    with Repository.open(scan_home.home) as repo:
        from repository.dip.scans import proposal_pages, stored

        proposed = Image.open(proposal_pages(repo, review)[0])
        original = Image.open(stored(repo, review.archive_id, review.path))
        assert _black(proposed, scan_home.rid) and not _black(original, scan_home.rid)
        assert not _black(proposed, ADDED)  # blank paper is left alone
        # the cache emptied: the proposal's page is painted again from the boxes the state database keeps
        for kept in repo.paths.research_cache.iterdir():
            kept.unlink()
        assert _black(Image.open(proposal_pages(repo, review)[0]), scan_home.rid)


def test_a_researcher_gets_no_image_before_approval(scan_app: Any, scan_home: ScanHome) -> None:  # noqa: ANN401
    reader = _client(scan_app, "reader")
    base = f"/archives/{scan_home.archive_id}"
    html = reader.get(f"{base}/view/{scan_home.path}").get_data(as_text=True)
    assert "尚待档案管理人员审核" in html and "page-image" not in html
    assert reader.get(f"{base}/files/{scan_home.path}").status_code == 403
    assert reader.get(f"{base}/page-image/1/{scan_home.path}").status_code == 404
    with open_state(load_config(scan_home.home).state_url) as state:
        token = create_token(state, "reader", "before")[1]
    answer = scan_app.test_client().get(f"/api/v1{base}/files/{scan_home.path}", query_string={"purpose": "study"},
                                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "API-NO-COPY"


def test_the_review_pages_are_for_archivists_in_scope_only(scan_app: Any, scan_home: ScanHome) -> None:  # noqa: ANN401
    review = f"/scan-reviews/{scan_home.review_id}"
    for name in ("reader", "xuanwu"):
        client = _client(scan_app, name)
        assert client.get(review).status_code == 404
        assert client.get(f"{review}/page/1").status_code == 404
        listed = client.get("/scan-reviews")
        assert listed.status_code == 404 or scan_home.path.rsplit("/", 1)[-1] not in listed.get_data(as_text=True)
    assert _client(scan_app, "reader").get("/scan-reviews").status_code == 404
    for name in ("lishui", "admin"):
        client = _client(scan_app, name)
        assert scan_home.path.rsplit("/", 1)[-1] in client.get("/scan-reviews").get_data(as_text=True)
        page = client.get(review)
        assert page.status_code == 200 and 'id="scan-boxes"' in page.get_data(as_text=True)
        assert "scanreview.js" in page.get_data(as_text=True)
        assert client.get(f"{review}/page/1").mimetype == "image/png"
        original = Image.open(io.BytesIO(client.get(f"{review}/page/1?original=1").get_data()))
        assert not _black(original, scan_home.rid)


def test_a_decision_needs_the_csrf_token_and_boxes_of_its_pages(scan_app: Any, scan_home: ScanHome) -> None:  # noqa: ANN401
    client = _client(scan_app, "lishui")
    refused = client.post(f"/scan-reviews/{scan_home.review_id}", data={"decision": "approve", "boxes": "{}"})
    assert refused.status_code == 400 and "WEB-CSRF" in refused.get_data(as_text=True)
    outside = _decide(client, scan_home, "approve", {"1": [[0, 0, 99999, 10]]})
    assert outside.status_code == 400 and "WEB-SCAN-BOXES" in outside.get_data(as_text=True)
    assert _decide(client, scan_home, "approve", {"2": [[0, 0, 10, 10]]}).status_code == 400  # no page 2
    assert _review(scan_home).state == "pending"


def test_a_rejected_scan_stays_text_only(scan_app: Any, scan_home: ScanHome) -> None:  # noqa: ANN401
    assert _decide(_client(scan_app, "lishui"), scan_home, "reject").status_code == 303
    assert _review(scan_home).state == "rejected"
    reader = _client(scan_app, "reader")
    base = f"/archives/{scan_home.archive_id}"
    html = reader.get(f"{base}/view/{scan_home.path}").get_data(as_text=True)
    assert "未通过开放审核" in html and "page-image" not in html
    assert reader.get(f"{base}/files/{scan_home.path}").status_code == 403


def test_an_approved_copy_reaches_the_researcher_painted(scan_app: Any, scan_home: ScanHome) -> None:  # noqa: ANN401
    review = _review(scan_home)
    boxes = {str(k): [list(b) for b in v] for k, v in review.proposed_boxes.items()}
    boxes["1"].append(list(ADDED))
    assert _decide(_client(scan_app, "lishui"), scan_home, "approve", boxes).status_code == 303
    decided = _review(scan_home)
    assert (decided.state, decided.decided_by) == ("approved", "lishui")
    with open_state(load_config(scan_home.home).state_url) as state:
        events = [e for e in list_events(state) if e.event.startswith("scan-")]
    assert [(e.event, e.username, e.detail["archive"], e.detail["path"]) for e in events[-2:]] == [
        ("scan-reject", "lishui", scan_home.archive_id, scan_home.path),
        ("scan-approve", "lishui", scan_home.archive_id, scan_home.path)]
    reader = _client(scan_app, "reader")
    base = f"/archives/{scan_home.archive_id}"
    html = reader.get(f"{base}/view/{scan_home.path}").get_data(as_text=True)
    assert "page-image/1/" in html and "审核通过" in html
    page = reader.get(f"{base}/page-image/1/{scan_home.path}")
    assert page.mimetype == "image/jpeg"
    image = Image.open(io.BytesIO(page.get_data()))
    assert _black(image, scan_home.rid) and _black(image, ADDED)
    download = reader.get(f"{base}/files/{scan_home.path}?download=1")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    _assert_painted_pdf(download.get_data(), scan_home)


def _assert_painted_pdf(data: bytes, scan_home: ScanHome) -> None:
    assert all(p.extract_text() == "" for p in PdfReader(io.BytesIO(data)).pages)  # page images only
    pdf = pdfium.PdfDocument(data)
    try:
        page = pdf[0]
        rendered = page.render(scale=2480 / page.get_width()).to_pil()
    finally:
        pdf.close()
    assert _black(rendered, scan_home.rid) and _black(rendered, ADDED)


def test_the_api_and_an_access_copy_give_the_approved_copy(scan_app: Any, scan_home: ScanHome) -> None:  # noqa: ANN401
    from repository.access import Principal, Role
    from repository.services.access_copy import CopyRequest, write_access_copy

    assert _review(scan_home).state == "approved"
    with open_state(load_config(scan_home.home).state_url) as state:
        token = create_token(state, "reader", "scans")[1]
    answer = scan_app.test_client().get(f"/api/v1/archives/{scan_home.archive_id}/files/{scan_home.path}",
                                        query_string={"purpose": "study"},
                                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    _assert_painted_pdf(answer.get_data(), scan_home)
    out = io.BytesIO()
    with Repository.open(scan_home.home) as repo:
        write_access_copy(repo, Principal("reader", Role.RESEARCHER, "320100"),
                          CopyRequest(scan_home.archive_id, "study"), out)
    with zipfile.ZipFile(out) as zf:
        readme = zf.read("README.txt").decode()
        [scan] = [n for n in zf.namelist() if f"<- {scan_home.path}" in readme.split(n, 1)[-1].split("\n", 1)[0]]
        _assert_painted_pdf(zf.read(scan), scan_home)
    assert "审核通过的范围遮盖" in readme


def test_a_long_approved_scan_is_painted_by_a_job_the_page_waits_for(scan_home: ScanHome, tmp_path: Path) -> None:
    """An approved scan longer than ``web.research_inline_scan_pages`` (here 0: every scan) is not painted in the
    request: the viewer, the file route and the API answer 202 naming one job (the reader's) until it has run; an
    archivist's approval queues the painting at once, so the copy is usually ready before a researcher asks."""
    assert _review(scan_home).state == "approved"
    home = tmp_path / "home"
    shutil.copytree(scan_home.home, home)
    settings = home / "hsar.toml"
    text = settings.read_text("utf-8")
    assert "\nresearch_inline_scan_pages = 8\n" in text  # the default, written by hsar init
    settings.write_text(text.replace("\nresearch_inline_scan_pages = 8\n", "\nresearch_inline_scan_pages = 0\n"))
    with Repository.open(home) as repo:  # the copies the other tests made are not kept here
        shutil.rmtree(repo.paths.research_cache, ignore_errors=True)
    app = create_app(home, {"TESTING": True, "SECRET_KEY": "test"})
    reader, base = _client(app, "reader"), f"/archives/{scan_home.archive_id}"
    waiting = reader.get(f"{base}/view/{scan_home.path}")
    html = waiting.get_data(as_text=True)
    assert waiting.status_code == 202 and 'id="job"' in html
    job_id = re.search(r'data-poll="/jobs/([0-9a-f-]{36})\.json"', html).group(1)
    assert reader.get(f"{base}/files/{scan_home.path}").status_code == 202  # the same job, not a second one
    assert reader.get(f"{base}/page-image/1/{scan_home.path}").status_code == 202
    with open_state(load_config(home).state_url) as state:
        token = create_token(state, "reader", "long-scan")[1]
    api = app.test_client().get(f"/api/v1{base}/files/{scan_home.path}", query_string={"purpose": "study"},
                                headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 202 and isinstance(api.get_json()["queued_ahead"], int)  # (a count of any jobs queued)
    assert api.get_json() | {"message": "", "queued_ahead": 0} == {
        "code": "API-COPY-PENDING", "job": job_id, "pages": 1, "message": "", "queued_ahead": 0}
    with JobQueue.open(home) as queue:
        assert [(j.id, j.username) for j in queue.list(kind="scan-copy")] == [(job_id, "reader")]
        execute(queue, job_id, threading.Event())
        assert queue.get(job_id).state == "done" and queue.get(job_id).result["pages"] == 1
    copy = reader.get(f"{base}/files/{scan_home.path}")
    assert copy.status_code == 200 and copy.mimetype == "application/pdf"
    _assert_painted_pdf(copy.get_data(), scan_home)
    assert reader.get(f"{base}/view/{scan_home.path}").status_code == 200

    boxes = {str(k): [list(b) for b in v] for k, v in _review(scan_home).approved_boxes.items()}
    boxes["1"] = boxes["1"][:-1]  # the archivist decides again, without the box added before: another copy
    with_home = dataclasses.replace(scan_home, home=home)
    assert _decide(_client(app, "lishui"), with_home, "approve", boxes).status_code == 303
    with JobQueue.open(home) as queue:
        queued = [j for j in queue.list(kind="scan-copy") if j.username == "lishui"]
        assert [(j.state, j.params["path"]) for j in queued] == [("queued", scan_home.path)]
        execute(queue, queued[0].id, threading.Event())
        assert queue.get(queued[0].id).state == "done"
    image = Image.open(io.BytesIO(reader.get(f"{base}/page-image/1/{scan_home.path}").get_data()))
    assert _black(image, scan_home.rid) and not _black(image, ADDED)  # the new decision's copy, made by that job


def test_a_new_way_of_painting_pdfs_keeps_the_approval(scan_home: ScanHome,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The PDF copies' VERSION names their cached files: a better painting makes every PDF copy again. An
    archivist's approval of a scan is about its bytes and names only, so it still stands."""
    from repository.dip.scans import scan_state
    from repository.formats import research_copies

    with Repository.open(scan_home.home) as repo, open_state(repo.cfg.state_url) as state:
        view = repo.catalog.show(scan_home.archive_id)
        assert scan_state(repo, state, view, scan_home.path).state == "approved"
        monkeypatch.setattr(research_copies, "VERSION", research_copies.VERSION + 1)
        assert scan_state(repo, state, view, scan_home.path).state == "approved"


def test_new_names_are_a_new_review(scan_home: ScanHome) -> None:
    """A linked household added changes the names the scan is masked with: the approval does not apply."""
    from repository.dip.people import people
    from repository.dip.scans import scan_state

    with Repository.open(scan_home.home) as repo, open_state(repo.cfg.state_url) as state:
        view = repo.catalog.show(scan_home.archive_id)
        assert scan_state(repo, state, view, scan_home.path).state == "approved"
        more = [*people(repo, view), {"head_name": "田素芳", "members": []}]
        found = scan_state(repo, state, view, scan_home.path, known=more)
    assert found.review is None and found.state == "none"

