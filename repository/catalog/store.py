"""The catalogue database (目录库): :class:`Catalog` opens it by URL and answers the catalogue questions.

SQLite (the default, a file in the repository home) and PostgreSQL (``postgresql+psycopg://...``; a plain
``postgresql://`` URL is read as psycopg 3) behave the same. For SQLite every connection gets WAL journalling,
foreign keys and a busy timeout, and write transactions start with ``BEGIN IMMEDIATE`` so two writers wait
for each other instead of failing half-way. Database failures surface as
:class:`~repository.errors.CatalogError`; nothing here prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, delete, insert, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError

from ..errors import CatalogError
from ..safeurl import safe_url
from ..sqlengine import WRITE, normalize_url, sqlite_engine, sqlite_file
from . import page, read
from . import tables as t
from . import write as writer
from .records import VersionRecord
from .views import ArchiveSummary, ArchiveView, CatalogStats

if TYPE_CHECKING:
    from ..config import Config

def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the catalogue's connection settings."""
    url = normalize_url(url)
    try:
        if make_url(url).get_backend_name() == "sqlite":
            file = sqlite_file(url)
            if file is not None:
                file.parent.mkdir(parents=True, exist_ok=True)
            return sqlite_engine(url, file)
        return create_engine(url, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ModuleNotFoundError) as exc:
        hint = " (pip install 'psycopg[binary]')" if "postgres" in url else ""
        raise CatalogError(f"cannot open catalogue {safe_url(url)}: {exc}{hint}") from None


