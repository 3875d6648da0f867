"""Defects found by walking the life-cycle pages as each role (jobs, OCR, disposal, paper, errors, English),
each pinned by a test that failed before its fix."""

from __future__ import annotations

import gc
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from repository import messages
from repository.jobs import KINDS, JobQueue
from repository.web import create_app


@pytest.fixture
def own_app(web_home: Path, tmp_path: Path) -> Flask:
    home = tmp_path / "home"
    for _ in range(3):  # an app of an earlier test may be closing its SQLite files (WAL) meanwhile: again
        try:
            shutil.copytree(web_home, home)
            break
        except shutil.Error:
            shutil.rmtree(home, ignore_errors=True)
            gc.collect()
    return create_app(home, {"TESTING": True, "SECRET_KEY": "test"})


def _client(app: Flask, wh: Any, username: str) -> FlaskClient:  # noqa: ANN401
    return wh.signed_in(app, username)


def _in(archives: dict[str, Any], prefix: str) -> str:  # noqa: ANN401
    return sorted(i for i, v in archives.items() if v.archive.division.startswith(prefix))[0]


def test_jobs_list_names_export_and_ocr_jobs(own_app: Flask, wh: Any, archives: dict[str, Any]) -> None:  # noqa: ANN401
    """The jobs list answered 500 as soon as an export (移交) or OCR job existed: their kinds had no label."""
    for kind in KINDS:
        assert f"web_ingest.kind.{kind}" in messages.catalogue(), kind
    target = _in(archives, "320105")
    with JobQueue.open(Path(own_app.config["HSAR_HOME"])) as queue:
        queue.records.create("export", {"archives": [target]}, username="admin")
        queue.records.create("ocr", {"archives": [target], "all": False}, username="admin")
    response = _client(own_app, wh, "admin").get("/jobs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "移交导出" in html and "文字识别" in html


def test_ocr_job_page_shows_what_was_read(own_app: Flask, wh: Any, archives: dict[str, Any]) -> None:  # noqa: ANN401
    """A finished OCR job's page showed only "done 1 / 1": not which archive, nor the version, files and
    pages read; now it names the job's kind and archives and links each outcome to the archive's OCR text."""
    target = _in(archives, "320105")
    with JobQueue.open(Path(own_app.config["HSAR_HOME"])) as queue:
        job, _ = queue.records.create("ocr", {"archives": [target], "all": False}, username="jianye")
        assert queue.records.claim(job.id)
        assert queue.records.finish(job.id, {
            "archives": [{"archive_id": target, "status": "added", "version": "v2", "files": 3, "pages": 5,
                          "failed_pages": 1}], "counts": {"added": 1, "unchanged": 0}, "pages": 5, "failed_pages": 1})
    html = _client(own_app, wh, "jianye").get(f"/jobs/{job.id}").get_data(as_text=True)
    what = html.split('id="job-what"', 1)[1].split("</p>", 1)[0]
    assert "文字识别" in what and f'href="/archives/{target}"' in what
    assert f'href="/archives/{target}/ocr"' in html
    assert f"{target}：已识别 v2（3 个文件，5 页，失败 1 页）" in html


def test_forbidden_pages_say_what_is_forbidden(login: Any, archives: dict[str, Any]) -> None:  # noqa: ANN401
    """Every 403 said "restricted archives are shown as catalogue entries only", also on the register, the
    users, disposal and paper pages, which have nothing to do with restricted archives; that reason is now
    given only where it is the reason (a researcher opening a restricted archive's document or OCR text)."""
    reader = login("reader")
    for path in ("/register", "/users", "/disposal", "/paper"):
        response = reader.get(path)
        assert response.status_code == 403, path
        html = response.get_data(as_text=True)
        assert "您的角色无权打开此页面或执行此操作" in html and "目录信息" not in html, path
    restricted = next(i for i, v in archives.items() if v.archive.access.value == "restricted" and v.files)
    path = next(f.path for f in archives[restricted].files)
    for url in (f"/archives/{restricted}/view/{path}", f"/archives/{restricted}/files/{path}",
                f"/archives/{restricted}/ocr"):
        response = reader.get(url)
        assert response.status_code == 403, url
        assert "控制使用的档案仅提供目录信息" in response.get_data(as_text=True), url


#: English texts that rightly hold Chinese: the language switch's own name, a report's other language, the
#: Chinese form of a shelf location given as an example
CHINESE_IN_ENGLISH = {"web.lang.zh", "audit.report.other_language", "export.shelf"}


def test_english_texts_hold_no_chinese() -> None:
    """The paper page in English headed a column "identifier or 档号" (paper.code.PAP108)."""
    cjk = re.compile(r"[\u4e00-\u9fff]")
    mixed = {k: v["en"] for k, v in messages.catalogue().items()
             if cjk.search(v["en"]) and k not in CHINESE_IN_ENGLISH}
    assert mixed == {}


def test_paper_page_in_english_has_no_chinese_heading(own_app: Flask, wh: Any) -> None:  # noqa: ANN401
    from repository.home import Repository
    from repository.paper.stored import reconcile_and_store

    with Repository.open(Path(own_app.config["HSAR_HOME"])) as repo:  # the page shows a stored reconciliation
        reconcile_and_store(repo, started_by="admin")
    admin = _client(own_app, wh, "admin")  # a copy of the home: the language is remembered per account
    admin.post("/lang", data={"lang": "en", "csrf_token": _token(admin, "/paper")})
    html = admin.get("/paper").get_data(as_text=True)
    heads = re.findall(r"<th[^>]*>(.*?)</th>", html, flags=re.S)
    assert heads and "identifier or reference code" in heads
    assert not [h for h in heads if re.search(r"[\u4e00-\u9fff]", h)]


def _token(client: FlaskClient, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert found is not None
    return found.group(1)


def test_purpose_is_shown_in_the_readers_language(own_app: Flask, wh: Any, archives: dict[str, Any]) -> None:  # noqa: ANN401
    """The register keeps a chosen purpose by its Chinese label; the English archive page said "Purpose of use
    this session: 工作查考" and the English register listed 工作查考 and 移交."""
    from repository.access import Principal, Role
    from repository.accounts.register import record_use
    from repository.config import load
    from repository.state.db import open_state

    target = _in(archives, "320105")
    admin = _client(own_app, wh, "admin")
    admin.post("/lang", data={"lang": "en", "csrf_token": _token(admin, "/search")})
    page = admin.get(f"/archives/{target}").get_data(as_text=True)
    current = page.split('class="purpose-current"', 1)[1].split("</p>", 1)[0]
    assert "work reference" in current and "工作查考" not in current
    with open_state(load(Path(own_app.config["HSAR_HOME"])).state_url) as state:
        admin_principal = Principal("admin", Role.ADMIN, "000000")
        record_use(state, admin_principal, "export", target, "移交")
        record_use(state, admin_principal, "view", target, "其他：复核2024年资格")
    cells = re.findall(r"<td>(.*?)</td>", admin.get(f"/register?archive={target}").get_data(as_text=True))
    assert "work reference" in cells and "transfer" in cells and "other: 复核2024年资格" in cells
    assert "工作查考" not in cells and "移交" not in cells


def test_access_copy_refusal_keeps_the_form(login: Any, wh: Any, archives: dict[str, Any]) -> None:  # noqa: ANN401
    """A refused access copy (no such item, no purpose, items not numbers) was a bare error page linking to
    the search: what was typed was lost, and "abc" as items gave only "the request's parameters are not valid".
    Now the archive page comes back with the refusal beside the form and the values given."""
    target = _in(archives, "320105")
    client = login("jianye")
    fresh = client.get(f"/archives/{target}").get_data(as_text=True).split('id="access-copy"', 1)[1]
    fresh = fresh.split("</form>", 1)[0]  # nothing kept yet: every field empty (not the dict's own items method)
    assert 'name="purpose" required maxlength="500" value=""' in fresh
    assert 'name="items" pattern="[0-9, ]*" maxlength="500" value=""' in fresh and "built-in" not in fresh
    token = wh.csrf_token(client, f"/archives/{target}")
    for items in ("1, 999", "abc"):
        response = client.post(f"/archives/{target}/access-copy",
                               data={"csrf_token": token, "purpose": "复核资格", "items": items, "format": "jpeg",
                                     "mask": "1"})
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        error = re.search(r'id="access-copy-error">(.*?)</p>', html)
        assert error is not None and "DIP-ITEMS" in error.group(1), items
        form = html.split('id="access-copy"', 1)[1].split("</form>", 1)[0]
        assert 'value="复核资格"' in form and f'value="{items}"' in form
        assert '<option value="jpeg" selected>' in form and 'value="1" checked' in form
    assert "件号应为以逗号分隔的正整数：abc" in html


def test_jobs_list_says_what_each_job_did(own_app: Flask, wh: Any, archives: dict[str, Any]) -> None:  # noqa: ANN401
    """An upload whose every SIP was rejected was listed as "done" and nothing else."""
    target = _in(archives, "320105")
    with JobQueue.open(Path(own_app.config["HSAR_HOME"])) as queue:
        ingest, _ = queue.records.create("ingest", {"paths": ["/nowhere/bad.zip"]}, username="jianye")
        export, _ = queue.records.create("export", {"archives": [target]}, username="jianye")
        for job, result in ((ingest, {"sips": [], "counts": {"ingested": 0, "duplicate": 0, "rejected": 1}}),
                            (export, {"archives": [], "totals": {"archives": 1, "versions": 1}})):
            assert queue.records.claim(job.id) and queue.records.finish(job.id, result)
    html = _client(own_app, wh, "jianye").get("/jobs").get_data(as_text=True)
    rows = {r.split("/jobs/", 1)[1][:36]: r for r in html.split("<tr>")[2:]}
    assert "共 1 个：入库 0，重复 0，拒收 1" in rows[ingest.id]
    assert "已导出 1 件档案" in rows[export.id]
