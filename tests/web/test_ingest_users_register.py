"""The ingest page and job pages, the users page and the access-register page: who may open them, CSRF on
every form, an upload ingested exactly once, accounts that can (or no longer can) sign in, the register's
CSV export and its chain verification."""

from __future__ import annotations

import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from repository.access import Principal, Role
from repository.accounts.register import record_use
from repository.config import load as load_config
from repository.home import init_home
from repository.jobs import JobQueue
from repository.jobs.tasks import execute
from repository.state.db import open_state
from repository.web import create_app


@pytest.fixture
def fresh(tmp_path: Path, wh) -> Flask:  # noqa: ANN001
    """An empty home of its own (uploads and jobs do not touch the shared demo home), with the test accounts."""
    home = tmp_path / "home"
    init_home(home)
    wh.add_users(home)
    return create_app(home, {"TESTING": True, "SECRET_KEY": "test"})


def _sign_in(app: Flask, wh, username: str, password: str | None = None) -> tuple[FlaskClient, int]:  # noqa: ANN001
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": password or wh.PASSWORD, "purpose_kind": "work",
                                           "csrf_token": wh.csrf_token(client)})
    return client, response.status_code


def _upload(client: FlaskClient, wh, path: Path):  # noqa: ANN001, ANN202
    with open(path, "rb") as fh:
        return client.post("/ingest", data={"csrf_token": wh.csrf_token(client, "/ingest"), "sips": (fh, path.name)},
                           content_type="multipart/form-data")


def _uploads(app: Flask) -> list[Path]:
    folder = Path(app.config["HSAR_HOME"]) / "jobs" / "uploads"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def test_upload_is_one_job_even_posted_twice_and_the_job_page_shows_the_archive(fresh, wh, demo_zip) -> None:
    client, status = _sign_in(fresh, wh, "admin")
    assert status == 302
    page = client.get("/ingest").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and "ingest.js" in page and "<script>" not in page
    first, second = _upload(client, wh, demo_zip), _upload(client, wh, demo_zip)
    assert first.status_code == 303 and first.headers["Location"] == second.headers["Location"]
    job_id = first.headers["Location"].rsplit("/", 1)[1]
    assert len(_uploads(fresh)) == 1  # kept while the job needs it
    cfg = load_config(fresh.config["HSAR_HOME"])
    with JobQueue(cfg) as queue:
        assert [j.id for j in queue.list()] == [job_id]  # recorded once
        assert [t.id for t in queue.huey.pending()] == [job_id]  # queued once
        polled = client.get(f"/jobs/{job_id}.json").get_json()
        assert polled["state"] == "queued" and polled["finished"] is False
        assert "排队中" in client.get(f"/jobs/{job_id}").get_data(as_text=True)
        execute(queue, job_id, threading.Event())  # what `hsar worker` does with the message
    polled = client.get(f"/jobs/{job_id}.json").get_json()
    assert polled["state"] == "done" and polled["finished"] is True, polled
    assert _uploads(fresh) == []  # the uploaded SIP is removed once its job has ended
    [row] = polled["sips"]
    assert row["status"] == "ingested" and row["version"] == "v1" and row["url"].endswith(row["archive_id"])
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "已完成" in page and "已入库" in page and f'href="/archives/{row["archive_id"]}"' in page
    for issue in row["issues"]:  # every code explained in Chinese from codes.json
        assert issue["code"] in page and issue["text"] and issue["text"] != issue["code"]
    # the SIP's four-property report (四性检测): each property's verdict and every item, named in Chinese
    checks = row["checks"]
    assert checks["standard"] == "DA/T 70-2018" and set(checks["groups"]) == {
        "authenticity", "integrity", "usability", "security"}
    assert "四性检测（DA/T 70-2018）" in page and "真实性" in page and "安全性" in page
    assert len(checks["items"]) >= 10 and all(i["name"] and i["name"] in page for i in checks["items"])
    assert "固化信息（摘要）有效性检测" in page and f"全部 {len(checks['items'])} 项检测" in page
    assert client.get(row["url"]).status_code == 200
    # the same bytes again: the finished job, and no copy left behind in uploads/
    again = _upload(client, wh, demo_zip)
    assert again.headers["Location"].endswith(job_id) and _uploads(fresh) == []
    # an archivist of another division: the job does not exist for them
    other, _ = _sign_in(fresh, wh, "jianye")
    assert other.get(f"/jobs/{job_id}").status_code == 404
    assert other.get(f"/jobs/{job_id}.json").status_code == 404
    assert job_id[:8] not in other.get("/jobs").get_data(as_text=True)
    # another user uploading the same bytes gets a job of their own, which finds the archive stored already
    from repository.accounts.users import add_user

    with open_state(cfg.state_url) as state:
        add_user(state, "nanjing", "archivist", "320100", password=wh.PASSWORD)
    other, _ = _sign_in(fresh, wh, "nanjing")
    mine = _upload(other, wh, demo_zip)
    assert mine.status_code == 303 and not mine.headers["Location"].endswith(job_id)
    own_id = mine.headers["Location"].rsplit("/", 1)[1]
    with JobQueue(cfg) as queue:
        assert queue.get(own_id).username == "nanjing"
        execute(queue, own_id, threading.Event())
    [dup] = other.get(f"/jobs/{own_id}.json").get_json()["sips"]
    assert dup["status"] == "duplicate" and _uploads(fresh) == []


