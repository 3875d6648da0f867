"""The audit's catalogue work on the standard library's ``sqlite3``: no SQLAlchemy in ``hsar audit``.

An audit asks the catalogue five things (:class:`AuditCatalogue`): the catalogued archive ids, the newest
version seen of each archive (``known_heads``), when each archive was last checked (``--due``), the division
of the archives a run names (the scope its report records), and to record a batch of audit rows with their
PREMIS events; ``hsar audit log --verify`` asks for the log anchors. Importing
SQLAlchemy and the catalogue's table definitions for that cost about 0.3 CPU-seconds at every ``hsar audit``
start (issue 15: the whole audit's CPU against bare hashlib processes), so on the home's own SQLite file
(the default, ``catalog.url`` unset) :class:`SqliteAudits` asks with a few plain SQL statements. Any other
catalogue (PostgreSQL, a ``catalog.url``, a read-only home) goes through SQLAlchemy
(:class:`repository.catalog.audits.CatalogAudits`, the same questions).

Both write the same stored values: a datetime as SQLAlchemy's SQLite ``DATETIME`` writes it (UTC,
``YYYY-MM-DD HH:MM:SS.ffffff``), JSON with ``json.dumps``, a boolean as 0/1, and both open the file as
:mod:`repository.sqlengine` does (WAL, ``synchronous=FULL``, foreign keys, busy timeout, ``BEGIN IMMEDIATE``
for a write); ``tests/audit/test_audit_catalogue.py`` compares them row by row. The batch logic (which version
row an event hangs off, which events are already stored) is this module's, shared by both.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import CatalogError
from .schemacheck import checked
from .version import SCHEMA_VERSION

if TYPE_CHECKING:
    from typing import Protocol

    class AuditCatalogue(Protocol):
        """What an audit run asks of the catalogue (:class:`SqliteAudits`, or
        :class:`repository.catalog.audits.CatalogAudits` over SQLAlchemy)."""

        def archive_ids(self) -> list[str]: ...
        def known_heads(self) -> dict[str, int]: ...
        def last_checked(self) -> dict[str, tuple[datetime, int]]: ...
        def divisions_of(self, archive_ids: Iterable[str]) -> dict[str, str]: ...
        def record_audits(self, recs: Sequence[AuditRecord]) -> int: ...
        def log_anchors(self) -> list[tuple[int, str]]: ...
        def close(self) -> None: ...


BUSY_TIMEOUT_MS = 30_000  # as repository.sqlengine
CHUNK = 500  # values per IN (...) list: well under every SQLite build's limit on bound parameters


class AuditEvent(NamedTuple):
    """One PREMIS event of an audited archive, as the ``events`` table stores it (the fields of
    :class:`repository.catalog.records.EventRecord`, without importing the ingest's records)."""

    identifier: str
    type: str
    datetime: datetime
    outcome: str | None
    detail: str | None
    agent: str | None  # the linking agents' names joined by "; "
    object_path: str | None
    outcome_detail: str | None = None


@dataclass(frozen=True)
class AuditRecord:
    """One archive's audit outcome (``result``: intact, repaired or failed)."""

    archive_id: str
    version: str | None
    started: datetime
    finished: datetime
    result: str
    files_checked: int
    bytes_checked: int
    signature_ok: bool | None
    repaired_from: str | None
    agent: str
    detail: dict[str, Any] = field(default_factory=dict)
    events: tuple[AuditEvent, ...] = ()


def utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive datetime is taken to be UTC already (as :func:`.records.utc`)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def see_head(heads: dict[str, int], archive_id: str, version: str | None) -> None:
    """Raise ``heads[archive_id]`` to the number of OCFL version ``version`` (``v3``) if it is one."""
    if version and version[:1] == "v" and version[1:].isdigit():
        heads[archive_id] = max(heads.get(archive_id, 0), int(version[1:]))


def anchor_of(detail: object) -> tuple[int, str] | None:
    """The audit-log position an audit row's ``detail`` names, if it names one."""
    log = detail.get("log") if isinstance(detail, dict) else None
    if isinstance(log, dict) and isinstance(log.get("seq"), int) and isinstance(log.get("hash"), str):
        return log["seq"], log["hash"]
    return None


def pick_versions(recs: Sequence[AuditRecord], rows: Iterable[tuple[str, str, int, int]]
                  ) -> dict[tuple[str, str | None], int]:
    """``{(archive id, audited head): versions row id}`` from the ``(archive_id, number, id, seq)`` rows of
    the records' archives: the row of the audited head, else of the newest catalogued version."""
    versions: dict[str, dict[str, int]] = {}
    newest: dict[str, tuple[int, int]] = {}
    for archive_id, number, row_id, seq in rows:
        versions.setdefault(archive_id, {})[number] = row_id
        if archive_id not in newest or seq > newest[archive_id][0]:
            newest[archive_id] = (seq, row_id)
    found: dict[tuple[str, str | None], int] = {}
    for rec in recs:
        head = versions.get(rec.archive_id, {}).get(rec.version) if rec.version is not None else None
        if head is None and rec.archive_id in newest:
            head = newest[rec.archive_id][1]
        if head is not None:
            found[(rec.archive_id, rec.version)] = head
    return found


def new_events(recs: Sequence[AuditRecord], version_ids: dict[tuple[str, str | None], int],
               known: set[tuple[str, str]]) -> list[tuple[AuditRecord, int, AuditEvent]]:
    """``(record, version row id, event)`` for each event to store: of a catalogued archive, not stored yet
    (``known``, which grows), once."""
    out = []
    for rec in recs:
        version_id = version_ids.get((rec.archive_id, rec.version))
        if version_id is None:
            continue
        for e in rec.events:
            if (rec.archive_id, e.identifier) not in known:
                known.add((rec.archive_id, e.identifier))
                out.append((rec, version_id, e))
    return out


def event_pairs(recs: Sequence[AuditRecord]) -> set[tuple[str, str]]:
    return {(rec.archive_id, e.identifier) for rec in recs for e in rec.events}


def _stamp(value: datetime | None) -> str | None:
    """A datetime as SQLAlchemy's SQLite ``DATETIME`` stores it (in UTC, microseconds always written)."""
    if value is None:
        return None
    v = utc(value)
    return (f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}."
            f"{v.microsecond:06d}")


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value)  # SQLAlchemy's JSON(none_as_null=True) on SQLite


