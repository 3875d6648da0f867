"""Bearer tokens (访问令牌) for machines: made once, stored only as a SHA-256 hash, revocable.

A token is ``hsar_`` and 43 URL-safe characters (256 random bits from :mod:`secrets`); the plaintext is
returned once by :func:`create_token` and never stored. SHA-256 (not argon2) is enough for a random 256-bit
secret and lets :func:`verify_token` find the token by its hash in one indexed look-up. A token works while it
is not revoked and its user is active; its use records ``last_used``, at most once a minute
(:data:`TOUCH_EVERY`), so a busy client does not make every request a database write.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Row, bindparam, insert, select, update

from ..errors import AccountError
from ..state import tables as t
from ..state.db import State
from .securitylog import SYSTEM, Actor, Event, append
from .users import User, _user, get_user, utc

PREFIX = "hsar_"
#: ``last_used`` is written when it is older than this (or empty): a use is recorded to the minute
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Token:
    id: int
    username: str
    name: str
    created: datetime
    last_used: datetime | None
    revoked: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked is None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _token(row: Row) -> Token:
    return Token(id=row.id, username=row.username, name=row.name, created=utc(row.created),
                 last_used=utc(row.last_used) if row.last_used else None,
                 revoked=utc(row.revoked) if row.revoked else None)


_COLUMNS = (t.tokens.c.id, t.users.c.username, t.tokens.c.name, t.tokens.c.created, t.tokens.c.last_used,
            t.tokens.c.revoked)


def create_token(state: State, username: str, name: str = "default", *, by: Actor = SYSTEM) -> tuple[Token, str]:
    """A new token for ``username``: its record and the plaintext (shown once, stored nowhere)."""
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 64:
        raise AccountError(msgid="accounts.bad_token_name", code="ACC-TOKEN")
    user = get_user(state, username)
    if user is None:
        raise AccountError(msgid="accounts.unknown_user", code="ACC-UNKNOWN", username=username)
    plaintext = PREFIX + secrets.token_urlsafe(32)
    with state.transaction(write=True) as conn:
        key = conn.execute(insert(t.tokens).values(
            token_hash=token_hash(plaintext), user_id=user.id, name=name.strip(),
            created=datetime.now(UTC))).inserted_primary_key
        assert key is not None  # a single-row insert
        new_id = key[0]
        row = conn.execute(select(*_COLUMNS).join(t.users).where(t.tokens.c.id == new_id)).one()
        append(conn, by, Event.TOKEN_CREATE, subject=username, division=user.division,
               detail={"token": new_id, "name": name.strip()})
    return _token(row), plaintext


_VERIFY = (select(t.tokens.c.id.label("token_id"), t.tokens.c.last_used, t.users).join(t.users)
           .where(t.tokens.c.token_hash == bindparam("hash"), t.tokens.c.revoked.is_(None)))


def verify_token(state: State, token: str) -> User | None:
    """The active user a live token belongs to, else ``None``. Its ``last_used`` is recorded when older than
    :data:`TOUCH_EVERY` (a read-only look-up otherwise)."""
    if not isinstance(token, str) or not token.startswith(PREFIX):
        return None
    with state.transaction() as conn:
        row = conn.execute(_VERIFY, {"hash": token_hash(token)}).first()
    if row is None or not row.active:
        return None
    now = datetime.now(UTC)
    if row.last_used is None or now - utc(row.last_used) >= TOUCH_EVERY:
        with state.transaction(write=True) as conn:
            conn.execute(update(t.tokens).where(t.tokens.c.id == row.token_id).values(last_used=now))
    return _user(row)


def list_tokens(state: State, username: str | None = None) -> list[Token]:
    query = select(*_COLUMNS).join(t.users).order_by(t.tokens.c.id)
    if username is not None:
        query = query.where(t.users.c.username == username)
    with state.transaction() as conn:
        return [_token(r) for r in conn.execute(query)]


def revoke_token(state: State, token_id: int, *, by: Actor = SYSTEM) -> Token:
    """The token no longer signs anyone in (revoking a revoked one changes nothing and logs nothing)."""
    with state.transaction(write=True) as conn:
        done = conn.execute(update(t.tokens).where(t.tokens.c.id == token_id, t.tokens.c.revoked.is_(None))
                            .values(revoked=datetime.now(UTC)))
        row = conn.execute(select(*_COLUMNS, t.users.c.division).join(t.users).where(t.tokens.c.id == token_id)).first()
        if row is not None and done.rowcount:
            append(conn, by, Event.TOKEN_REVOKE, subject=row.username, division=row.division,
                   detail={"token": token_id, "name": row.name})
    if row is None:
        raise AccountError(msgid="accounts.unknown_token", code="ACC-TOKEN", token_id=token_id)
    return _token(row)
