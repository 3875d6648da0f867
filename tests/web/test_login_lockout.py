"""Sign-in lockout (登录失败处理): an account name that fails ``web.login_failures`` times within
``web.login_lock_minutes`` minutes is locked, from every address and every server process (the count is in the
state database), its password not even checked; an unknown name the same way, so nothing tells whether an
account exists. A success forgets failures; a lock ends by itself, by an administrator (users page, ``hsar user
unlock``) or by a new password. Two applications on one home stand for two ``hsar serve`` processes."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import delete, update

from repository.cli import cli
from repository.config import load as load_config
from repository.state import tables as t
from repository.state.db import open_state
from repository.web import create_app


@pytest.fixture
def home(web_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the web tests' home (its accounts), locking a name after 3 failures for 30 minutes."""
    monkeypatch.setenv("HSAR_WEB_LOGIN_FAILURES", "3")
    monkeypatch.delenv("HSAR_WEB_LOGIN_LOCK_MINUTES", raising=False)
    home = Path(shutil.copytree(web_home, tmp_path / "home", symlinks=True))
    with open_state(load_config(home).state_url) as state:  # not the failures other tests left in web_home
        with state.transaction(write=True) as conn:
            conn.execute(delete(t.login_failures))
    return home


def _app(home: Path) -> Flask:
    return create_app(home, {"SECRET_KEY": "x", "HSAR_WARM": False, "HSAR_LOGIN_LIMIT": "100 per minute"})


def _try(wh, app: Flask, username: str, password: str, address: str = "10.0.0.1") -> tuple[int, str]:  # noqa: ANN001
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": wh.csrf_token(client)})
    return response.status_code, response.get_data(as_text=True)


def _hsar(home: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--home", str(home), "--lang", "en", *args], prog_name="hsar")
    assert result.exit_code == 0, result.output
    return result.output


def test_failures_from_any_address_and_process_lock_the_name_and_nothing_tells_it_exists(wh, home: Path) -> None:  # noqa: ANN001
    one, two = _app(home), _app(home)  # two server processes of one home
    assert [_try(wh, one, "xuanwu", wh.PASSWORD)[0] for _ in range(4)] == [302] * 4  # successes never count
    assert _try(wh, one, "xuanwu", "wrong", "10.0.0.1")[0] == 401
    assert _try(wh, two, " xuanwu ", "wrong", "10.0.0.2")[0] == 401  # the name as it is looked up
    status, page = _try(wh, one, "xuanwu", "wrong", "10.0.0.3")
    assert status == 429 and "该用户名登录失败次数过多，已锁定至" in page and "Traceback" not in page
    status, page = _try(wh, two, "xuanwu", wh.PASSWORD, "10.0.0.4")  # the right password: not even checked
    assert status == 429 and "已锁定至" in page
    assert _try(wh, two, "jianye", wh.PASSWORD, "10.0.0.3")[0] == 302  # another name, from a guessing address
    # an unknown name: the same answers at the same counts
    assert [_try(wh, one, "ghost", "wrong")[0] for _ in range(3)] == [401, 401, 429]
    assert "已锁定至" in _try(wh, two, "ghost", wh.PASSWORD)[1]

    with open_state(load_config(home).state_url) as state:  # the lock has run out
        with state.transaction(write=True) as conn:
            conn.execute(update(t.login_failures).where(t.login_failures.c.name == "xuanwu")
                         .values(locked_until=datetime.now(UTC) - timedelta(seconds=1)))
    assert _try(wh, one, "xuanwu", "wrong")[0] == 401  # counted from one again
    assert _try(wh, one, "xuanwu", wh.PASSWORD)[0] == 302
    assert [_try(wh, one, "xuanwu", "wrong")[0] for _ in range(3)] == [401, 401, 429]  # the success forgot it


def test_failures_older_than_the_window_do_not_count(wh, home: Path) -> None:  # noqa: ANN001
    app = _app(home)
    assert [_try(wh, app, "jianye", "wrong")[0] for _ in range(2)] == [401, 401]
    with open_state(load_config(home).state_url) as state:
        with state.transaction(write=True) as conn:
            conn.execute(update(t.login_failures).values(first_failed=datetime.now(UTC) - timedelta(minutes=31)))
    assert [_try(wh, app, "jianye", "wrong")[0] for _ in range(2)] == [401, 401]  # two, not four
    assert _try(wh, app, "jianye", "wrong")[0] == 429


def test_an_administrator_or_a_new_password_lifts_the_lock(wh, home: Path) -> None:  # noqa: ANN001
    app = _app(home)
    assert [_try(wh, app, "jianye", "wrong")[0] for _ in range(3)] == [401, 401, 429]
    admin = wh.signed_in(app, "admin")
    page = admin.get("/users").get_data(as_text=True)
    assert 'id="locked-jianye"' in page and 'id="locked-xuanwu"' not in page
    assert admin.post("/users/jianye/unlock").status_code == 400  # no CSRF token: refused
    assert _try(wh, app, "jianye", wh.PASSWORD)[0] == 429
    token = wh.csrf_token(admin, "/users")
    done = admin.post("/users/jianye/unlock", data={"csrf_token": token})
    assert done.status_code == 303
    assert 'id="locked-jianye"' not in admin.get("/users").get_data(as_text=True)
    assert _try(wh, app, "jianye", wh.PASSWORD)[0] == 302
    archivist = wh.signed_in(app, "xuanwu")
    assert archivist.post("/users/jianye/unlock", data={"csrf_token": wh.csrf_token(archivist, "/search")}
                          ).status_code == 403  # administrators only

    assert [_try(wh, app, "reader", "wrong")[0] for _ in range(3)] == [401, 401, 429]
    listed = _hsar(home, "user", "list")
    assert any(line.startswith("reader\t") and "locked until" in line and "+08:00" in line
               for line in listed.splitlines()), listed
    assert "lifted the sign-in lock on reader" in _hsar(home, "user", "unlock", "reader")
    assert "was not locked" in _hsar(home, "user", "unlock", "reader")
    assert _try(wh, app, "reader", wh.PASSWORD)[0] == 302

    assert [_try(wh, app, "auditor", "wrong")[0] for _ in range(3)] == [401, 401, 429]
    CliRunner().invoke(cli, ["--home", str(home), "user", "passwd", "auditor", "--password-stdin"],
                       input="a brand new password\n")
    assert _try(wh, app, "auditor", "a brand new password")[0] == 302  # a new password lifts the lock
