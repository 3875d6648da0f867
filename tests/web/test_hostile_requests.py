"""Hostile requests to the pages (found by fuzzing every route as every role): each gets a clear refusal or
an ordinary answer, never a 500, and a refused request changes nothing: digits that are not ASCII (², ①),
dates out of range, numbers no database key holds, broken uploads and file names over 255 bytes, line breaks
and tabs in ``next``, an unreadable Referer on an HTTPS form, an unsatisfiable Range, an over-long username."""

from __future__ import annotations

import io
import shutil
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from repository.config import load as load_config
from repository.state import tables as t
from repository.state.db import open_state
from repository.web import create_app

SUPERSCRIPT, CIRCLED = "\u00b2", "\u2460"


@pytest.fixture
def home(web_home: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(web_home, tmp_path / "home", symlinks=True))


@pytest.fixture
def app(home: Path) -> Flask:
    return create_app(home, {"SECRET_KEY": "x", "HSAR_WARM": False, "HSAR_LOGIN_LIMIT": "100 per minute"})


def _client(wh, app: Flask, username: str) -> FlaskClient:  # noqa: ANN001
    return wh.signed_in(app, username)  # the web tests' own sign-in (purpose of use: work)


def _count(home: Path, table: Any) -> int:  # noqa: ANN401 - a Table
    with open_state(load_config(home).state_url) as state, state.transaction() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def _own(archives: dict[str, Any], prefix: str) -> Any:  # noqa: ANN401 - an ArchiveView
    return next(v for i, v in sorted(archives.items()) if v.archive.division.startswith(prefix))


def test_digits_that_are_not_ascii_are_no_page_number(wh, app: Flask, archives) -> None:  # noqa: ANN001
    admin = _client(wh, app, "admin")
    for digit in (SUPERSCRIPT, CIRCLED):
        assert admin.get(f"/search?page={digit}").status_code == 400  # no page of that number
        assert admin.get(f"/register?page={digit}").status_code == 200
        assert admin.get(f"/security-log?page={digit}").status_code == 200
    view = _own(archives, "320102")
    tiff = next(f.path for f in view.files if f.path.endswith(".tif"))
    assert admin.get(f"/archives/{view.identifier}/view/{tiff}?page={SUPERSCRIPT}").status_code == 404
    token = wh.csrf_token(admin, f"/archives/{view.identifier}")
    refused = admin.post(f"/archives/{view.identifier}/access-copy",
                         data={"csrf_token": token, "purpose": "研究", "items": f"1,{SUPERSCRIPT}", "format": "pdf"})
    assert refused.status_code == 400 and "DIP-ITEMS" in refused.get_data(as_text=True)
    jianye = _client(wh, app, "jianye")  # another district's archive: 404 whatever the items say
    other = jianye.post(f"/archives/{view.identifier}/access-copy",
                        data={"csrf_token": wh.csrf_token(jianye, "/search"), "purpose": "x", "items": SUPERSCRIPT})
    assert other.status_code == 404


def test_dates_out_of_range_and_numbers_no_key_holds_are_refused(wh, app: Flask) -> None:  # noqa: ANN001
    admin = _client(wh, app, "admin")
    for path in ("/register", "/register.csv", "/security-log", "/security-log.csv"):
        assert admin.get(f"{path}?to=9999-12-31").status_code == 400
        assert admin.get(f"{path}?from=0001-01-01").status_code == 400
        assert admin.get(f"{path}?from=2026-01-01&to=2026-12-31").status_code == 200
    huge = "9" * 25
    assert admin.get(f"/disposal/{huge}/approve").status_code != 500
    refused = admin.post(f"/disposal/{huge}/reject", data={"csrf_token": wh.csrf_token(admin, "/disposal")})
    assert refused.status_code in (303, 400, 404)


@pytest.mark.parametrize("cells, code", [  # 件号, 页数
    (f"{SUPERSCRIPT},3", "PAP004"), (f"2,{CIRCLED}", "PAP004"), ("9" * 30 + ",3", "PAP004")])
def test_register_numbers_a_database_cannot_hold_are_bad_rows(wh, app: Flask, home: Path, cells: str, code: str
                                                             ) -> None:  # noqa: ANN001
    admin = _client(wh, app, "admin")
    data = f"全宗号,目录号,案卷号,件号,页数,盒号\nJ001,1,2019-0001,{cells},B\n".encode()
    sent = admin.post("/paper/import", data={"register": (io.BytesIO(data), "r.csv"),
                                             "csrf_token": wh.csrf_token(admin, "/paper")},
                      content_type="multipart/form-data")
    assert sent.status_code == 400 and code in sent.get_data(as_text=True)
    assert _count(home, t.paper_register) == 0