class Catalog:
    """The catalogue at ``url``; use as a context manager or call :meth:`close`."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self._engine = make_engine(self.url)

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Catalog({safe_url(self.url)!r})"

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def transaction(self, write: bool = False) -> Iterator[Connection]:
        """One transaction (``write=True`` takes the write lock up front on SQLite); for catalogue modules only.

        Database errors become :class:`CatalogError`, except :class:`IntegrityError`, which callers handle.
        """
        try:
            with self._engine.connect() as conn:
                if write:
                    conn = conn.execution_options(**{WRITE: True})
                with conn.begin():
                    yield conn
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            detail = getattr(exc, "orig", None) or exc
            raise CatalogError(f"catalogue {safe_url(self.url)}: {type(exc).__name__}: {detail}") from None

    # -- schema -------------------------------------------------------------------------------------------

    def create(self) -> None:
        """Create missing tables and stamp the schema version; refuse a catalogue of another version."""
        with self.transaction(write=True) as conn:
            t.metadata.create_all(conn)
            for index in t.LATER_INDEXES:  # indexes added later reach catalogues made before them
                index.create(conn, checkfirst=True)
            for name in t.OBSOLETE_INDEXES:  # and those no longer needed leave them
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
            found = conn.scalar(select(t.schema_version.c.version).order_by(t.schema_version.c.version.desc()))
            if found is None:
                conn.execute(insert(t.schema_version).values(version=t.SCHEMA_VERSION, applied=datetime.now(UTC)))
            elif found != t.SCHEMA_VERSION:
                raise CatalogError(f"catalogue schema version {found}, this hsar needs {t.SCHEMA_VERSION}")

    def add_missing_indexes(self) -> list[str]:
        """Create the indexes of :data:`~repository.catalog.tables.LATER_INDEXES` that an existing catalogue
        lacks (``hsar serve`` at start); the names of those made. Nothing else changes."""
        with self.transaction() as conn:
            have = {ix["name"] for table in {str(getattr(i.table, "name", "")) for i in t.LATER_INDEXES}
                    for ix in inspect(conn).get_indexes(table)}
        missing = [i for i in t.LATER_INDEXES if i.name not in have]
        if missing:
            with self.transaction(write=True) as conn:
                for index in missing:
                    index.create(conn, checkfirst=True)
        return [str(i.name) for i in missing]

    def schema_version(self) -> int | None:
        with self.transaction() as conn:
            return conn.scalar(select(t.schema_version.c.version).order_by(t.schema_version.c.version.desc()))

    # -- writing ------------------------------------------------------------------------------------------

    def record_version(self, rec: VersionRecord) -> bool:
        """Record one version in one transaction; ``False`` if it was already recorded (nothing changes)."""
        for attempt in (1, 2):
            try:
                with self.transaction(write=True) as conn:
                    return writer.record(conn, rec)
            except IntegrityError as exc:  # a concurrent writer recorded it first: look again
                if attempt == 2:
                    raise CatalogError(f"cannot record {rec.archive_id} {rec.version}: {exc.orig}") from None
        raise AssertionError("unreachable")

    def replace_archive(self, archive_id: str, records: Iterable[VersionRecord]) -> int:
        """Forget ``archive_id`` and record ``records`` (its versions, oldest first) in one transaction."""
        try:
            with self.transaction(write=True) as conn:
                conn.execute(delete(t.archives).where(t.archives.c.id == archive_id))
                count = 0
                for rec in records:
                    if rec.archive_id != archive_id:
                        raise CatalogError(f"version record of {rec.archive_id} given for {archive_id}")
                    count += writer.record(conn, rec)
                return count
        except IntegrityError as exc:
            raise CatalogError(f"cannot record {archive_id}: {exc.orig}") from None

    def delete_archive(self, archive_id: str) -> bool:
        """Remove an archive and everything hanging off it; ``False`` if it was not catalogued."""
        with self.transaction(write=True) as conn:
            return conn.execute(delete(t.archives).where(t.archives.c.id == archive_id)).rowcount > 0

    def delete_archives_except(self, keep: Iterable[str]) -> int:
        """Remove every archive not in ``keep`` (used after a rebuild); the number removed."""
        keep = set(keep)
        with self.transaction(write=True) as conn:
            gone = [i for i in read.archive_ids(conn) if i not in keep]
            for archive_id in gone:
                conn.execute(delete(t.archives).where(t.archives.c.id == archive_id))
            return len(gone)

    def clear(self) -> None:
        """Empty the tables derived from the store; audits are kept."""
        with self.transaction(write=True) as conn:
            for table in reversed(t.DERIVED):
                conn.execute(delete(table))

    # -- reading ------------------------------------------------------------------------------------------

    def show(self, archive_id: str) -> ArchiveView | None:
        with self.transaction() as conn:
            return read.show(conn, archive_id)

    def show_plain(self, archive_id: str) -> page.PlainArchive | None:
        """What the archive page shows: ``show(archive_id).to_dict()`` read straight from the rows, the newest
        audit and the divisions of the linked archives, from one snapshot (:mod:`.page`)."""
        with self.transaction() as conn:
            return page.read_plain(conn, archive_id)

    def list_archives(self, division_prefixes: Iterable[str] | None = None, type: str | None = None,
                      limit: int = 100, offset: int = 0) -> list[ArchiveSummary]:
        """Archives in division and reference-code order; ``division_prefixes`` limits to a division scope."""
        with self.transaction() as conn:
            return read.list_archives(conn, division_prefixes, type, limit, offset)

    def archive_ids(self) -> list[str]:
        with self.transaction() as conn:
            return read.archive_ids(conn)

    def divisions_of(self, archive_ids: Iterable[str], *, disposed: bool = True) -> dict[str, str]:
        """The division of each archive of ``archive_ids`` known, catalogued or (``disposed``) disposed of, read
        at once (:func:`read.divisions_of`)."""
        with self.transaction() as conn:
            return read.divisions_of(conn, archive_ids, disposed=disposed)

    def ids_in_scope(self, prefixes: Iterable[str], limit: int) -> list[str] | None:
        """Archives (catalogued or disposed of) within ``prefixes``; None when more than ``limit``."""
        with self.transaction() as conn:
            return read.ids_in_scope(conn, prefixes, limit)

    def archive_count(self) -> int:
        with self.transaction() as conn:
            return read.archive_count(conn)

    def archives_of_person(self, resident_id: str) -> list[tuple[str, str]]:
        """``(archive id, "head"|"member")`` for a resident ID: finds a person already in another household."""
        with self.transaction() as conn:
            return read.archives_of_person(conn, resident_id)

    def stats(self, division_prefixes: Iterable[str] | None = None) -> CatalogStats:
        with self.transaction() as conn:
            return read.stats(conn, division_prefixes)


def open_catalog(config: Config) -> Catalog:
    """The catalogue of a repository home (``Config.catalog_url``), tables created if missing."""
    catalog = Catalog(config.catalog_url)
    catalog.create()
    return catalog