def test_a_rejected_sips_job_page_shows_which_four_property_checks_failed(fresh, wh, demo_zip, tmp_path) -> None:
    import zipfile

    work = tmp_path / "sip"
    with zipfile.ZipFile(demo_zip) as z:
        z.extractall(work)
    [bag] = [p for p in work.iterdir() if p.is_dir()]
    payload = next(p for p in sorted((bag / "data").rglob("*.pdf")))
    payload.write_bytes(payload.read_bytes() + b"%% changed after the manifest was written")  # a digest mismatch
    broken = Path(shutil.make_archive(str(tmp_path / bag.name), "zip", root_dir=work, base_dir=bag.name))
    client, _ = _sign_in(fresh, wh, "admin")
    job_id = _upload(client, wh, broken).headers["Location"].rsplit("/", 1)[1]
    with JobQueue(load_config(fresh.config["HSAR_HOME"])) as queue:
        execute(queue, job_id, threading.Event())
    [row] = client.get(f"/jobs/{job_id}.json").get_json()["sips"]
    assert row["status"] == "rejected" and row["checks"]["result"] == "fail"
    assert row["checks"]["groups"]["authenticity"] == "fail"
    first = row["checks"]["items"][0]  # failed items first
    assert (first["code"], first["result"], first["name"]) == ("GD-1-1", "fail", "固化信息（摘要）有效性检测")
    assert [i["result"] for i in row["checks"]["items"]] == sorted(
        (i["result"] for i in row["checks"]["items"]), key=["fail", "warn", "pass"].index)
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "已拒收" in page or "拒收" in page
    # why, as found: the altered file named, the message rendered (not the code's template with its … gaps)
    changed = f"data/{payload.relative_to(bag / 'data').as_posix()}"
    [digest] = [i for i in row["issues"] if i["path"] == changed]
    assert digest["text"] and "…" not in digest["text"] and digest["text"] in page and changed in page
    section = page.split('class="sip-checks"', 1)[1]
    assert "<details open>" in section and '<td class="verdict-fail">未通过</td>' in section
    client.post("/lang", data={"lang": "en", "csrf_token": wh.csrf_token(client, "/search")})
    english = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "Digests match the manifests" in english and "<th>authenticity</th>" in english and "固化信息" not in english


def test_upload_of_an_archive_outside_the_archivists_division_is_refused(fresh, wh, demo_zip) -> None:
    """The demo household lies in 320115 (江宁区); 玄武区's archivist is refused at upload, with the reason,
    rather than given a job that makes an archive they could then not see. Nothing is queued or kept."""
    client, _ = _sign_in(fresh, wh, "xuanwu")
    refused = _upload(client, wh, demo_zip)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 403 and "320115" in text and "320102" in text and "不在您的范围" in text
    with JobQueue(load_config(fresh.config["HSAR_HOME"])) as queue:
        assert queue.list() == [] and list(queue.huey.pending()) == []
    assert _uploads(fresh) == []


