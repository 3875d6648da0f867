"""Accounts, tokens and the access register, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from repository.access import Principal, Role
from repository.accounts.register import (
    GENESIS,
    Broken,
    RegisterProblem,
    entry_hash,
    export_csv,
    list_uses,
    record_use,
    verify_register,
    verify_register_after,
)
from repository.accounts.tokens import create_token, list_tokens, revoke_token, verify_token
from repository.accounts.users import (
    add_user,
    authenticate,
    disable_user,
    get_user,
    list_users,
    set_lang,
    set_password,
)
from repository.errors import AccountError
from repository.state import tables as t

PW = "correct horse 1"


def test_add_authenticate_disable(state):
    user = add_user(state, "wang.li", "archivist", "320102", display_name="王丽", password=PW)
    assert (user.username, user.display_name, user.role, user.division, user.active, user.lang) == (
        "wang.li", "王丽", Role.ARCHIVIST, "320102", True, "zh")
    assert user.principal == Principal("wang.li", Role.ARCHIVIST, "320102")
    assert user.created.tzinfo is not None
    with state.transaction() as conn:
        stored = conn.scalar(select(t.users.c.password_hash))
    assert stored.startswith("$argon2id$") and PW not in stored
    assert authenticate(state, "wang.li", PW) == user
    assert authenticate(state, "wang.li", "wrong password") is None
    assert authenticate(state, "nobody", PW) is None
    assert disable_user(state, "wang.li").active is False
    assert authenticate(state, "wang.li", PW) is None


def test_set_password_and_list(state):
    add_user(state, "zhao", "researcher", "320100", password=PW, lang="en")
    add_user(state, "admin", "admin", "000000", password=PW)
    set_password(state, "zhao", "another secret")
    assert authenticate(state, "zhao", PW) is None
    assert authenticate(state, "zhao", "another secret").lang == "en"
    assert [(u.username, u.role) for u in list_users(state)] == [("admin", Role.ADMIN), ("zhao", Role.RESEARCHER)]


def test_the_language_is_stored_on_the_account(state):
    add_user(state, "zhou", "researcher", "320100", password=PW)
    assert set_lang(state, "zhou", "en").lang == "en"
    assert get_user(state, "zhou").lang == authenticate(state, "zhou", PW).lang == "en"
    with pytest.raises(AccountError) as bad:
        set_lang(state, "zhou", "fr")
    assert bad.value.code == "ACC-LANG" and get_user(state, "zhou").lang == "en"
    with pytest.raises(AccountError):
        set_lang(state, "nobody", "zh")


def test_an_old_hash_is_renewed_on_login(state):
    add_user(state, "li", "auditor", "320102", password=PW)
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PW)
    with state.transaction(write=True) as conn:
        conn.execute(update(t.users).values(password_hash=weak))
    assert authenticate(state, "li", PW) is not None
    with state.transaction() as conn:
        renewed = conn.scalar(select(t.users.c.password_hash))
    assert renewed != weak and not PasswordHasher().check_needs_rehash(renewed)


@pytest.mark.parametrize(("kwargs", "msgid"), [
    ({"username": "Wang Li"}, "accounts.bad_username"),
    ({"username": "x"}, "accounts.bad_username"),
    ({"username": "../etc"}, "accounts.bad_username"),
    ({"role": "reader"}, "accounts.bad_role"),
    ({"division": "32010"}, "accounts.bad_division"),
    ({"division": "320102000"}, "accounts.bad_division"),
    ({"division": "320199"}, "accounts.unknown_division"),
    ({"password": "short"}, "accounts.password_short"),
    ({"lang": "fr"}, "accounts.bad_lang"),
])
def test_bad_input_is_refused_with_a_coded_error(state, kwargs, msgid):
    args = {"username": "good", "role": "archivist", "division": "320102", "password": PW} | kwargs
    username, role, division = args.pop("username"), args.pop("role"), args.pop("division")
    with pytest.raises(AccountError) as caught:
        add_user(state, username, role, division, tree={"320100", "320102"}, **args)
    assert caught.value.msgid == msgid and caught.value.code.startswith("ACC-")
    assert caught.value.render("zh") != caught.value.render("en")
    assert list_users(state) == []


def test_a_username_is_unique_and_unknown_users_are_errors(state):
    add_user(state, "wang", "archivist", "320102")
    with pytest.raises(AccountError, match="already exists"):
        add_user(state, "wang", "auditor", "320102")
    for call in (lambda: disable_user(state, "nobody"), lambda: set_password(state, "nobody", PW),
                 lambda: create_token(state, "nobody")):
        with pytest.raises(AccountError) as caught:
            call()
        assert caught.value.msgid == "accounts.unknown_user"
    assert get_user(state, "nobody") is None


def test_tokens_are_stored_as_hashes_and_can_be_revoked(state):
    add_user(state, "robot", "archivist", "320102")  # no password: tokens only
    assert authenticate(state, "robot", "") is None
    token, plaintext = create_token(state, "robot", name="nightly ingest")
    assert plaintext.startswith("hsar_") and len(plaintext) > 40
    with state.transaction() as conn:
        assert plaintext not in str(conn.execute(select(t.tokens)).all())
    assert verify_token(state, plaintext).username == "robot"
    assert list_tokens(state, "robot")[0].last_used is not None
    assert verify_token(state, plaintext + "x") is None and verify_token(state, "nonsense") is None
    assert revoke_token(state, token.id).active is False
    assert verify_token(state, plaintext) is None
    _, second = create_token(state, "robot")
    disable_user(state, "robot")
    assert verify_token(state, second) is None  # a disabled user's tokens stop working
    with pytest.raises(AccountError):
        revoke_token(state, 999)


RESEARCHER = Principal("zhao", Role.RESEARCHER, "320102")
ARCHIVIST = Principal("wang", Role.ARCHIVIST, "320102")
T0 = datetime(2024, 5, 1, 8, 30, 15, 123456, tzinfo=UTC)


def _fill(state) -> list:
    return [
        record_use(state, RESEARCHER, "view", "hh-1", "课题研究", item="1", masked=True, at=T0),
        record_use(state, ARCHIVIST, "download", "hh-1", "年度复核", item="data/a.pdf", at=T0 + timedelta(days=1)),
        record_use(state, RESEARCHER, "download", "un-2", "课题研究", masked=True, at=T0 + timedelta(days=2)),
    ]


def test_the_register_chains_and_filters(state):
    entries = _fill(state)
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == GENESIS and entries[1].prev_hash == entries[0].hash
    assert list_uses(state) == entries
    assert list_uses(state, username="zhao") == [entries[0], entries[2]]
    assert list_uses(state, archive_id="hh-1", action="download") == [entries[1]]
    assert list_uses(state, since=T0 + timedelta(hours=1), until=T0 + timedelta(days=2)) == [entries[1]]
    assert list_uses(state, limit=1, offset=1) == [entries[1]]
    check = verify_register(state)
    assert check.ok and (check.checked, check.head_seq, check.head_hash) == (3, 3, entries[2].hash)
    assert verify_register(state, expected_head=(2, entries[1].hash)).ok


def test_the_register_detects_changes_and_deletions(state):
    entries = _fill(state)
    with state.transaction(write=True) as conn:
        conn.execute(update(t.access_register).where(t.access_register.c.seq == 1).values(purpose="其他"))
    assert verify_register(state).problems == (RegisterProblem(1, Broken.ALTERED),)
    forged = entry_hash(entries[0].to_dict() | {"at": entries[0].at, "purpose": "其他"})
    with state.transaction(write=True) as conn:  # rehashed to hide the change: the next link breaks
        conn.execute(update(t.access_register).where(t.access_register.c.seq == 1).values(hash=forged))
    assert verify_register(state).problems == (RegisterProblem(2, Broken.LINK),)
    with state.transaction(write=True) as conn:
        conn.execute(t.access_register.delete().where(t.access_register.c.seq >= 2))
    assert verify_register(state, expected_head=(3, entries[2].hash)).problems == (RegisterProblem(3, Broken.TRUNCATED),)


def test_the_registers_problems_have_codes_and_texts_in_both_languages(state):
    _fill(state)
    with state.transaction(write=True) as conn:  # entry 2 deleted: 3 follows 1
        conn.execute(t.access_register.delete().where(t.access_register.c.seq == 2))
    gap, link = verify_register(state).problems
    assert (gap.seq, gap.code, dict(gap.params)) == (3, Broken.GAP, {"first": 2, "last": 2})
    assert gap.render("zh") == "第 3 条之前缺少第 2…2 条记录"
    assert gap.render("en") == "entries 2…2 are missing before entry 3"
    assert link.code == "REG-LINK" and "prev_hash" in link.render("en") and "上一条" in link.render("zh")
    assert gap.to_dict("en") == {"seq": 3, "code": "REG-GAP", "params": {"first": 2, "last": 2},
                                 "message": "entries 2…2 are missing before entry 3"}


def test_the_register_is_verified_again_from_where_the_last_look_ended(state):
    entries = _fill(state)
    first = verify_register(state)
    more = record_use(state, ARCHIVIST, "view", "hh-9", "年度复核", at=T0 + timedelta(days=3))
    again = verify_register_after(state, first)
    assert again == verify_register(state) and (again.checked, again.head_seq, again.head_hash) == (4, 4, more.hash)
    assert verify_register_after(state, again) == again  # nothing new
    assert verify_register_after(state, None) == again  # no earlier look: the whole chain
    # an entry appended with a broken link is found among the new ones
    with state.transaction(write=True) as conn:
        conn.execute(update(t.access_register).where(t.access_register.c.seq == 4).values(prev_hash="0" * 64))
    assert verify_register_after(state, first).problems == (RegisterProblem(4, Broken.LINK),
                                                            RegisterProblem(4, Broken.ALTERED))
    # the earlier head itself changed: the whole chain is read again, and the change found
    with state.transaction(write=True) as conn:
        conn.execute(update(t.access_register).where(t.access_register.c.seq == 3).values(purpose="其他"))
        conn.execute(update(t.access_register).where(t.access_register.c.seq == 3).values(
            hash=entry_hash(entries[2].to_dict() | {"at": entries[2].at, "purpose": "其他"})))
    assert RegisterProblem(4, Broken.LINK) in verify_register_after(state, first).problems
    assert verify_register_after(state, first).checked == 4


def test_register_input_is_checked_and_exported_as_csv(state):
    with pytest.raises(AccountError) as caught:
        record_use(state, RESEARCHER, "view", "hh-1", "  ")
    assert caught.value.msgid == "accounts.no_purpose"
    with pytest.raises(AccountError) as caught:
        record_use(state, RESEARCHER, "delete", "hh-1", "x")
    assert caught.value.msgid == "accounts.bad_action"
    entries = _fill(state)
    lines = export_csv(entries).splitlines()
    assert lines[0] == "seq,at,username,role,action,archive_id,item,purpose,masked,prev_hash,hash"
    assert lines[1].startswith("1,2024-05-01T08:30:15.123456+00:00,zhao,researcher,view,hh-1,1,课题研究,True,")
    assert len(lines) == 4
