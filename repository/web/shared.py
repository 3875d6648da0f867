"""What one application shares between its requests and threads: the home's :class:`Repository` (its
catalogue engine, search engine and store handles, thread-safe) and the state database (one SQLAlchemy engine
and connection pool), each made once per application instead of once per request.

Opening them per request cost more than the search itself (a new engine per request: settings re-read, the
index re-opened, every SQL statement compiled afresh; see docs/BENCHMARKS.md, "Web"). A shared Repository
still sees what other processes write: the catalogue and state are databases read afresh by every query, and
the search engines pick up other processes' commits; when ``hsar reindex`` replaces the index folder (a new
folder at the same path), :func:`repository` notices within :data:`CHECK_SECONDS` and opens a new Repository.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask

from ..config import Config
from ..home import Repository
from ..state.db import State, open_state
from .sessionusers import SessionUsers
from .tokencache import TokenCache

H = TypeVar("H")

#: how often (seconds) the shared Repository checks whether its index folder was replaced (by a reindex)
CHECK_SECONDS = 2.0
_GUARD = threading.Lock()


class Shared:
    """The handles of one application (``app.extensions["hsar.shared"]``)."""

    def __init__(self, home: str) -> None:
        self.home = home
        self._repo: Repository | None = None
        self._index_id: Any = None
        self._checked = 0.0
        self._states: dict[str, State] = {}
        self._tokens: dict[str, TokenCache[Any]] = {}
        self._users: dict[str, SessionUsers[Any]] = {}
        self._state_urls: dict[str, tuple[float, str]] = {}  # home -> (when worked out, the state URL)
        self._lock = threading.Lock()

    def _index_identity(self, repo: Repository) -> Any:  # noqa: ANN401 - an (inode, device) pair or None
        folder = Path(repo.paths.index) / str(repo.cfg["search.engine"])
        try:
            st = folder.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_dev)

    def repository(self) -> Repository:
        now = time.monotonic()
        repo = self._repo
        if repo is not None and now - self._checked < CHECK_SECONDS:
            return repo
        with self._lock:
            if self._repo is None:
                self._repo = Repository.open(self.home)
                self._index_id = self._index_identity(self._repo)
            elif now - self._checked >= CHECK_SECONDS:
                found = self._index_identity(self._repo)
                if found != self._index_id:  # replaced by a reindex: open afresh (the old one is left to the GC,
                    self._repo = Repository.open(self.home)  # a request may still be using it)
                    self._index_id = self._index_identity(self._repo)
            self._checked = now
            return self._repo

    def _once(self, table: dict[str, H], url: str, make: Callable[[str], H]) -> H:
        """``table``'s handle of ``url``, made by ``make`` the first time (once, however many threads ask)."""
        found = table.get(url)
        if found is None:
            with self._lock:
                found = table.get(url)
                if found is None:
                    found = table[url] = make(url)
        return found

    def state(self, url: str) -> State:
        return self._once(self._states, url, open_state)

    def tokens(self, url: str) -> TokenCache[Any]:
        return self._once(self._tokens, url, TokenCache)

    def state_url_of(self, cfg: Config) -> str:
        """``cfg.state_url``, worked out again at most every :data:`CHECK_SECONDS` (it resolves the home and
        asks whether the home can be written: tens of microseconds, asked twice by every archive page)."""
        now = time.monotonic()
        key = str(cfg.home)
        found = self._state_urls.get(key)
        if found is None or now - found[0] >= CHECK_SECONDS:
            found = self._state_urls[key] = (now, cfg.state_url)
        return found[1]

    def session_users(self, url: str) -> SessionUsers[Any]:
        return self._once(self._users, url, SessionUsers)

    def close(self) -> None:
        """Close every handle (tests; a server process just ends)."""
        with self._lock:
            if self._repo is not None:
                self._repo.close()
            for state in self._states.values():
                state.close()
            for tokens in self._tokens.values():
                tokens.close()
            for users in self._users.values():
                users.close()
            self._repo, self._states, self._tokens, self._users = None, {}, {}, {}


def install(app: Flask) -> Shared:
    shared = Shared(app.config["HSAR_HOME"])
    app.extensions["hsar.shared"] = shared
    return shared


def of(app: Flask) -> Shared:
    found = app.extensions.get("hsar.shared")
    if found is None:
        with _GUARD:
            found = app.extensions.get("hsar.shared") or install(app)
    return found


def token_cache(url: str) -> TokenCache[Any]:
    """The verified bearer tokens of the state database at ``url``, for the current application."""
    from flask import current_app

    return of(current_app).tokens(url)


def session_users(url: str) -> SessionUsers[Any]:
    """The signed-in accounts of the state database at ``url``, for the current application."""
    from flask import current_app

    return of(current_app).session_users(url)


def state_url(cfg: Config) -> str:
    """The state database's URL of ``cfg`` (:meth:`Shared.state_url_of`), for the current application."""
    from flask import current_app

    return of(current_app).state_url_of(cfg)


def state(url: str) -> State:
    """The state database at ``url``, shared by the current application's requests."""
    from flask import current_app

    return of(current_app).state(url)
