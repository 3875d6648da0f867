"""Opening and migrating the state database (状态库): Alembic run in code, no alembic.ini at run time.

:func:`upgrade_state` creates or upgrades the schema to the newest revision shipped in
``repository/state/migrations`` (``hsar init`` calls it); :func:`open_state` opens it for use and never
writes: a missing SQLite file or a schema older or newer than this hsar is a :class:`StateError` telling the
user to run ``hsar init``. SQLite (the default ``state.sqlite`` in the home) gets WAL journalling, foreign
keys, a busy timeout and ``BEGIN IMMEDIATE`` for write transactions, as the catalogue does; a plain
``postgresql://`` URL is read as psycopg 3.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from ..errors import StateError
from ..safeurl import safe_url
from ..sqlengine import WRITE, normalize_url, sqlite_engine, sqlite_file

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
def make_engine(url: str, *, create: bool = False) -> Engine:
    """An engine for ``url``; a SQLite file must exist unless ``create`` (then its folder is made)."""
    url = normalize_url(url)
    try:
        if make_url(url).get_backend_name() != "sqlite":
            return create_engine(url, pool_pre_ping=True)
        file = sqlite_file(url)
    except (ArgumentError, NoSuchModuleError, ModuleNotFoundError) as exc:
        raise StateError(msgid="state.unusable_url", url=safe_url(url), detail=str(exc)) from None
    if file is not None and not file.exists():
        if not create:
            raise StateError(msgid="state.missing", url=safe_url(url))
        file.parent.mkdir(parents=True, exist_ok=True)
    return sqlite_engine(url, file)


def _alembic_config(conn: Connection) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig  # alembic is loaded only where it is needed

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    """The newest revision this hsar ships."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head() or ""


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at (``None``: no schema yet); reads only."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def _migrate(url: str, step: str, target: str) -> str:
    from alembic import command

    engine = make_engine(url, create=True)
    try:
        with engine.connect() as conn:
            with conn.execution_options(**{WRITE: True}).begin():
                cfg = _alembic_config(conn)
                (command.upgrade if step == "upgrade" else command.downgrade)(cfg, target)
                return current_revision(conn) or ""
    except SQLAlchemyError as exc:
        raise StateError(msgid="state.migration_failed", url=safe_url(url), detail=str(getattr(exc, "orig", None) or exc)) from None
    finally:
        engine.dispose()


def upgrade_state(url: str, revision: str = "head") -> str:
    """Create or upgrade the state schema (to ``revision``); the revision it is at afterwards."""
    return _migrate(url, "upgrade", revision)


def downgrade_state(url: str, revision: str) -> str:
    """Take the state schema back to ``revision`` (``"base"``: no tables); for tests and rollbacks."""
    return _migrate(url, "downgrade", revision)


class State:
    """The state database at ``url``, checked to be at this hsar's schema; a context manager."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self._engine = make_engine(self.url)
        try:
            with self._engine.connect() as conn:
                found = current_revision(conn)
        except SQLAlchemyError as exc:
            self._engine.dispose()
            raise StateError(msgid="state.unreadable", url=safe_url(self.url), detail=str(getattr(exc, "orig", None) or exc)) from None
        if found != head_revision():
            self._engine.dispose()
            raise StateError(msgid="state.outdated", url=safe_url(self.url), found=found or "-",
                             expected=head_revision())

    def __enter__(self) -> State:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"State({safe_url(self.url)!r})"

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for a caller that runs a prebuilt statement on a pooled DB-API connection)."""
        return self._engine

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def transaction(self, write: bool = False) -> Iterator[Connection]:
        """One transaction (``write=True`` takes SQLite's write lock up front). Database errors other than
        integrity errors (which callers handle) become :class:`StateError`."""
        from sqlalchemy.exc import IntegrityError

        try:
            with self._engine.connect() as conn:
                if write:
                    conn = conn.execution_options(**{WRITE: True})
                with conn.begin():
                    yield conn
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            raise StateError(msgid="state.unreadable", url=safe_url(self.url), detail=str(getattr(exc, "orig", None) or exc)) from None


def open_state(url: str) -> State:
    """The state database at ``url`` for use (nothing is written by opening it)."""
    return State(url)
