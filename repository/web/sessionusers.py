"""The signed-in accounts of web sessions, remembered per process while their row of ``users`` is unchanged.

Flask-Login asks for the session's account on every request (:func:`repository.web.context._load`), so that a
disabled account's session ends at its next request. Looking it up through the state database's engine (a
transaction, a select, an account built from the row) cost about a millisecond per page. The bearer-token
cache (:mod:`.tokencache`) keeps callers while SQLite's ``data_version`` stands still, but every archive page
writes a register line, so for pages that rule let nothing be remembered. Here the account is kept together
with the raw row it was built from, and every request reads that row again on a connection of this cache's
own (one indexed select, tens of microseconds): the remembered account is answered only while the row is the
same, column for column, so a disable, a role, division, language or password change, or a deleted account,
by any process, is seen at the next request. A state database other than a SQLite file (PostgreSQL) is asked
through its engine every time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from .tokencache import Watched, remember

T = TypeVar("T")

_ROW = "SELECT * FROM users WHERE username = ?"


class SessionUsers(Watched, Generic[T]):
    """Accounts of one state database, each valid while its ``users`` row is unchanged."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._entries: dict[str, tuple[tuple[Any, ...], T]] = {}

    def _row(self, username: str) -> tuple[Any, ...] | None:
        """The account's row as it is now (None: no such row, or the file cannot be read this way)."""
        return self._fetch(_ROW, (username,))

    def account(self, username: str, verify: Callable[[], T | None]) -> T | None:
        """The account signed in as ``username``: remembered while its row stands still, else ``verify()``."""
        row = self._row(username)
        if row is None:  # no row (the account is gone) or no way to watch it: ask the database
            return verify()
        with self._lock:
            found = self._entries.get(username)
        if found is not None and found[0] == row:
            return found[1]
        account = verify()  # read after the row: a change in between makes the next request verify again
        with self._lock:
            if account is None:
                self._entries.pop(username, None)
            else:
                remember(self._entries, username, (row, account))
        return account
