"""The security log in the web application: sign-ins (and failures) from the client's address, sign-outs and
every change on the users page as the administrator's; its page and CSV for auditors and administrators only,
each reader seeing the lines of the accounts in its scope, with the chain's state; the JSON API route."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, update

from repository.accounts.securitylog import list_events
from repository.accounts.tokens import create_token
from repository.accounts.users import add_user
from repository.config import load as load_config
from repository.state import tables as t
from repository.state.db import open_state
from repository.web import create_app
from repository.web.gateway import accounts as gateway


@pytest.fixture
def home(web_home: Path, tmp_path: Path, wh) -> Path:  # noqa: ANN001
    """A copy of the web tests' home with an empty security log, and an auditor of 建邺区 (320105)."""
    home = Path(shutil.copytree(web_home, tmp_path / "home", symlinks=True))
    with open_state(load_config(home).state_url) as state:
        with state.transaction(write=True) as conn:
            conn.execute(delete(t.security_log))
            conn.execute(delete(t.login_failures))
        add_user(state, "aud-jianye", "auditor", "320105", password=wh.PASSWORD)
    return home


def _app(home: Path) -> Flask:
    return create_app(home, {"SECRET_KEY": "x", "HSAR_WARM": False, "HSAR_LOGIN_LIMIT": "100 per minute"})


def _client(wh, app: Flask, username: str, password: str | None = None, address: str = "10.9.8.7",  # noqa: ANN001
            ) -> tuple[FlaskClient, int]:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    response = client.post("/login", data={"username": username, "password": password or wh.PASSWORD,
                                           "purpose_kind": "work", "csrf_token": wh.csrf_token(client)})
    return client, response.status_code


def _events(home: Path) -> list[tuple[str, str, str, str]]:
    with open_state(load_config(home).state_url) as state:
        return [(e.event, e.username, e.subject, e.address) for e in list_events(state)]


def test_sign_ins_sign_outs_and_user_changes_are_logged_from_the_clients_address(wh, home: Path) -> None:  # noqa: ANN001
    app = _app(home)
    assert _client(wh, app, "xuanwu", "wrong", "10.0.0.5")[1] == 401
    admin, status = _client(wh, app, "admin", address="10.0.0.6")
    assert status == 302
    token = wh.csrf_token(admin, "/users")
    assert admin.post("/users", data={"username": "new.one", "role": "researcher", "division": "320102",
                                      "password": "long enough password", "csrf_token": token}).status_code == 303
    assert admin.post("/users/new.one/scope", data={"role": "archivist", "division": "320105",
                                                     "csrf_token": token}).status_code == 303
    assert admin.post("/users/new.one/disable", data={"csrf_token": token}).status_code == 303
    assert admin.post("/users/new.one/disable", data={}).status_code == 400  # no CSRF token: refused, not logged
    assert admin.post("/logout", data={"csrf_token": token}).status_code == 302
    assert _events(home)[1:] == [  # after the fixture's user-add
        ("sign-in-failed", "xuanwu", "xuanwu", "10.0.0.5"),
        ("sign-in", "admin", "admin", "10.0.0.6"),
        ("user-add", "admin", "new.one", "10.0.0.6"),
        ("user-set", "admin", "new.one", "10.0.0.6"),  # under the division it left …
        ("user-set", "admin", "new.one", "10.0.0.6"),  # … and the one it joined
        ("user-disable", "admin", "new.one", "10.0.0.6"),
        ("sign-out", "admin", "admin", "10.0.0.6"),
    ]


def test_the_page_lists_filters_and_exports_in_scope_for_auditors_and_admins(wh, home: Path, monkeypatch) -> None:  # noqa: ANN001
    app = _app(home)
    _client(wh, app, "jianye", "wrong")  # 建邺区's archivist
    _client(wh, app, "xuanwu", "wrong")  # 玄武区's
    _client(wh, app, "nobody-at-all", "wrong")  # no such account
    for user in ("reader", "xuanwu"):
        assert _client(wh, app, user)[0].get("/security-log").status_code == 403
        assert _client(wh, app, user)[0].get("/security-log.csv").status_code == 403
    auditor, _ = _client(wh, app, "auditor")  # 南京市: both districts, not the unknown name
    page = auditor.get("/security-log").get_data(as_text=True)
    assert "安全审计日志" in page and "日志链校验通过" in page
    assert "jianye" in page and "xuanwu" in page and "nobody-at-all" not in page and "密码错误" in page
    district, _ = _client(wh, app, "aud-jianye")
    page = district.get("/security-log").get_data(as_text=True)
    assert "jianye" in page and "xuanwu" not in page
    admin, _ = _client(wh, app, "admin")
    page = admin.get("/security-log?event=sign-in-failed").get_data(as_text=True)
    assert "nobody-at-all" in page and "无此账户" in page and "登录成功" not in page.split("<tbody>")[1]
    assert admin.get("/security-log?event=nonsense").status_code == 400
    csv = admin.get("/security-log.csv?user=jianye")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("seq,at,username,role,event") and len(lines) == 2 and ',"{""reason"":""password""}",' in lines[1]

    # an altered line is found by the page's next whole pass over the chain
    with open_state(load_config(home).state_url) as state, state.transaction(write=True) as conn:
        conn.execute(update(t.security_log).where(t.security_log.c.seq == 1).values(address="6.6.6.6"))
    monkeypatch.setattr(gateway, "REGISTER_FULL_EVERY", 0.0)
    page = admin.get("/security-log").get_data(as_text=True)
    assert "SEC-ALTERED" in page and "第 1 条日志的哈希与其内容不符" in page


