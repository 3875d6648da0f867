"""The access register's append on a SQLite file, on a pooled DB-API connection of the state database.

Every view of an unmasked archive page appends a register line. Through SQLAlchemy the append's write
transaction (a connection from the pool, ``BEGIN IMMEDIATE`` by the begin event, the head read, the insert,
the commit) cost about 0.8 ms of CPU per page at 200,000 archives, the commit's fsync included; the same
statements on the pooled connection itself cost about 0.5 ms. The insert is SQLAlchemy's own statement
compiled once, its values passed through the bind processors SQLAlchemy applies (the time as SQLite's text,
the flag as 0 or 1), so the rows are the ones it wrote (a test reads them back both ways). Errors are those of
the SQLAlchemy path: a taken ``seq`` is :class:`sqlalchemy.exc.IntegrityError` (chained again by the caller),
anything else :class:`repository.errors.StateError`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from ..errors import StateError
from ..safeurl import safe_url
from ..sqlengine import sqlite_file
from ..state import tables as t
from ..state.db import State

COLUMNS = ("seq", "at", "username", "role", "action", "archive_id", "item", "purpose", "masked", "prev_hash", "hash")
_HEAD = "SELECT seq, hash FROM access_register ORDER BY seq DESC LIMIT 1"
_compiled: dict[int, tuple[str, list[tuple[str, Callable[[Any], Any] | None]]]] = {}


def usable(state: State) -> bool:
    """Whether ``state`` is a SQLite file (in-memory SQLite shares one connection: written through SQLAlchemy)."""
    return state.dialect == "sqlite" and sqlite_file(state.url) is not None


def _insert(state: State) -> tuple[str, list[tuple[str, Callable[[Any], Any] | None]]]:
    found = _compiled.get(id(state.engine.dialect))
    if found is None:
        compiled: Any = insert(t.access_register).compile(dialect=state.engine.dialect, column_keys=list(COLUMNS))
        processors = compiled._bind_processors  # noqa: SLF001 - SQLAlchemy's own conversions of the values
        found = _compiled[id(state.engine.dialect)] = (
            compiled.string, [(name, processors.get(name)) for name in compiled.positiontup])
    return found


def append(state: State, chain: Callable[[tuple[int, str] | None], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Read the head, let ``chain`` make the rows on it, insert them, commit; returns the rows."""
    sql, params = _insert(state)
    pooled = state.engine.raw_connection()
    try:
        raw: Any = pooled.driver_connection
        try:
            raw.execute("BEGIN IMMEDIATE")
            try:
                head = raw.execute(_HEAD).fetchone()
                rows = chain(tuple(head) if head else None)
                raw.executemany(sql, [[row[k] if convert is None else convert(row[k]) for k, convert in params]
                                      for row in rows])
                raw.execute("COMMIT")
            except BaseException:
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
                raise
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(sql, None, exc) from None
        except sqlite3.Error as exc:
            raise StateError(msgid="state.unreadable", url=safe_url(state.url), detail=str(exc)) from None
    finally:
        pooled.close()
    return rows
