"""Researchers never receive a document's stored bytes (repository/services/research.py): a PDF reaches them as
a researcher's copy (利用件, page images with personal data painted over), a scan as its masked OCR text only,
anything else not at all; by the page, the API and an access copy alike. Archivists still receive the originals.

The copies are checked by reading them back: their text layer (none), and their pixels where the stored PDF
prints each resident ID (painted over but for what the mask keeps, 320118********842X)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pypdfium2 as pdfium
from PIL import ImageStat
from pypdf import PdfReader

from repository import filerefs
from repository.accounts.register import list_uses
from repository.accounts.tokens import create_token
from repository.config import load as load_config
from repository.home import Repository
from repository.preservation.ids import object_id
from repository.state.db import open_state
from repository.web import create_app


def _unit(archives: dict[str, Any]) -> Any:  # noqa: ANN401 - an ArchiveView
    """An open housing-unit archive of 建邺区 (320105: in the researcher's 南京市 scope and the archivist jianye's;
    the demo's household archives are restricted, so researchers see them as catalogue entries only)."""
    return next(v for _i, v in sorted(archives.items()) if v.archive.division.startswith("320105")
                and v.archive.access.value == "open")


def _tenants(view: Any) -> str:  # noqa: ANN401
    """The tenant form (承租人信息): a PDF that prints the tenants' names, phone and resident IDs."""
    return next(f.path for f in view.files if f.path.endswith(".pdf") and "承租人信息" in f.path)


def _ids(pdf: bytes) -> list[str]:
    """The resident IDs printed in the PDF's text."""
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    return re.findall(r"(?<!\d)\d{17}[\dX](?!\d)", text)


def _stored(web_home: Path, view: Any, path: str) -> bytes:  # noqa: ANN401
    with Repository.open(web_home) as repo:
        return repo.store.content_path(object_id(view.identifier), path).read_bytes()


def _painted(stored: bytes, copy: bytes, rid: str) -> list[bool]:
    """For each character of ``rid`` where the stored PDF prints it (its box, read with PDFium), whether the
    copy shows it painted over (nearly black)."""
    original = pdfium.PdfDocument(stored)
    try:
        for k in range(len(original)):
            text = original[k].get_textpage()
            at = text.get_text_range().find(rid)
            if at >= 0:
                boxes, page, height = [text.get_charbox(i) for i in range(at, at + len(rid))], k, original[k].get_height()
                break
        else:
            raise AssertionError(f"{rid} is not printed in the stored PDF")
    finally:
        original.close()
    shown = pdfium.PdfDocument(copy)
    try:
        scale = shown[page].get_height() / height * 2
        image = shown[page].render(scale=2).to_pil().convert("L")
    finally:
        shown.close()
    found = []
    for left, bottom, right, top in boxes:
        crop = image.crop((int(left * scale) + 1, int((height - top) * scale) + 1,
                           int(right * scale) - 1, int((height - bottom) * scale) - 1))
        found.append(ImageStat.Stat(crop).mean[0] < 30)
    return found


def _uses(web_home: Path) -> list[Any]:
    with open_state(load_config(web_home).state_url) as state:
        return list_uses(state)


def test_a_researcher_opens_a_pdf_as_a_copy_with_the_resident_id_painted_over(login, archives, web_home) -> None:
    view = _unit(archives)
    path = _tenants(view)
    stored = _stored(web_home, view, path)
    ids = _ids(stored)
    assert len(ids) == 2
    before = len(_uses(web_home))
    response = login("reader").get(f"/archives/{view.identifier}/files/{path}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    copy = response.get_data()
    assert copy != stored and not any(rid.encode() in copy for rid in ids)
    reader = PdfReader(io.BytesIO(copy))
    assert len(reader.pages) == len(PdfReader(io.BytesIO(stored)).pages)
    assert all(p.extract_text() == "" for p in reader.pages)  # page images only: no text layer to read
    for rid in ids:  # the eight middle characters painted over where they stood; 320118 and 842X, as masked, kept
        assert _painted(stored, copy, rid) == [False] * 6 + [True] * 8 + [False] * 4
        assert _painted(stored, stored, rid) == [False] * 18  # (the check sees ink on white as unpainted)
    added = _uses(web_home)[before:]
    assert [(e.username, e.action, e.item, e.masked) for e in added] == [("reader", "view", path, True)]
    # a download is the same copy, named as one
    download = login("reader").get(f"/archives/{view.identifier}/files/{path}?download=1")
    assert download.get_data() == copy and "-利用件.pdf" in unquote(download.headers["Content-Disposition"])


def test_an_archivist_still_receives_the_stored_pdf(login, archives, web_home) -> None:
    view = _unit(archives)
    path = _tenants(view)
    response = login("jianye").get(f"/archives/{view.identifier}/files/{path}")
    assert response.status_code == 200 and response.get_data() == _stored(web_home, view, path)


def test_a_researcher_reads_a_scan_as_its_text_only(own_login, archives) -> None:
    """(On a copy of the session's home: the researcher's view queues the scan's proposal job.)"""
    view = _unit(archives)
    tif = next(f.path for f in view.files if f.path.endswith(".tif"))
    client = own_login("reader")
    base = f"/archives/{view.identifier}"
    refused = client.get(f"{base}/files/{tif}")
    assert refused.status_code == 403 and "WEB-NO-COPY" in refused.get_data(as_text=True)
    assert client.get(f"{base}/page-image/1/{tif}").status_code == 404
    viewer = client.get(f"{base}/view/{tif}?page=1")
    html = viewer.get_data(as_text=True)
    assert viewer.status_code == 200 and "page-image" not in html and f"{base}/files/" not in html
    assert "扫描图像不向研究人员提供原图" in html or "本页尚无识别文本" in html
    page = client.get(base).get_data(as_text=True)
    assert f"{base}/files/{tif}" not in page.replace("%", "") and "利用件" in page
    # the archivist still sees the page image
    assert own_login("jianye").get(f"{base}/page-image/1/{tif}").status_code == 200


def test_the_api_gives_a_researcher_the_copy_and_no_scan(archives, web_home, wh, tmp_path) -> None:
    """(On a copy of the session's home: the researcher's call for the scan queues its proposal job.)"""
    view = _unit(archives)
    path, tif = _tenants(view), next(f.path for f in view.files if f.path.endswith(".tif"))
    home = wh.home_copy(web_home, tmp_path)
    with open_state(load_config(home).state_url) as state:
        reader, admin = create_token(state, "reader", "copies")[1], create_token(state, "admin", "copies")[1]
    client = create_app(home, {"TESTING": True, "SECRET_KEY": "test"}).test_client()

    def get(token: str, doc: str) -> Any:  # noqa: ANN401
        return client.get(f"/api/v1/archives/{view.identifier}/files/{doc}", query_string={"purpose": "study"},
                          headers={"Authorization": f"Bearer {token}"})
    copy = get(reader, path)
    assert copy.status_code == 200 and copy.mimetype == "application/pdf"
    assert copy.get_data() != _stored(web_home, view, path)
    assert all(p.extract_text() == "" for p in PdfReader(io.BytesIO(copy.get_data())).pages)
    scan = get(reader, tif)
    assert scan.status_code == 403 and scan.get_json()["error"]["code"] == "API-NO-COPY"
    assert get(admin, path).get_data() == _stored(web_home, view, path)


def test_a_researchers_access_copy_holds_copies_and_names_what_it_leaves_out(login, archives, web_home) -> None:
    from repository.access import Principal, Role
    from repository.services.access_copy import CopyRequest, write_access_copy

    view = _unit(archives)
    out = io.BytesIO()
    with Repository.open(web_home) as repo:
        made = write_access_copy(repo, Principal("reader", Role.RESEARCHER, "320100"),
                                 CopyRequest(view.identifier, "study"), out)
    assert made.masked
    ids = _ids(_stored(web_home, view, _tenants(view)))
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        readme = zf.read("README.txt").decode()
        pdfs = [zf.read(n) for n in names if n.endswith(".pdf")]
    assert pdfs and not any(n.endswith((".tif", ".jpg")) for n in names)
    for data in pdfs:
        assert not any(rid.encode() in data for rid in ids)
        assert all(p.extract_text() == "" for p in PdfReader(io.BytesIO(data)).pages)
    scans = [f.path for f in view.files if f.path.endswith((".tif", ".jpg"))]
    assert scans and all(t in readme for t in scans) and len(pdfs) == len(view.files) - len(scans)


def test_a_long_pdfs_copy_is_made_by_a_job_the_page_waits_for(web_home, archives, wh, tmp_path) -> None:
    """A copy longer than ``web.research_inline_pages`` (here 0: every PDF) is not made in the request: the viewer,
    the file route and the API answer 202 naming one job (the reader's), nothing is sent or registered, and
    once the job has run the same requests give the copy."""
    import shutil
    import threading

    from repository.jobs import JobQueue
    from repository.jobs.tasks import execute

    home = tmp_path / "home"
    shutil.copytree(web_home, home)
    wh.copies_by_job(home)
    app = create_app(home, {"TESTING": True, "SECRET_KEY": "test"})
    client = wh.signed_in(app, "reader")
    view = _unit(archives)
    path = _tenants(view)
    base = f"/archives/{view.identifier}"
    before = len(_uses(home))
    waiting = client.get(f"{base}/view/{path}")
    html = waiting.get_data(as_text=True)
    assert waiting.status_code == 202 and "正在制作利用件" in html and 'id="job"' in html
    job_id = re.search(r'data-poll="/jobs/([0-9a-f-]{36})\.json"', html).group(1)
    assert client.get(f"{base}/files/{path}").status_code == 202  # the same job, not a second one
    with open_state(load_config(home).state_url) as state:
        token = create_token(state, "reader", "long")[1]
    api = app.test_client().get(f"/api/v1{base}/files/{path}", query_string={"purpose": "study"},
                                headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 202 and api.headers["Retry-After"] == "5"
    assert api.get_json()["code"] == "API-COPY-PENDING" and api.get_json()["job"] == job_id
    with JobQueue.open(home) as queue:
        jobs = queue.list(kind="research-copy")
        ref = filerefs.refs_of((i.number, i.files) for i in view.archive.items)[path]
        assert [(j.id, j.username, j.params["path"]) for j in jobs] == [(job_id, "reader", ref)]  # (not the path)
        assert client.get(f"/jobs/{job_id}.json").status_code == 200  # the page's poll: the reader's own job
        execute(queue, job_id, threading.Event())
        assert queue.get(job_id).state == "done"
    assert len(_uses(home)) == before  # nothing was sent: nothing registered
    copy = client.get(f"{base}/files/{path}")
    assert copy.status_code == 200 and copy.mimetype == "application/pdf"
    assert all(p.extract_text() == "" for p in PdfReader(io.BytesIO(copy.get_data())).pages)
    assert client.get(f"{base}/view/{path}").status_code == 200
    assert app.test_client().get(f"/api/v1{base}/files/{path}", query_string={"purpose": "study"},
                                 headers={"Authorization": f"Bearer {token}"}).get_data() == copy.get_data()
    # an archivist receives the original at once, whatever its length
    assert wh.signed_in(app, "jianye").get(f"{base}/files/{path}").status_code == 200


def test_a_copys_download_is_named_in_the_readers_language(login, app, archives, web_home) -> None:
    """``…-利用件.pdf`` in Chinese, ``…-research-copy.pdf`` in English, by the page and the API alike (the name
    encoded as RFC 6266 ``filename*``); the stored file's name for an archivist."""
    from repository.accounts import users

    view = _unit(archives)
    path = _tenants(view)
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    with open_state(load_config(web_home).state_url) as state:
        token = create_token(state, "reader", "names")[1]

    def names() -> tuple[str, str]:
        page = login("reader").get(f"/archives/{view.identifier}/files/{path}?download=1")
        api = app.test_client().get(f"/api/v1/archives/{view.identifier}/files/{path}",
                                    query_string={"purpose": "study"}, headers={"Authorization": f"Bearer {token}"})
        assert page.status_code == api.status_code == 200
        found = []
        for response in (page, api):
            disposition = response.headers["Content-Disposition"]
            assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
            found.append(unquote(disposition.split("filename*=UTF-8''", 1)[1]))
        return found[0], found[1]

    assert names() == (f"{stem}-利用件.pdf",) * 2
    try:
        with open_state(load_config(web_home).state_url) as state:
            users.set_lang(state, "reader", "en")
        assert names() == (f"{stem}-research-copy.pdf",) * 2
    finally:
        with open_state(load_config(web_home).state_url) as state:
            users.set_lang(state, "reader", "zh")
    archivist = login("jianye").get(f"/archives/{view.identifier}/files/{path}?download=1")
    assert unquote(archivist.headers["Content-Disposition"]).endswith(path.rsplit("/", 1)[-1])


def test_a_copys_download_name_masks_a_number_in_the_stored_name(tmp_path) -> None:
    """A document stored under a name holding a resident ID or a phone number (a scanner's habit): the name a
    researcher's copy is downloaded under has them masked; an original keeps its name."""
    from repository.web.gateway.archives import Document

    path = "data/basic/320102198001011234-13912345678-身份证明.pdf"
    copy = Document("hh-1", path, tmp_path / "x.pdf", "application/pdf", "pdf", copy=True)
    for lang, suffix in (("zh", "-身份证明-利用件.pdf"), ("en", "-身份证明-research-copy.pdf")):
        name = copy.download_name(lang)
        assert name.startswith("320102") and name.endswith(suffix) and "*" in name
        assert "19800101" not in name and "1391234" not in name
    original = Document("hh-1", path, tmp_path / "x.pdf", "application/pdf", "pdf")
    assert original.download_name("zh") == "320102198001011234-13912345678-身份证明.pdf"
