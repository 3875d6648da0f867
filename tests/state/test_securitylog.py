"""The security log (安全审计日志) on SQLite and PostgreSQL: each sign-in and account change writes its line in
the change's own transaction (a refused change writes none), with who, from where, the account concerned, its
division and what changed; the lines form one hash chain that finds an altered, removed or cut entry; readers
below the national scope list the lines of their accounts only."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import delete, update

from repository.accounts import securitylog, users
from repository.accounts.securitylog import Actor, Broken, Event, list_events, verify_log
from repository.accounts.tokens import create_token, revoke_token
from repository.errors import AccountError
from repository.state import tables as t
from repository.state.db import State

ADMIN = Actor("boss", "admin", "10.0.0.9")
PASSWORD = "correct horse battery staple"


def _sign_in(state: State, name: str, password: str, address: str = "10.1.1.1") -> users.SignIn:
    return users.sign_in(state, name, password, failures=3, minutes=30, address=address)


def _lines(state: State, **where: object) -> list[tuple[str, str, str, str, dict]]:
    return [(e.event, e.username, e.subject, e.division, e.detail) for e in list_events(state, **where)]


def test_account_changes_write_their_line_with_who_and_what(state: State) -> None:
    users.add_user(state, "boss", "admin", "000000", password=PASSWORD)  # by the system (a fixture, a script)
    users.add_user(state, "wang", "researcher", "320102", password=PASSWORD, by=ADMIN)
    users.set_scope(state, "wang", role="archivist", division="320105", by=ADMIN)
    users.disable_user(state, "wang", by=ADMIN)
    users.enable_user(state, "wang", by=ADMIN)
    users.set_password(state, "wang", "another long password", by=ADMIN)
    made, _ = create_token(state, "wang", "batch", by=ADMIN)
    revoke_token(state, made.id, by=ADMIN)
    revoke_token(state, made.id, by=ADMIN)  # revoked already: nothing changes, nothing logged
    users.set_lang(state, "wang", "en")  # not a security event
    assert _lines(state) == [
        ("user-add", "", "boss", "000000", {"role": "admin", "division": "000000", "password": True}),
        ("user-add", "boss", "wang", "320102", {"role": "researcher", "division": "320102", "password": True}),
        ("user-set", "boss", "wang", "320102", {"role": ["researcher", "archivist"], "division": ["320102", "320105"]}),
        ("user-set", "boss", "wang", "320105", {"role": ["researcher", "archivist"], "division": ["320102", "320105"]}),
        ("user-disable", "boss", "wang", "320105", {}),
        ("user-enable", "boss", "wang", "320105", {}),
        ("password-set", "boss", "wang", "320105", {}),
        ("token-create", "boss", "wang", "320105", {"token": made.id, "name": "batch"}),
        ("token-revoke", "boss", "wang", "320105", {"token": made.id, "name": "batch"}),
    ]
    entries = list_events(state)
    assert entries[0].role == "system" and entries[1].role == "admin" and entries[1].address == "10.0.0.9"
    assert verify_log(state).ok and verify_log(state).checked == 9


def test_a_refused_change_writes_nothing(state: State) -> None:
    users.add_user(state, "boss", "admin", "000000", password=PASSWORD)
    before = len(list_events(state))
    with pytest.raises(AccountError):
        users.disable_user(state, "boss", by=ADMIN)  # the last administrator
    with pytest.raises(AccountError):
        users.set_scope(state, "nobody", role="auditor", by=ADMIN)
    with pytest.raises(AccountError):
        users.add_user(state, "boss", "auditor", "320102", by=ADMIN)  # exists
    assert len(list_events(state)) == before


def test_sign_ins_are_logged_with_their_outcome_and_address(state: State) -> None:
    users.add_user(state, "wang", "archivist", "320102", password=PASSWORD)
    users.add_user(state, "li", "auditor", "320105", password=PASSWORD)
    users.disable_user(state, "li")
    assert _sign_in(state, "wang", PASSWORD, "10.2.2.2").user is not None
    assert _sign_in(state, "wang", "wrong").user is None
    assert _sign_in(state, "ghost", "wrong").user is None
    assert _sign_in(state, "li", PASSWORD).user is None
    assert _sign_in(state, "wang", "wrong").user is None
    locked = _sign_in(state, "wang", "wrong")  # the third failure locks the name
    assert locked.locked_until is not None
    assert _sign_in(state, "wang", PASSWORD).user is None  # locked: refused, the password not checked
    assert users.unlock(state, "wang", by=ADMIN) is True
    users.sign_out(state, users.get_user(state, "wang"), "10.2.2.2")
    found = [(e.event, e.username, e.role, e.division, e.address, e.detail.get("reason"))
             for e in list_events(state)[3:]]
    assert found == [
        ("sign-in", "wang", "archivist", "320102", "10.2.2.2", None),
        ("sign-in-failed", "wang", "archivist", "320102", "10.1.1.1", "password"),
        ("sign-in-failed", "ghost", "", "", "10.1.1.1", "unknown"),
        ("sign-in-failed", "li", "auditor", "320105", "10.1.1.1", "disabled"),
        ("sign-in-failed", "wang", "archivist", "320102", "10.1.1.1", "password"),
        ("sign-in-failed", "wang", "archivist", "320102", "10.1.1.1", "password"),
        ("locked", "wang", "archivist", "320102", "10.1.1.1", None),
        ("sign-in-locked", "wang", "archivist", "320102", "10.1.1.1", None),
        ("unlock", "boss", "admin", "320102", "10.0.0.9", None),
        ("sign-out", "wang", "archivist", "320102", "10.2.2.2", None),
    ]
    assert list_events(state, event="locked")[0].detail["until"] == locked.locked_until.isoformat()
    assert list_events(state, event="unlock")[0].detail == {"was_locked": True}


def test_readers_below_the_national_scope_list_their_accounts_lines(state: State) -> None:
    users.add_user(state, "wang", "archivist", "320102", password=PASSWORD)
    users.add_user(state, "zhao", "archivist", "320102001", password=PASSWORD)  # a street of 玄武区
    users.add_user(state, "li", "auditor", "320105", password=PASSWORD)
    _sign_in(state, "ghost", "x")
    assert {e.subject for e in list_events(state, prefixes=["320102"])} == {"wang", "zhao"}
    assert {e.subject for e in list_events(state, prefixes=["3201"])} == {"wang", "zhao", "li"}
    assert {e.subject for e in list_events(state, prefixes=[""])} == {"wang", "zhao", "li", "ghost"}
    assert list_events(state, prefixes=[]) == []  # a malformed scope sees nothing
    assert [e.event for e in list_events(state, username="ghost")] == ["sign-in-failed"]
    assert len(list_events(state, limit=2, offset=1)) == 2


def test_the_chain_finds_an_altered_a_removed_and_a_cut_entry(state: State) -> None:
    for n in range(5):
        users.add_user(state, f"user{n}", "researcher", "320102", password=PASSWORD)
    head = list_events(state)[-1]
    assert verify_log(state, expected_head=(head.seq, head.hash)).ok
    with state.transaction(write=True) as conn:
        conn.execute(update(t.security_log).where(t.security_log.c.seq == 2).values(address="1.2.3.4"))
    assert [(p.seq, p.code) for p in verify_log(state).problems] == [(2, Broken.ALTERED)]
    with state.transaction(write=True) as conn:
        conn.execute(delete(t.security_log).where(t.security_log.c.seq == 4))
    codes = {(p.seq, p.code) for p in verify_log(state).problems}
    assert {(5, Broken.GAP), (5, Broken.LINK)} <= codes
    with state.transaction(write=True) as conn:
        conn.execute(delete(t.security_log).where(t.security_log.c.seq == 5))
    assert (5, Broken.TRUNCATED) in {(p.seq, p.code) for p in verify_log(state, expected_head=(head.seq, head.hash)).problems}
    assert verify_log(state).problems[0].render("en").startswith("entry 2: its hash does not match")


def test_lines_written_at_the_same_time_form_one_chain(state: State) -> None:
    users.add_user(state, "wang", "archivist", "320102", password=PASSWORD)
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda n: securitylog.record(state, Actor("wang", "archivist", f"10.0.0.{n}"), Event.SIGN_OUT,
                                                   subject="wang", division="320102"), range(24)))
    check = verify_log(state)
    assert check.ok and check.checked == check.head_seq == 25


def test_a_failure_and_its_lines_are_one_transaction_and_a_new_password_logs_the_lifted_lock(
        state: State, monkeypatch: pytest.MonkeyPatch) -> None:
    from repository.accounts import lockout

    users.add_user(state, "wang", "archivist", "320102", password=PASSWORD)

    def broken(*_args: object, **_kw: object) -> None:
        raise RuntimeError("the log cannot be written")

    monkeypatch.setattr(users, "append", broken)
    with pytest.raises(RuntimeError):
        _sign_in(state, "wang", "wrong")
    assert lockout.locks(state) == {} and not list_events(state, event="sign-in-failed")
    with state.transaction() as conn:  # the failure was not counted either
        assert conn.execute(t.login_failures.select()).first() is None
    monkeypatch.undo()
    for _ in range(3):
        _sign_in(state, "wang", "wrong")
    assert lockout.locks(state)
    users.set_password(state, "wang", "another long password", by=ADMIN)
    assert lockout.locks(state) == {} and list_events(state, event="password-set")[-1].detail == {"unlocked": True}
    users.set_password(state, "wang", "a third long password", by=ADMIN)
    assert list_events(state, event="password-set")[-1].detail == {}


def test_the_newest_lines_are_read_from_the_end(state: State) -> None:
    for n in range(6):
        users.add_user(state, f"user{n}", "researcher", "320102", password=PASSWORD)
    assert [e.subject for e in list_events(state, newest=2)] == ["user4", "user5"]  # oldest first
    assert [e.subject for e in list_events(state, newest=2, username="user1")] == ["user1"]
