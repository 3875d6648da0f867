"""User accounts (用户): add, look up, list, disable, set a password, authenticate, sign in (behind the lockout).

Passwords are hashed with argon2id (argon2-cffi's ``PasswordHasher`` defaults, RFC 9106); a hash made with
older parameters is replaced on the next successful login (:func:`authenticate`). Every user has one role
(:class:`repository.access.Role`) and one division scope (GB/T 2260, or ``000000`` for the whole country).
Bad input raises :class:`~repository.errors.AccountError` with a message key of
``data/messages/accounts.json``; nothing here prints. Accounts are never deleted, only disabled: the access
register names them.

Every change to an account, and every sign-in, writes the security log (:mod:`.securitylog`), a change in its
own transaction: ``by`` names who made it (default :data:`~.securitylog.SYSTEM`).
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, Row, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..access import Principal, Role, valid_scope
from ..errors import AccountError
from ..state import tables as t
from ..state.db import State
from ..state.tables import utc
from . import lockout
from .securitylog import SYSTEM, Actor, Event, append, record

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
MIN_PASSWORD = 8
LANGS = ("zh", "en")
_hasher = PasswordHasher()


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    division: str
    active: bool
    lang: str
    created: datetime
    updated: datetime
    has_password: bool

    @property
    def principal(self) -> Principal:
        return Principal(self.username, self.role, self.division)


def _user(row: Row) -> User:
    return User(id=row.id, username=row.username, display_name=row.display_name, role=Role(row.role),
                division=row.division, active=bool(row.active), lang=row.lang, created=utc(row.created),
                updated=utc(row.updated), has_password=row.password_hash is not None)


def check_username(username: str) -> str:
    if not isinstance(username, str) or not USERNAME.fullmatch(username):
        raise AccountError(msgid="accounts.bad_username", code="ACC-USERNAME", username=username)
    return username


def check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccountError(msgid="accounts.bad_role", code="ACC-ROLE", role=role,
                           choices=", ".join(Role)) from None


def check_division(division: str, tree: Container[str] | None = None) -> str:
    """A well-formed scope; with ``tree`` (the repository's division tree) also one it knows."""
    if not isinstance(division, str) or not valid_scope(division):
        raise AccountError(msgid="accounts.bad_division", code="ACC-DIVISION", division=division)
    if tree is not None and division != "000000" and division not in tree:
        raise AccountError(msgid="accounts.unknown_division", code="ACC-DIVISION", division=division)
    return division


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(msgid="accounts.password_short", code="ACC-PASSWORD", minimum=MIN_PASSWORD)
    return password


def _row(conn: Connection, username: str) -> Row | None:
    return conn.execute(select(t.users).where(t.users.c.username == username)).first()


def add_user(state: State, username: str, role: str, division: str, *, display_name: str | None = None,
             password: str | None = None, lang: str = "zh", tree: Container[str] | None = None,
             by: Actor = SYSTEM) -> User:
    """A new active account (``password`` None: it can only use tokens until one is set)."""
    check_username(username)
    role = check_role(role)
    check_division(division, tree)
    if lang not in LANGS:
        raise AccountError(msgid="accounts.bad_lang", code="ACC-LANG", lang=lang)
    hashed = _hasher.hash(check_password(password)) if password is not None else None
    now = datetime.now(UTC)
    try:
        with state.transaction(write=True) as conn:
            conn.execute(insert(t.users).values(
                username=username, display_name=display_name or username, password_hash=hashed, role=role.value,
                division=division, active=True, lang=lang, created=now, updated=now))
            row = _row(conn, username)
            assert row is not None  # inserted in this transaction
            append(conn, by, Event.USER_ADD, subject=username, division=division,
                   detail={"role": role.value, "division": division, "password": hashed is not None})
            return _user(row)
    except IntegrityError:
        raise AccountError(msgid="accounts.exists", code="ACC-EXISTS", username=username) from None


def get_user(state: State, username: str) -> User | None:
    with state.transaction() as conn:
        row = _row(conn, username)
    return _user(row) if row is not None else None


def list_users(state: State) -> list[User]:
    with state.transaction() as conn:
        return [_user(r) for r in conn.execute(select(t.users).order_by(t.users.c.username))]


def _change(state: State, username: str, values: Mapping[str, object], *, keep_admin: bool = False,
            by: Actor = SYSTEM, event: Event | None = None, unlock: bool = False) -> User:
    """Update the account's row and, for an ``event``, write its security-log line (``detail``: each changed
    value of role and division as ``[before, after]``); ``keep_admin``: in the same transaction, refuse when it
    would leave no active administrator (:func:`_keep_an_admin`)."""
    with state.transaction(write=True) as conn:
        if keep_admin:
            _keep_an_admin(conn, username)
        before = conn.execute(select(t.users).where(t.users.c.username == username).with_for_update()).first()
        done = conn.execute(update(t.users).where(t.users.c.username == username)
                            .values(updated=datetime.now(UTC), **dict(values)))
        if done.rowcount == 0 or before is None:
            raise AccountError(msgid="accounts.unknown_user", code="ACC-UNKNOWN", username=username)
        row = _row(conn, username)
        assert row is not None  # updated in this transaction
        detail: dict[str, object] = {k: [getattr(before, k), getattr(row, k)] for k in ("role", "division")
                                     if getattr(before, k) != getattr(row, k)}
        if unlock and lockout.forget(conn, username):  # a sign-in lock lifted with the change
            detail["unlocked"] = True
        if event is not None:
            append(conn, by, event, subject=username, division=before.division, detail=detail)
            if row.division != before.division:  # moved: the division it went to sees the same line
                append(conn, by, event, subject=username, division=row.division, detail=detail)
        return _user(row)


def _active_admins(conn: Connection) -> set[str]:
    users = t.users
    return {r.username for r in conn.execute(select(users.c.username).where(
        users.c.role == Role.ADMIN.value, users.c.active.is_(True)))}


def _keep_an_admin(conn: Connection, username: str) -> None:
    """Refuse a change that would leave no active administrator (ACC-LAST-ADMIN): nobody could then manage
    accounts from the web, and the repository would be run from the shell alone."""
    if _active_admins(conn) == {username}:
        raise AccountError(msgid="accounts.last_admin", code="ACC-LAST-ADMIN", username=username)


def disable_user(state: State, username: str, *, by: Actor = SYSTEM) -> User:
    """The account can no longer log in nor use its tokens (it stays, for the register). The last active
    administrator is not disabled (ACC-LAST-ADMIN)."""
    return _change(state, username, {"active": False}, keep_admin=True, by=by, event=Event.USER_DISABLE)


def enable_user(state: State, username: str, *, by: Actor = SYSTEM) -> User:
    """A disabled account may log in again (its tokens too, unless revoked or expired)."""
    return _change(state, username, {"active": True}, by=by, event=Event.USER_ENABLE)


def set_scope(state: State, username: str, *, role: str | None = None, division: str | None = None,
              tree: Container[str] | None = None, by: Actor = SYSTEM) -> User:
    """Change an account's role and/or division scope (seen at its next request, in every process); the last
    active administrator keeps the role (ACC-LAST-ADMIN)."""
    values: dict[str, object] = {}
    if role is not None:
        values["role"] = check_role(role).value
    if division is not None:
        values["division"] = check_division(division, tree)
    if not values:
        return _existing(state, username)
    return _change(state, username, values, keep_admin=values.get("role", Role.ADMIN.value) != Role.ADMIN.value,
                   by=by, event=Event.USER_SET)


def _existing(state: State, username: str) -> User:
    found = get_user(state, username)
    if found is None:
        raise AccountError(msgid="accounts.unknown_user", code="ACC-UNKNOWN", username=username)
    return found


def set_password(state: State, username: str, password: str, *, by: Actor = SYSTEM) -> User:
    """A new password; a sign-in lock on the name is lifted with it (:mod:`.lockout`)."""
    return _change(state, username, {"password_hash": _hasher.hash(check_password(password))}, by=by,
                   event=Event.PASSWORD_SET, unlock=True)


def unlock(state: State, username: str, *, by: Actor = SYSTEM) -> bool:
    """Lift the sign-in lock on ``username`` and forget its failures (:mod:`.lockout`), with its line in the
    security log; whether there was anything to forget."""
    with state.transaction(write=True) as conn:
        was = lockout.forget(conn, username)
        found = _row(conn, username[:lockout.NAME_LENGTH])
        append(conn, by, Event.UNLOCK, subject=username, division=found.division if found is not None else "",
               detail={"was_locked": was})
    return was


def set_lang(state: State, username: str, lang: str) -> User:
    """The account's language for pages and messages (``zh`` or ``en``)."""
    if lang not in LANGS:
        raise AccountError(msgid="accounts.bad_lang", code="ACC-LANG", lang=lang)
    return _change(state, username, {"lang": lang})


def authenticate(state: State, username: str, password: str) -> User | None:
    """The active user whose password this is, else ``None`` (the same answer for an unknown user, a wrong
    password and a disabled account). A hash of older argon2 parameters is renewed."""
    return _authenticated(state, username, password)[0]


def _authenticated(state: State, username: str, password: str) -> tuple[User | None, Row | None, str]:
    """:func:`authenticate`, with the account's row (None: no such account) and why it was refused
    (``unknown``, ``disabled``, ``no-password``, ``password``; ``""`` when it was not): for the security log,
    never for the person signing in."""
    with state.transaction() as conn:
        row = _row(conn, username)
    if row is None:
        _hasher.hash(password)  # about as slow as a real check: no timing hint that the user does not exist
        return None, None, "unknown"
    if not row.active or row.password_hash is None:
        return None, row, "disabled" if not row.active else "no-password"
    try:
        _hasher.verify(row.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None, row, "password"
    if _hasher.check_needs_rehash(row.password_hash):
        return _change(state, username, {"password_hash": _hasher.hash(password)}), row, ""
    return _user(row), row, ""


@dataclass(frozen=True)
class SignIn:
    """What a sign-in came to: the account (None: refused), when the name's lock ends if it is locked, and
    whether this attempt locked it (``locked_now``: the moment to alert, once per lock; ``failures`` then
    the number of failures that locked it)."""

    user: User | None
    locked_until: datetime | None = None
    locked_now: bool = False
    failures: int = 0


def sign_in(state: State, username: str, password: str, *, failures: int, minutes: float,
            address: str = "") -> SignIn:
    """:func:`authenticate`, behind the name's lockout (:mod:`.lockout`): a locked name is refused without
    its password being checked; a failure is counted, and may lock the name; a success forgets its
    failures. Unknown names are counted like any other, so the answers never tell whether an account exists.
    Each attempt writes the security log, the client's ``address`` with it (a failure: why; the failure that
    locks the name: a second line, ``locked``)."""
    until = lockout.locked_until(state, username)
    if until is not None:
        found = get_user(state, username)
        record(state, Actor(username, found.role.value if found else "", address), Event.SIGN_IN_LOCKED,
               subject=username, division=found.division if found else "", detail={"until": until.isoformat()})
        return SignIn(None, until)
    user, row, reason = _authenticated(state, username, password)
    actor = Actor(username, row.role if row is not None else "", address)
    division = row.division if row is not None else ""
    if user is None:
        def logged(conn: Connection, until: datetime | None) -> None:  # with the count, in its transaction
            append(conn, actor, Event.SIGN_IN_FAILED, subject=username, division=division,
                   detail={"reason": reason})
            if until is not None:
                append(conn, actor, Event.LOCKED, subject=username, division=division,
                       detail={"until": until.isoformat(), "failures": failures})

        until = lockout.failed(state, username, failures=failures, minutes=minutes, also=logged)
        return SignIn(None, until, locked_now=until is not None, failures=failures if until is not None else 0)
    lockout.succeeded(state, username)
    record(state, actor, Event.SIGN_IN, subject=username, division=division)
    return SignIn(user)


def sign_out(state: State, user: User, address: str = "") -> None:
    """The account signed out (the web's sign-out button): its line in the security log."""
    record(state, Actor(user.username, user.role.value, address), Event.SIGN_OUT, subject=user.username,
           division=user.division)
