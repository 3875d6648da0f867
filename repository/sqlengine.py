"""SQLAlchemy engines with hsar's connection settings, shared by the catalogue (a cache) and the state database
(accounts, register, jobs): PostgreSQL URLs read as psycopg 3, passwords hidden in messages, and SQLite in WAL
mode with foreign keys, a busy timeout and ``BEGIN IMMEDIATE`` for write transactions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

BUSY_TIMEOUT_MS = 30_000
#: Execution option of a connection whose transaction writes (SQLite then takes its write lock up front).
WRITE = "hsar_write"


def normalize_url(url: str) -> str:
    """Read ``postgresql://`` and ``postgres://`` as psycopg 3 URLs; leave every other URL alone."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; ``None`` for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or "mode=memory" in url:
        return None
    if database.startswith("file:") and parsed.query.get("uri") == "true":  # a URI filename (read-only opening)
        from urllib.parse import unquote

        return Path(unquote(database[len("file:"):]))
    return Path(database).expanduser()


def read_only_url(url: str) -> bool:
    """Whether ``url`` opens its SQLite file read-only (``mode=ro`` in a URI filename)."""
    return make_url(url).query.get("mode") == "ro"


def sqlite_engine(url: str, file: Path | None) -> Engine:
    """An engine for the SQLite database ``file`` (``None``: in memory, one shared connection)."""
    kwargs: dict[str, Any] = {} if file else {"poolclass": StaticPool}
    engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
    writable = file is not None and not read_only_url(url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:  # noqa: ANN401 - DB-API objects (untyped)
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _on_begin)
        cursor = dbapi_connection.cursor()
        if writable:
            cursor.execute("PRAGMA journal_mode=WAL")  # persistent: a no-op once the file is in WAL mode
            # stated, not left to the build's default: a commit (an access-register line) is on disk when it
            # returns, also across a power failure (README, "Access register")
            cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")

    return engine