def _bool(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _marks(count: int) -> str:
    return ",".join("?" * count)


class SqliteAudits:
    """The audit's questions to a SQLite catalogue file, on one ``sqlite3`` connection (serialised by a lock:
    an audit asks from its main thread and its judging thread)."""

    def __init__(self, path: Path, name: str) -> None:
        self.path, self.name = path, name  # name: the catalogue as messages show it (its URL)
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                         check_same_thread=False)
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON",
                           f"busy_timeout={BUSY_TIMEOUT_MS}"):
                self._conn.execute(f"PRAGMA {pragma}")
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def _error(self, exc: sqlite3.Error) -> CatalogError:
        return CatalogError(f"catalogue {self.name}: {type(exc).__name__}: {exc}")

    @contextmanager
    def _transaction(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """One transaction (a write takes SQLite's write lock up front); sqlite3 errors become CatalogError."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._error(exc) from None

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def schema_version(self) -> int | None:
        with self._transaction() as conn:
            row = conn.execute("SELECT version FROM schema_version ORDER BY version DESC LIMIT 1").fetchone()
        return None if row is None else int(row[0])

    def archive_ids(self) -> list[str]:
        with self._transaction() as conn:
            return [row[0] for row in conn.execute("SELECT id FROM archives ORDER BY id")]

    def known_heads(self) -> dict[str, int]:
        """:func:`repository.catalog.audits.known_heads` (the catalogued head or an audited one, the higher)."""
        heads: dict[str, int] = {}
        with self._transaction() as conn:
            for archive_id, version in conn.execute("SELECT id, head_version FROM archives"):
                see_head(heads, archive_id, version)
            for archive_id, version in conn.execute(
                    "SELECT archive_id, version FROM audits GROUP BY archive_id, version"):
                see_head(heads, archive_id, version)
        return heads

    def last_checked(self) -> dict[str, tuple[datetime, int]]:
        """:func:`repository.catalog.audits.last_checked`: the newest row of each archive."""
        query = ("SELECT a.archive_id, a.finished, a.bytes_checked FROM audits AS a JOIN "
                 "(SELECT archive_id, max(finished) AS finished FROM audits GROUP BY archive_id) AS n "
                 "ON a.archive_id = n.archive_id AND a.finished = n.finished")
        with self._transaction() as conn:
            return {archive_id: (utc(datetime.fromisoformat(finished)), int(size or 0))
                    for archive_id, finished, size in conn.execute(query)}

    def divisions_of(self, archive_ids: Iterable[str]) -> dict[str, str]:
        """:meth:`repository.catalog.store.Catalog.divisions_of`: a catalogued archive's division, else a disposed
        one's; an id known neither way is left out."""
        wanted, found = sorted(set(archive_ids)), dict[str, str]()
        with self._transaction() as conn:
            for table, key in (("archives", "id"), ("disposals", "archive_id")):
                for chunk in chunks([i for i in wanted if i not in found]):
                    found.update((str(i), str(d)) for i, d in conn.execute(
                        f"SELECT {key}, division FROM {table} WHERE {key} IN ({_marks(len(chunk))})",
                        tuple(chunk)))
        return found

    def log_anchors(self) -> list[tuple[int, str]]:
        anchors = []
        with self._transaction() as conn:
            for (detail,) in conn.execute("SELECT detail FROM audits"):
                try:
                    anchor = anchor_of(json.loads(detail)) if detail is not None else None
                except ValueError:
                    anchor = None
                if anchor is not None:
                    anchors.append(anchor)
        return anchors

    def record_audits(self, recs: Sequence[AuditRecord]) -> int:
        """:func:`repository.catalog.audits.record_audits`: the rows and the new events of ``recs`` in one
        transaction; the number of events stored."""
        if not recs:
            return 0
        with self._transaction(write=True) as conn:
            conn.executemany(
                "INSERT INTO audits (archive_id, version, started, finished, result, files_checked, "
                "bytes_checked, signature_ok, repaired_from, agent, detail) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [(r.archive_id, r.version, _stamp(r.started), _stamp(r.finished), r.result, r.files_checked,
                  r.bytes_checked, _bool(r.signature_ok), r.repaired_from, r.agent, _json(r.detail))
                 for r in recs])
            ids = sorted({rec.archive_id for rec in recs if rec.events})
            rows: list[tuple[str, str, int, int]] = []
            for chunk in chunks(ids):
                rows += conn.execute(f"SELECT archive_id, number, id, seq FROM versions WHERE archive_id IN "
                                     f"({_marks(len(chunk))})", tuple(chunk))
            pairs = event_pairs(recs)
            known: set[tuple[str, str]] = set()
            archives, identifiers = sorted({a for a, _ in pairs}), sorted({i for _, i in pairs})
            for id_chunk in chunks(archives):
                for identifier_chunk in chunks(identifiers):
                    query = (f"SELECT archive_id, identifier FROM events WHERE archive_id IN "
                             f"({_marks(len(id_chunk))}) AND identifier IN ({_marks(len(identifier_chunk))})")
                    known.update((a, i) for a, i in conn.execute(query, (*id_chunk, *identifier_chunk))
                                 if (a, i) in pairs)
            events = new_events(recs, pick_versions(recs, rows), known)
            if events:
                conn.executemany(
                    "INSERT INTO events (archive_id, version_id, identifier, type, datetime, outcome, "
                    "outcome_detail, detail, agent, object_path) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    [(rec.archive_id, version_id, e.identifier, e.type, _stamp(e.datetime), e.outcome,
                      e.outcome_detail, e.detail, e.agent, e.object_path) for rec, version_id, e in events])
        return len(events)


def open_sqlite(url: str, home: Path) -> SqliteAudits:
    """The home's own catalogue file (``url``: ``sqlite:///<file>``), its schema checked as
    :attr:`repository.home.Repository.catalog` checks it: CatalogError HOME-CATALOG when there is none (the
    file is missing, empty or without the schema table: ``hsar init``), CatalogError for another schema."""
    if not url.startswith("sqlite:///"):
        raise ValueError(f"not a SQLite file URL: {url!r}")
    path = Path(url[len("sqlite:///"):])
    missing = CatalogError(msgid="home.no_catalogue", code="HOME-CATALOG", url=url, home=home)
    if not path.is_file() or path.stat().st_size == 0:
        raise missing  # connecting would create the file (or, empty, make it a WAL database)
    return checked(SqliteAudits(path, url), missing, SCHEMA_VERSION)