def test_an_upload_whose_ingest_fails_is_removed_too(fresh, wh, tmp_path) -> None:
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    client, _ = _sign_in(fresh, wh, "admin")
    job_id = _upload(client, wh, broken).headers["Location"].rsplit("/", 1)[1]
    assert len(_uploads(fresh)) == 1
    with JobQueue(load_config(fresh.config["HSAR_HOME"])) as queue:
        execute(queue, job_id, threading.Event())
    polled = client.get(f"/jobs/{job_id}.json").get_json()
    assert polled["finished"] is True and polled["state"] in ("done", "failed"), polled
    assert polled["state"] == "failed" or polled["sips"][0]["status"] == "rejected"
    assert _uploads(fresh) == []


def test_upload_without_csrf_or_without_files_is_refused(fresh, wh, demo_zip) -> None:
    client, _ = _sign_in(fresh, wh, "xuanwu")
    with open(demo_zip, "rb") as fh:
        response = client.post("/ingest", data={"sips": (fh, demo_zip.name)}, content_type="multipart/form-data")
    assert response.status_code == 400 and "WEB-CSRF" in response.get_data(as_text=True)
    empty = client.post("/ingest", data={"csrf_token": wh.csrf_token(client, "/ingest")})
    assert empty.status_code == 400 and "请至少选择一个提交包文件" in empty.get_data(as_text=True)
    with JobQueue(load_config(fresh.config["HSAR_HOME"])) as queue:
        assert queue.list() == []


def test_upload_larger_than_the_limit_is_413(fresh, wh, demo_zip) -> None:
    fresh.config["HSAR_UPLOAD_LIMIT"] = 1000
    client, _ = _sign_in(fresh, wh, "xuanwu")
    response = _upload(client, wh, demo_zip)
    assert response.status_code == 413 and "WEB-TOO-LARGE" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/ingest", "/users", "/register", "/register.csv"])
def test_researcher_may_not_open_the_administration_pages(login, url: str) -> None:
    client = login("reader")
    assert client.get(url).status_code in (403, 404)
    assert "/ingest" not in client.get("/search").get_data(as_text=True)  # and no link to them


def test_archivist_and_auditor_are_kept_to_their_pages(login) -> None:
    archivist, auditor = login("xuanwu"), login("auditor")
    assert archivist.get("/ingest").status_code == 200
    assert archivist.get("/users").status_code == 403 and archivist.get("/register").status_code == 403
    assert auditor.get("/register").status_code == 200
    assert auditor.get("/ingest").status_code == 403 and auditor.get("/users").status_code == 403


def test_admin_adds_a_user_who_can_sign_in_until_disabled(fresh, wh) -> None:
    admin, _ = _sign_in(fresh, wh, "admin")
    token = wh.csrf_token(admin, "/users")
    refused = admin.post("/users", data={"username": "zhang.san", "role": "researcher", "division": "320102",
                                         "password": "long enough password"})
    assert refused.status_code == 400  # no CSRF token
    added = admin.post("/users", data={"username": "zhang.san", "role": "researcher", "division": "320102",
                                       "password": "long enough password", "display_name": "张三",
                                       "csrf_token": token})
    assert added.status_code == 303
    assert "zhang.san" in admin.get("/users").get_data(as_text=True)
    short = admin.post("/users", data={"username": "li.si", "role": "admin", "division": "320102",
                                       "password": "short", "csrf_token": token})
    assert short.status_code == 400 and "li.si" not in short.get_data(as_text=True).split("<tbody>")[1]
    user, status = _sign_in(fresh, wh, "zhang.san", "long enough password")
    assert status == 302 and user.get("/search").status_code == 200
    reset = admin.post("/users/zhang.san/password", data={"password": "another long password", "csrf_token": token})
    assert reset.status_code == 303
    assert _sign_in(fresh, wh, "zhang.san", "long enough password")[1] == 401
    assert _sign_in(fresh, wh, "zhang.san", "another long password")[1] == 302
    assert admin.post("/users/zhang.san/disable", data={}).status_code == 400  # no CSRF token
    assert admin.post("/users/zhang.san/disable", data={"csrf_token": token}).status_code == 303
    assert _sign_in(fresh, wh, "zhang.san", "another long password")[1] == 401
    assert user.get("/search").status_code == 302  # the session of a disabled account ends too


