"""Sign-in lockout (登录失败处理): an account name that fails to sign in ``failures`` times within ``minutes``
minutes is locked for ``minutes`` minutes, from every address, on every server process and machine alike,
since the count is kept in the state database (table ``login_failures``), not in one process's memory.

While a name is locked its password is not even checked: guessing stops, the right password included.
Every name tried is counted, held by an account or not, so a lock (and its message) never tells whether an
account exists. A success forgets the name's failures; an administrator unlocks a name (the users page,
``hsar user unlock``), and setting a new password unlocks it too. The failure that locks a name is the one
and only one that says so (:func:`failed` returns the lock's end): the security log's ``locked`` line and the
alert (:mod:`repository.jobs.lockalert`) are written once per lock. The settings are ``web.login_failures`` and
``web.login_lock_minutes`` (:mod:`repository.config`); the per-address throttle of the sign-in form is the web
application's (Flask-Limiter).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..state import tables as t
from ..state.db import State
from ..state.tables import utc

#: the longest name kept (the sign-in form's field is cut to this)
NAME_LENGTH = 100


def locked_until(state: State, name: str, now: datetime | None = None) -> datetime | None:
    """When the lock on ``name`` ends, if it is locked at ``now`` (default: now)."""
    now = now or datetime.now(UTC)
    with state.transaction() as conn:
        until = conn.execute(select(t.login_failures.c.locked_until)
                             .where(t.login_failures.c.name == name[:NAME_LENGTH])).scalar()
    if until is None:
        return None
    until = utc(until)
    return until if until > now else None


def failed(state: State, name: str, *, failures: int, minutes: float, now: datetime | None = None,
           also: Callable[[Connection, datetime | None], None] | None = None) -> datetime | None:
    """Count a failed sign-in of ``name``; when it is the ``failures``-th within ``minutes`` minutes, lock the
    name for ``minutes`` minutes and return when the lock ends (None: not locked by it). A name already locked
    (a failure that raced the one locking it past the sign-in's check) is counted but not locked again: its
    lock keeps its end, and only the failure that made it returns it, so each lock is logged and alerted once.
    Failures older than the window, and locks that ended, are forgotten (the table keeps only what may still
    count). ``also`` is called in the same write transaction with the end of the lock this failure made, or
    None (the security log's lines of the failure)."""
    now = now or datetime.now(UTC)
    window = timedelta(minutes=minutes)
    name = name[:NAME_LENGTH]
    for attempt in (1, 2):  # two first failures of one name at once: the second insert finds the first
        try:
            with state.transaction(write=True) as conn:
                conn.execute(delete(t.login_failures).where(
                    t.login_failures.c.first_failed < now - window,
                    or_(t.login_failures.c.locked_until.is_(None), t.login_failures.c.locked_until < now)))
                row = conn.execute(select(t.login_failures).where(t.login_failures.c.name == name)
                                   .with_for_update()).first()  # PostgreSQL: two failures at once both count
                ended = row is not None and row.locked_until is not None and utc(row.locked_until) <= now
                locked = row is not None and row.locked_until is not None and not ended
                if row is None or ended:
                    count, first = 1, now
                else:
                    count, first = row.failures + 1, utc(row.first_failed)
                until = now + window if count >= failures and not locked else None
                kept = utc(row.locked_until) if row is not None and locked else None
                values = {"failures": count, "first_failed": first, "locked_until": kept or until}
                if row is None:
                    conn.execute(insert(t.login_failures).values(name=name, **values))
                else:
                    conn.execute(update(t.login_failures).where(t.login_failures.c.name == name).values(**values))
                if also is not None:
                    also(conn, until)
            return until
        except IntegrityError:
            if attempt == 2:
                raise
    return None  # pragma: no cover - the loop returns or raises


def succeeded(state: State, name: str) -> None:
    """A sign-in of ``name`` succeeded: its failures are forgotten (written only when there are some)."""
    name = name[:NAME_LENGTH]
    with state.transaction() as conn:
        found = conn.execute(select(t.login_failures.c.name).where(t.login_failures.c.name == name)).first()
    if found is not None:
        unlock(state, name)


def unlock(state: State, name: str) -> bool:
    """Forget ``name``'s failures and lift its lock; whether there was anything to forget. (An administrator's
    unlock is :func:`repository.accounts.users.unlock`, which also writes the security log.)"""
    with state.transaction(write=True) as conn:
        return forget(conn, name)


def forget(conn: Connection, name: str) -> bool:
    """:func:`unlock` in the caller's write transaction."""
    return conn.execute(delete(t.login_failures).where(t.login_failures.c.name == name[:NAME_LENGTH])).rowcount > 0


def locks(state: State, now: datetime | None = None) -> dict[str, datetime]:
    """The names locked at ``now``, each with the end of its lock."""
    now = now or datetime.now(UTC)
    with state.transaction() as conn:
        rows = conn.execute(select(t.login_failures.c.name, t.login_failures.c.locked_until)
                            .where(t.login_failures.c.locked_until > now)).all()
    return {row.name: utc(row.locked_until) for row in rows}