def test_the_api_lists_the_log_in_scope(wh, home: Path) -> None:  # noqa: ANN001
    app = _app(home)
    _client(wh, app, "jianye", "wrong")
    _client(wh, app, "xuanwu", "wrong")
    with open_state(load_config(home).state_url) as state:
        tokens = {u: create_token(state, u, "t")[1] for u in ("aud-jianye", "admin", "reader")}
    client = app.test_client()

    def get(user: str, query: str = "") -> tuple[int, dict]:
        found = client.get(f"/api/v1/security-log{query}", headers={"Authorization": f"Bearer {tokens[user]}"})
        return found.status_code, found.get_json()

    status, body = get("aud-jianye")
    assert status == 200 and {e["subject"] for e in body["entries"]} == {"jianye", "aud-jianye"}
    assert get("reader")[0] == 403
    status, body = get("admin", "?event=token-create&limit=2&offset=1")
    assert status == 200 and [e["subject"] for e in body["entries"]] == ["admin", "reader"]
    assert get("admin", "?event=nonsense")[0] == 400


def test_a_name_typed_as_a_formula_is_exported_as_text(wh, home: Path) -> None:  # noqa: ANN001
    app = _app(home)
    formula = '=HYPERLINK("http://evil.example/","点击")'
    assert _client(wh, app, formula, "wrong")[1] == 401
    admin, _ = _client(wh, app, "admin")
    rows = list(__import__("csv").reader(admin.get("/security-log.csv?event=sign-in-failed")
                                          .get_data(as_text=True).lstrip("\ufeff").splitlines()))
    assert [r[2] for r in rows[1:]] == ["'" + formula]  # username: shown as text by a spreadsheet program
    assert formula in admin.get("/security-log").get_data(as_text=True).replace("&#34;", '"')  # the page as typed


def test_cells_that_a_spreadsheet_would_take_for_formulas() -> None:
    from repository.cells import safe_cell

    assert [safe_cell(v) for v in ("=1+1", "+86 138", "-x", "@SUM(A1)", "\tx", "-5", "+3.5", "text", 7, None)] == [
        "'=1+1", "'+86 138", "'-x", "'@SUM(A1)", "'\tx", "-5", "+3.5", "text", 7, None]


def test_the_per_address_throttle_is_a_setting(wh, home: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("HSAR_WEB_LOGIN_ATTEMPTS", "2")
    app = create_app(home, {"SECRET_KEY": "x", "HSAR_WARM": False})
    assert [_client(wh, app, "xuanwu", "wrong", "10.7.7.7")[1] for _ in range(3)] == [401, 401, 429]
    assert _client(wh, app, "xuanwu", address="10.7.7.8")[1] == 302  # another address is not held up


def test_sign_out_ends_the_session_even_when_its_line_cannot_be_written(wh, home: Path, monkeypatch) -> None:  # noqa: ANN001
    from repository.errors import StateError

    app = _app(home)
    client, _ = _client(wh, app, "xuanwu")

    def broken(*_args: object) -> None:
        raise StateError(msgid="state.unreadable", url="x", detail="down")

    monkeypatch.setattr(gateway, "sign_out", broken)
    client.post("/logout", data={"csrf_token": wh.csrf_token(client, "/search")})
    assert client.get("/search").status_code == 302  # signed out all the same: back to the sign-in page


def test_filters_with_control_characters_and_unknown_events_are_no_500(wh, home: Path) -> None:  # noqa: ANN001
    from sqlalchemy import insert

    from repository.accounts.chain import chained

    app = _app(home)
    admin, _ = _client(wh, app, "admin")
    assert admin.get("/security-log?user=a%00b").status_code == 400
    assert admin.get("/register?user=a%00b").status_code == 400
    with open_state(load_config(home).state_url) as state:
        token = create_token(state, "admin", "t")[1]
        with state.transaction(write=True) as conn:  # a line another hsar wrote, of an event this one lacks
            head = conn.execute(t.security_log.select().order_by(t.security_log.c.seq.desc()).limit(1)).first()
            row = chained((head.seq, head.hash), [{"at": __import__("datetime").datetime.now(
                __import__("datetime").UTC), "username": "x", "role": "", "event": "future-event", "subject": "x",
                "division": "", "address": "", "detail": "{}"}])[0]
            conn.execute(insert(t.security_log).values(**row))
    page = admin.get("/security-log")
    assert page.status_code == 200 and "future-event" in page.get_data(as_text=True)
    api = app.test_client().get("/api/v1/security-log?username=a%00b", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 400