def test_admin_changes_a_users_role_and_scope_and_enables_them_again(fresh, wh) -> None:
    admin, _ = _sign_in(fresh, wh, "admin")
    token = wh.csrf_token(admin, "/users")
    page = admin.get("/users").get_data(as_text=True)
    new_user_form = page.split('action="/users"', 1)[1]
    assert '<option value="researcher" selected>' in new_user_form  # a new account starts with the least rights
    assert "玄武区" in page  # scopes named, not only coded
    reader, _ = _sign_in(fresh, wh, "reader")
    assert reader.get("/ingest").status_code == 403
    assert admin.post("/users/reader/scope", data={"role": "archivist", "division": "320102"}).status_code == 400
    changed = admin.post("/users/reader/scope", data={"role": "archivist", "division": "320102", "csrf_token": token})
    assert changed.status_code == 303
    assert reader.get("/ingest").status_code == 200  # the same session, at its next request: an archivist now
    bad = admin.post("/users/reader/scope", data={"role": "archivist", "division": "999999", "csrf_token": token})
    assert bad.status_code == 400 and "999999" in bad.get_data(as_text=True)
    # the only active administrator keeps the role and cannot be disabled
    for refused in (admin.post("/users/admin/scope", data={"role": "auditor", "division": "000000", "csrf_token": token}),
                    admin.post("/users/admin/disable", data={"csrf_token": token})):
        assert refused.status_code == 400 and "唯一启用的管理员" in refused.get_data(as_text=True)
    assert admin.get("/users").status_code == 200  # still an administrator
    assert admin.post("/users/reader/disable", data={"csrf_token": token}).status_code == 303
    assert reader.get("/search").status_code == 302
    assert 'action="/users/reader/enable"' in admin.get("/users").get_data(as_text=True)
    assert admin.post("/users/reader/enable", data={}).status_code == 400  # no CSRF token
    assert admin.post("/users/reader/enable", data={"csrf_token": token}).status_code == 303
    assert _sign_in(fresh, wh, "reader")[1] == 302


def test_the_register_page_checks_new_entries_at_each_load_and_the_whole_chain_in_turn(fresh, wh, monkeypatch) -> None:
    from sqlalchemy import update

    from repository.state import tables as st
    from repository.web.gateway import accounts as gateway

    cfg = load_config(fresh.config["HSAR_HOME"])
    reader = Principal("reader", Role.RESEARCHER, "320100")
    with open_state(cfg.state_url) as state:
        for n in range(3):
            record_use(state, reader, "view", f"A-{n}", "复核")
    auditor, _ = _sign_in(fresh, wh, "admin")  # national: the page counts the whole register
    assert "登记链校验通过（共 3 条）" in auditor.get("/register").get_data(as_text=True)
    with open_state(cfg.state_url) as state:
        record_use(state, reader, "view", "A-3", "复核")
        with state.transaction(write=True) as conn:  # an old entry altered behind the page's back
            conn.execute(update(st.access_register).where(st.access_register.c.seq == 1).values(purpose="其他"))
    page = auditor.get("/register").get_data(as_text=True)
    assert "登记链校验通过（共 4 条）" in page  # only the new entry was read …
    monkeypatch.setattr(gateway, "REGISTER_FULL_EVERY", 0.0)  # … until the next whole pass is due
    page = auditor.get("/register").get_data(as_text=True)
    assert "登记链校验通过" not in page and "REG-ALTERED" in page
    assert "第 1 条记录的哈希与其内容不符：该记录被改动" in page and "altered" not in page  # the reader's language


