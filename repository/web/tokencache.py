"""Bearer tokens already verified, remembered for a few seconds per process, while the accounts stand still.

Every API request shows its token; checking it is a look-up in the state database (a transaction, a join of
tokens and users), a fair share of a short search. Here a verified token's caller is kept for at most
:data:`TTL` seconds, under the token's SHA-256 (never the token itself), and only while the state database has
not changed: SQLite's ``PRAGMA data_version`` (asked on a connection of this cache's own) moves whenever any
other connection, of this process or another (``hsar user disable``, ``hsar user token --revoke``, the users
page), commits. So a disabled account or a revoked token is refused at its next request, and a token is never
answered for another one's user. A state database other than a SQLite file (PostgreSQL) is asked every time.
The web's signed-in accounts are kept apart, by their own row (:mod:`.sessionusers`): every archive page
writes a register line, which moves ``data_version``.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from .. import sqlengine

T = TypeVar("T")
V = TypeVar("V")

#: seconds a verified token is trusted without asking the database (its last use is recorded to the minute)
TTL = 10.0
#: entries a cache here keeps at most (tokens: a hash and a caller; sessions: a row and an account)
ENTRIES = 1024


def sqlite_file(url: str) -> Path | None:
    """The existing file of a SQLite state database URL (:func:`repository.sqlengine.sqlite_file`); None for
    any other database, an in-memory one, or a URL that cannot be read."""
    try:
        path = sqlengine.sqlite_file(url)
    except Exception:  # noqa: BLE001 - not a URL we can watch: no cache
        return None
    return path if path is not None and path.is_file() else None


class Watched:
    """A connection of a cache's own to a SQLite state database file, for the one cheap question the cache
    asks on every request; closed with :meth:`close`."""

    def __init__(self, url: str) -> None:
        self.path = sqlite_file(url)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _fetch(self, sql: str, params: tuple[object, ...] = ()) -> tuple[Any, ...] | None:
        """The first row of ``sql`` (None: no row, not a SQLite file, or it cannot be read this way)."""
        if self.path is None:
            return None
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                found = self._conn.execute(sql, params).fetchone()
            except sqlite3.Error:
                return None
        return tuple(found) if found is not None else None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def remember(entries: dict[str, V], key: str, value: V) -> None:
    """Keep ``value`` under ``key``, forgetting all when :data:`ENTRIES` are kept (caller holds the lock)."""
    if len(entries) >= ENTRIES:
        entries.clear()
    entries[key] = value


class TokenCache(Watched, Generic[T]):
    """Callers of verified tokens of one state database, valid while its ``data_version`` holds."""

    def __init__(self, url: str, ttl: float = TTL) -> None:
        super().__init__(url)
        self.ttl = ttl
        self._version: int | None = None
        self._entries: dict[str, tuple[float, T]] = {}

    def _data_version(self) -> int | None:
        row = self._fetch("PRAGMA data_version")
        return None if row is None else int(row[0])

    def caller(self, token: str, verify: Callable[[], T | None]) -> T | None:
        """The caller of ``token``: remembered, or ``verify()`` (remembered when it is not None)."""
        version = self._data_version()
        if version is None:
            return verify()
        key = hashlib.sha256(token.encode("utf-8")).hexdigest()
        now = time.monotonic()
        with self._lock:
            if version != self._version:
                self._entries.clear()
                self._version = version
            found = self._entries.get(key)
            if found is not None and found[0] > now:
                return found[1]
        caller = verify()
        if caller is None:
            return None
        after = self._data_version()
        with self._lock:
            # remembered only when nothing was committed while it was verified (a disable meanwhile, or the
            # token's own use being recorded: the next request verifies again)
            if after == version == self._version:
                remember(self._entries, key, (now + self.ttl, caller))
        return caller