def test_a_cut_xlsx_register_is_an_unreadable_file(wh, app: Flask, home: Path) -> None:  # noqa: ANN001
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["全宗号", "目录号", "案卷号", "件号", "页数", "盒号"])
    for n in range(200):
        book.active.append(["J001", "1", "2019-0001", n + 1, 3, "B"])
    raw = io.BytesIO()
    book.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            body = src.read(item)
            dst.writestr(item, body[: len(body) // 2] if item.filename.endswith("sheet1.xml") else body)
    admin = _client(wh, app, "admin")
    sent = admin.post("/paper/import", data={"register": (io.BytesIO(out.getvalue()), "r.xlsx"),
                                             "csrf_token": wh.csrf_token(admin, "/paper")},
                      content_type="multipart/form-data")
    assert sent.status_code == 400 and "PAP007" in sent.get_data(as_text=True)
    assert _count(home, t.paper_register) == 0


def _zip_with_unknown_compression() -> bytes:
    """A zip whose descriptive XML's member claims compression method 99 (as an AES-encrypted member does)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("sip/metadata/descriptive.xml", "<archive/>")
        zf.writestr("sip/bagit.txt", "BagIt-Version: 1.0\n")
    data = bytearray(out.getvalue())
    central = data.index(b"PK\x01\x02")  # the first entry of the central directory: the XML
    struct.pack_into("<H", data, central + 10, 99)
    struct.pack_into("<H", data, 8, 99)  # and its local header
    return bytes(data)


def test_broken_uploads_and_long_names_leave_nothing_behind(wh, app: Flask, home: Path) -> None:  # noqa: ANN001
    admin = _client(wh, app, "admin")
    token = wh.csrf_token(admin, "/ingest")
    jobs = _count(home, t.jobs)
    broken = admin.post("/ingest", data={"csrf_token": token, "sips": (io.BytesIO(_zip_with_unknown_compression()),
                                                                        "broken.zip")},
                        content_type="multipart/form-data")
    assert broken.status_code in (303, 400)  # queued (its ingest refuses the package) or refused: never a 500
    long_name = "档" * 90 + ".zip"  # 274 bytes of UTF-8
    named = admin.post("/ingest", data={"csrf_token": token, "sips": (io.BytesIO(b"PK\x05\x06" + bytes(18)),
                                                                       long_name)},
                       content_type="multipart/form-data")
    assert named.status_code in (303, 400)
    uploads = home / "jobs" / "uploads"
    queued = _count(home, t.jobs) - jobs
    folders = [p for p in uploads.iterdir() if p.is_dir()] if uploads.is_dir() else []
    assert len(folders) == queued  # every upload kept is held by a job
    assert all(len(f.name.encode()) <= 200 for folder in folders for f in folder.iterdir())


@pytest.mark.parametrize("target", ["/search%0d%0aSet-Cookie:x=1", "/\t/evil.example", "/%09/evil.example",
                                    "//evil.example", "/\\evil.example"])
def test_next_leaves_the_site_never_and_breaks_no_header(wh, app: Flask, home: Path, target: str) -> None:  # noqa: ANN001
    from urllib.parse import unquote

    client = app.test_client()
    signed = client.post("/login", data={"username": "xuanwu", "password": wh.PASSWORD, "purpose_kind": "work",
                                         "next": unquote(target), "csrf_token": wh.csrf_token(client)})
    assert signed.status_code == 302 and signed.headers["Location"] == "/search"
    lang = client.post("/lang", data={"lang": "en", "next": unquote(target), "csrf_token": wh.csrf_token(client, "/search")})
    assert lang.status_code == 302 and lang.headers["Location"] == "/search"


def test_an_unreadable_referer_on_an_https_form_is_a_refused_form(wh, home: Path) -> None:  # noqa: ANN001
    app = create_app(home, {"SECRET_KEY": "x", "HSAR_WARM": False, "HSAR_HTTPS": True})
    client = app.test_client()
    token = wh.csrf_token(client)
    lines = _count(home, t.security_log)
    refused = client.post("/login", base_url="https://localhost", headers={"Referer": "https://[::1/"},
                          data={"username": "xuanwu", "password": wh.PASSWORD, "csrf_token": token})
    assert refused.status_code == 400 and "WEB-CSRF" in refused.get_data(as_text=True)
    assert _count(home, t.security_log) == lines  # refused before the sign-in: nothing logged, nobody signed in


def test_a_file_not_sent_is_not_registered(wh, app: Flask, home: Path, archives) -> None:  # noqa: ANN001
    view = _own(archives, "320102")
    pdf = next(f.path for f in view.files if f.path.endswith(".pdf"))
    client = _client(wh, app, "xuanwu")
    before = _count(home, t.access_register)
    unsatisfiable = client.get(f"/archives/{view.identifier}/files/{pdf}?download=1",
                               headers={"Range": "bytes=999999999-"})
    assert unsatisfiable.status_code == 416 and _count(home, t.access_register) == before
    assert client.head(f"/archives/{view.identifier}/files/{pdf}?download=1").status_code == 200
    assert _count(home, t.access_register) == before  # a HEAD sends no file
    sent = client.get(f"/archives/{view.identifier}/files/{pdf}?download=1", headers={"Range": "bytes=0-9"})
    assert sent.status_code == 206 and len(sent.data) == 10 and _count(home, t.access_register) == before + 1


def test_an_over_long_username_is_refused_not_cut(wh, app: Flask, home: Path) -> None:  # noqa: ANN001
    admin = _client(wh, app, "admin")
    users = _count(home, t.users)
    refused = admin.post("/users", data={"username": "a" * 100_000, "role": "researcher", "division": "320102",
                                         "password": "long enough password", "csrf_token": wh.csrf_token(admin, "/users")})
    assert refused.status_code == 400 and _count(home, t.users) == users
    assert admin.post("/users/" + "b" * 200 + "/unlock",
                      data={"csrf_token": wh.csrf_token(admin, "/users")}).status_code == 404


def test_a_year_of_four_superscript_digits_is_a_bad_year(wh, app: Flask) -> None:  # noqa: ANN001
    reader = _client(wh, app, "reader")
    for asked in (f"/search?q=year:{SUPERSCRIPT * 4}", f"/search?year={SUPERSCRIPT * 4}"):
        answer = reader.get(asked)
        assert answer.status_code in (200, 400) and "WEB-INTERNAL" not in answer.get_data(as_text=True)