def test_register_lists_filters_exports_and_verifies(fresh, wh) -> None:
    cfg = load_config(fresh.config["HSAR_HOME"])
    reader = Principal("reader", Role.RESEARCHER, "320100")
    with open_state(cfg.state_url) as state:
        record_use(state, reader, "view", "A-1", "复核", at=datetime(2026, 3, 1, 2, tzinfo=UTC))
        record_use(state, reader, "download", "A-2", "审计", item="data/a.pdf", at=datetime(2026, 3, 2, 2, tzinfo=UTC))
        record_use(state, Principal("admin", Role.ADMIN, "000000"), "view", "A-2", "检查",
                   at=datetime(2026, 3, 3, 2, tzinfo=UTC))
    auditor, _ = _sign_in(fresh, wh, "admin")  # national: these archives are catalogued nowhere (scope: test_register_scope)
    page = auditor.get("/register").get_data(as_text=True)
    assert "登记链校验通过（共 3 条）" in page and "A-1" in page and "检查" in page
    filtered = auditor.get("/register?user=reader&action=download").get_data(as_text=True)
    assert "A-2" in filtered and "A-1" not in filtered
    dated = auditor.get("/register?from=2026-03-02&to=2026-03-02").get_data(as_text=True)
    assert "审计" in dated and "复核" not in dated and "检查" not in dated
    csv = auditor.get("/register.csv?archive=A-2")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("seq,at,username") and len(lines) == 3
    assert lines[1].startswith("2,") and "data/a.pdf" in lines[1] and lines[2].startswith("3,")
    assert auditor.get("/register?action=nonsense").status_code == 400
    assert auditor.get("/register?from=yesterday").status_code == 400


BOUNDARY = "hsar-test-boundary"


def _multipart(filename: bytes, csrf: str | None = None) -> bytes:
    """A multipart body built by hand (the test client would encode the name): the CSRF token, if any, then
    the field ``sips`` with a file whose Content-Disposition carries ``filename`` as raw bytes."""
    parts = [] if csrf is None else [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n'.encode()]
    parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="sips"; filename="'.encode() + filename
                 + b'"\r\nContent-Type: application/zip\r\n\r\nPK\x03\x04 not really a zip\r\n')
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


@pytest.mark.parametrize("filename", [b"\xff\xfe.zip", b"\xe4\xbd.zip", "住房.zip".encode("gb18030")])
def test_a_file_name_not_in_utf8_is_an_unreadable_form_not_a_missing_token(fresh, wh, filename: bytes) -> None:  # noqa: ANN001
    """werkzeug reads a part's headers as UTF-8; one that is not (a file name in other bytes) made the whole
    form read as empty: the page then said WEB-CSRF (no token) and the API API-INGEST-NO-FILE. Each now says
    what is wrong (400 WEB-FORM, 400 API-FORM), with no traceback and nothing queued or kept."""
    from repository.accounts.tokens import create_token

    client, _ = _sign_in(fresh, wh, "xuanwu")
    page = client.post("/ingest", data=_multipart(filename, wh.csrf_token(client, "/ingest")),
                       content_type=f"multipart/form-data; boundary={BOUNDARY}")
    text = page.get_data(as_text=True)
    assert page.status_code == 400 and "WEB-FORM" in text, text
    assert "WEB-CSRF" not in text and "Traceback" not in text and "UTF-8" in text
    with open_state(load_config(fresh.config["HSAR_HOME"]).state_url) as state:
        token = create_token(state, "xuanwu", "form tests")[1]
    api = fresh.test_client().post("/api/v1/ingest", data=_multipart(filename),
                                   headers={"Authorization": f"Bearer {token}"},
                                   content_type=f"multipart/form-data; boundary={BOUNDARY}")
    assert api.status_code == 400 and api.get_json()["error"]["code"] == "API-FORM", api.get_data(as_text=True)
    assert "UTF-8" in api.get_json()["error"]["message"]
    with JobQueue(load_config(fresh.config["HSAR_HOME"])) as queue:
        assert queue.list() == [] and list(queue.huey.pending()) == []
    assert _uploads(fresh) == []
    # the same form with a name in UTF-8 is an ordinary upload (the token and the file were read)
    ordinary = client.post("/ingest", data=_multipart("住房.zip".encode(), wh.csrf_token(client, "/ingest")),
                           content_type=f"multipart/form-data; boundary={BOUNDARY}")
    assert ordinary.status_code == 303, ordinary.get_data(as_text=True)
