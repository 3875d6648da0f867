"""The archive page after its second speed pass (issue 13): the signed-in account is remembered while its row
stands still, however many register lines the pages write, and is looked up again at the next request after
any change to it, by any connection; the page shows what it showed before (one read of the catalogue)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from repository.accounts import users
from repository.config import load as load_config
from repository.state import tables as t
from repository.state.db import open_state
from repository.web import context, create_app


@pytest.fixture
def home(web_home: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(web_home, copy)
    return copy


def _client(home: Path, wh, username: str):
    client = create_app(home, {"TESTING": True, "SECRET_KEY": "test"}).test_client()
    assert client.post("/login", data={"username": username, "password": wh.PASSWORD, "purpose_kind": "work",
                                       "csrf_token": wh.csrf_token(client)}).status_code == 302
    return client


def test_the_session_account_is_remembered_until_its_row_changes(home, wh, archives, monkeypatch) -> None:
    target = next(v for v in archives.values() if v.archive.household is not None).identifier
    client = _client(home, wh, "admin")
    looked_up: list[str] = []
    real = context.accounts.active_user

    def counting(cfg, username):
        looked_up.append(username)
        return real(cfg, username)

    monkeypatch.setattr(context.accounts, "active_user", counting)
    for _ in range(4):  # each writes a register line (the state database changes), the account stays
        assert client.get(f"/archives/{target}").status_code == 200
    assert len(looked_up) <= 1
    with open_state(load_config(home).state_url) as state:  # another connection, as another process
        users.set_lang(state, "admin", "en")
    looked_up.clear()
    page = client.get(f"/archives/{target}")
    assert looked_up == ["admin"] and '<html lang="en">' in page.get_data(as_text=True)
    with open_state(load_config(home).state_url) as state:  # a role change is seen at the next request too
        users.add_user(state, "admin2", "admin", "000000", password="another admin password")
        users.set_scope(state, "admin", role="researcher")
    looked_up.clear()
    page = client.get(f"/archives/{target}")
    assert looked_up == ["admin"] and "researcher" in page.get_data(as_text=True)
    with open_state(load_config(home).state_url) as state:
        users.disable_user(state, "admin")  # (not the last administrator now: admin2 is one)
    assert client.get(f"/archives/{target}").status_code == 302  # to the login page


def test_a_deleted_account_ends_its_session(home, wh, archives) -> None:
    target = next(iter(archives))
    client = _client(home, wh, "xuanwu")
    client.get("/search")
    with open_state(load_config(home).state_url) as state, state.transaction(write=True) as conn:
        conn.execute(t.users.delete().where(t.users.c.username == "xuanwu"))
    assert client.get(f"/archives/{target}").status_code == 302


def test_a_state_database_that_is_not_a_sqlite_file_is_asked_every_time() -> None:
    from repository.web.sessionusers import SessionUsers

    calls: list[int] = []

    def verify() -> str:
        calls.append(1)
        return "account"

    users_of = SessionUsers("postgresql+psycopg://hsar@localhost/state")
    assert [users_of.account("admin", verify) for _ in range(3)] == ["account"] * 3 and len(calls) == 3
