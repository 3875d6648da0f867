"""The web side of OCR: the text of each scanned page on the archive's OCR page and in the viewer, the page
on search hits, and the button that queues an OCR job (archivists and administrators only)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from repository import filerefs
from repository.home import Repository
from repository.jobs import JobQueue
from repository.web import create_app

from .conftest import SCAN_PHRASE, OcrHome

_NAME = "hsar_web_fixtures_for_ocr"
_spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).parents[1] / "web" / "conftest.py")
assert _spec is not None and _spec.loader is not None
web = importlib.util.module_from_spec(_spec)
sys.modules[_NAME] = web
_spec.loader.exec_module(web)


@pytest.fixture(scope="module")
def web_home(ocr_home: OcrHome, tmp_path_factory: pytest.TempPathFactory, ih) -> Path:  # noqa: ANN001
    home = ih.copy_home(ocr_home.home, tmp_path_factory.mktemp("ocr-web") / "home")
    web.add_users(home)
    return home


def _client(home: Path, username: str) -> FlaskClient:
    client = create_app(home, {"TESTING": True, "SECRET_KEY": "test"}).test_client()
    response = client.post("/login", data={"username": username, "password": web.PASSWORD, "purpose_kind": "work",
                                           "csrf_token": web.csrf_token(client)})
    assert response.status_code == 302
    return client


def _resident_id(home: Path, archive_id: str) -> str:
    with Repository.open(home) as repo:
        view = repo.catalog.show(archive_id)
        assert view is not None and view.archive.household is not None
        return view.archive.household.head.resident_id


def _head_name(home: Path, archive_id: str) -> str:
    with Repository.open(home) as repo:
        view = repo.catalog.show(archive_id)
        assert view is not None and view.archive.household is not None
        return view.archive.household.head.name


def test_the_archive_page_links_to_the_text_of_its_scans(web_home: Path, ocr_home: OcrHome) -> None:
    admin = _client(web_home, "admin")
    page = admin.get(f"/archives/{ocr_home.archive_id}").get_data(as_text=True)
    assert f'action="/archives/{ocr_home.archive_id}/ocr"' in page  # the button that starts a job
    text = admin.get(f"/archives/{ocr_home.archive_id}/ocr").get_data(as_text=True)
    assert SCAN_PHRASE in text and "第 1 页" in text and "tesseract 5." in text
    assert _resident_id(web_home, ocr_home.archive_id) in text  # an administrator sees personal data


def test_the_viewer_shows_the_text_of_the_page_shown(web_home: Path, ocr_home: OcrHome) -> None:
    [source] = ocr_home.truth
    admin = _client(web_home, "admin")
    page = admin.get(f"/archives/{ocr_home.archive_id}/view/{source}?page=1").get_data(as_text=True)
    assert SCAN_PHRASE in page and 'class="ocr-text"' in page


def test_search_hits_name_the_scanned_page(web_home: Path, ocr_home: OcrHome) -> None:
    [source] = ocr_home.truth
    admin = _client(web_home, "admin")
    page = admin.get("/search", query_string={"q": SCAN_PHRASE}).get_data(as_text=True)
    assert 'class="found-on"' in page and f"{source.rsplit('/', 1)[-1]} 第 1 页" in page
    with Repository.open(ocr_home.home) as repo:
        items = repo.catalog.show(ocr_home.archive_id).archive.items
    ref = filerefs.refs_of((i.number, i.files) for i in items)[source]  # the link names it by reference
    assert f"/archives/{ocr_home.archive_id}/view/{ref}?page=1" in page
    assert admin.get(f"/archives/{ocr_home.archive_id}/view/{ref}?page=1").status_code == 200


def test_researchers_read_masked_text_and_cannot_start_a_job(web_home: Path, ocr_home: OcrHome) -> None:
    reader = _client(web_home, "reader")
    assert f'action="/archives/{ocr_home.archive_id}/ocr"' not in reader.get(
        f"/archives/{ocr_home.archive_id}").get_data(as_text=True)
    response = reader.get(f"/archives/{ocr_home.archive_id}/ocr")
    rid = _resident_id(web_home, ocr_home.archive_id)
    if response.status_code == 200:  # an open archive: the text, ID numbers masked
        body = response.get_data(as_text=True)
        assert SCAN_PHRASE in body and rid not in body and rid[:6] + "********" + rid[-4:] in body
        assert _head_name(web_home, ocr_home.archive_id) not in body  # the head's name, labelled or not
        assert "ocr-start" not in body and "csrf_token" not in body.split("<main", 1)[-1]
    else:  # a restricted one: the catalogue entry only
        assert response.status_code == 403
    token = web.csrf_token(reader, "/search")
    assert reader.post(f"/archives/{ocr_home.archive_id}/ocr", data={"csrf_token": token}).status_code == 403


def test_an_archive_outside_the_scope_is_not_found(web_home: Path, ocr_home: OcrHome) -> None:
    division = ocr_home.archive_id.split("-")[1]
    other = next(u for u, (role, scope) in web.USERS.items() if role == "archivist" and scope != division)
    client = _client(web_home, other)
    assert client.get(f"/archives/{ocr_home.archive_id}/ocr").status_code == 404
    token = web.csrf_token(client, "/search")
    assert client.post(f"/archives/{ocr_home.archive_id}/ocr", data={"csrf_token": token}).status_code == 404


def test_an_administrator_queues_an_ocr_job(web_home: Path, ocr_home: OcrHome) -> None:
    admin = _client(web_home, "admin")
    token = web.csrf_token(admin, f"/archives/{ocr_home.archive_id}/ocr")
    response = admin.post(f"/archives/{ocr_home.archive_id}/ocr", data={"csrf_token": token})
    assert response.status_code == 303
    job_id = re.search(r"/jobs/([0-9a-f-]+)", response.headers["Location"]).group(1)  # type: ignore[union-attr]
    with JobQueue.open(web_home) as queue:
        job = queue.get(job_id)
    assert job is not None and (job.kind, job.params, job.username) == (
        "ocr", {"archives": [ocr_home.archive_id], "all": False}, "admin")


def test_ocr_text_is_masked_for_researchers_as_their_search_highlights_are() -> None:
    from repository.web.gateway import ocr as gateway

    class Page:
        page, error = 1, ""
        text = ("申请人\n孟海波\n身份证号\n320103197605179439\n联系电话\n17888527317\n人均月收入\n860 元\n"
                "经审核，同意赵静怡一家承租。")

    # the archive's people (its household and a linked one's): their names are masked where no label precedes
    known = [{"head": {"name": "孟海波", "resident_id": "320103197605179439"},
              "members": [{"name": "赵静怡", "resident_id": "320103198001010023", "relation": "配偶"}]}]
    [masked] = gateway._pages([Page()], known)  # noqa: SLF001
    assert masked["text"] == ("申请人\n孟*\n身份证号\n320103********9439\n联系电话\n178****7317\n人均月收入\n***\n"
                              "经审核，同意赵*一家承租。")
    [labelled_only] = gateway._pages([Page()], [])  # noqa: SLF001  # nobody known: labels still mask
    assert "孟*" in labelled_only["text"] and "赵静怡" in labelled_only["text"]
    assert gateway._pages([Page()], None)[0]["text"] == Page.text  # noqa: SLF001
