"""Audit results in the catalogue (定期检查记录): small functions over the ``audits`` and ``events`` tables.

The scheduled audit (:mod:`repository.audit.run`) records one ``audits`` row per archive checked and
copies its PREMIS events (fixity check, digital signature validation, recovery, quarantine, replication) into
``events`` when the archive is catalogued. ``audits`` survives a catalogue rebuild; audit events in
``events`` do not, but the hash-chained audit log in the home keeps them all. The ``detail`` JSON of a row
names the log entry of that archive's last event (``{"log": {"seq": n, "hash": h}}``), a second anchor that
lets ``hsar audit log --verify`` notice deleted log lines. Storage stays the truth: these rows only decide
which archives a ``--due`` run checks first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, insert, select

from . import tables as t
from .records import EventRecord, utc
from .store import Catalog


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
    events: tuple[EventRecord, ...] = ()


def _version_id(conn: Connection, archive_id: str, version: str | None) -> int | None:
    """The ``versions`` row the events hang on: the audited head, else the newest catalogued version."""
    if version is not None:
        found = conn.scalar(select(t.versions.c.id).where(t.versions.c.archive_id == archive_id,
                                                          t.versions.c.number == version))
        if found is not None:
            return found
    return conn.scalar(select(t.versions.c.id).where(t.versions.c.archive_id == archive_id)
                       .order_by(t.versions.c.seq.desc()).limit(1))


def _insert_events(conn: Connection, rec: AuditRecord) -> int:
    version_id = _version_id(conn, rec.archive_id, rec.version)
    if version_id is None or not rec.events:
        return 0
    known = set(conn.scalars(select(t.events.c.identifier).where(t.events.c.archive_id == rec.archive_id)))
    rows = [{"archive_id": rec.archive_id, "version_id": version_id, "identifier": e.identifier, "type": e.type,
             "datetime": utc(e.datetime), "outcome": e.outcome, "outcome_detail": e.outcome_detail,
             "detail": e.detail, "agent": e.agent, "object_path": e.object_path}
            for e in rec.events if e.identifier not in known]
    if rows:
        conn.execute(insert(t.events), rows)
    return len(rows)


def record_audits(catalog: Catalog, recs: Sequence[AuditRecord]) -> int:
    """Insert each audit row and its events (when the archive is catalogued), all in one transaction; the
    number of events stored."""
    stored = 0
    with catalog.transaction(write=True) as conn:
        for rec in recs:
            conn.execute(insert(t.audits).values(
                archive_id=rec.archive_id, version=rec.version, started=utc(rec.started),
                finished=utc(rec.finished), result=rec.result, files_checked=rec.files_checked,
                bytes_checked=rec.bytes_checked, signature_ok=rec.signature_ok, repaired_from=rec.repaired_from,
                agent=rec.agent, detail=rec.detail))
            stored += _insert_events(conn, rec)
    return stored


def last_checked(catalog: Catalog) -> dict[str, tuple[datetime, int]]:
    """``{archive id: (when last checked, bytes that check read)}`` from the newest row of each archive."""
    newest = (select(t.audits.c.archive_id, func.max(t.audits.c.finished).label("finished"))
              .group_by(t.audits.c.archive_id).subquery())
    query = (select(t.audits.c.archive_id, t.audits.c.finished, t.audits.c.bytes_checked)
             .join(newest, (t.audits.c.archive_id == newest.c.archive_id)
                   & (t.audits.c.finished == newest.c.finished)))
    with catalog.transaction() as conn:
        return {row.archive_id: (utc(row.finished), int(row.bytes_checked or 0)) for row in conn.execute(query)}


def last_check(catalog: Catalog, archive_id: str) -> tuple[datetime, int] | None:
    """:func:`last_checked` of one archive (its newest finished row, by the ``(archive_id, finished)``
    index; the archive page asks for one archive, not the whole table)."""
    a = t.audits.c
    query = (select(a.finished, a.bytes_checked).where(a.archive_id == archive_id, a.finished.is_not(None))
             .order_by(a.finished.desc()).limit(1))
    with catalog.transaction() as conn:
        row = conn.execute(query).first()
    return (utc(row.finished), int(row.bytes_checked or 0)) if row is not None else None


def audited_versions() -> Select[Any]:
    """Each (archive, version) an audit recorded, once: answered from the ``(archive_id, version)`` index
    alone (the table has a row per archive and run and grows with every audit)."""
    return select(t.audits.c.archive_id, t.audits.c.version).group_by(t.audits.c.archive_id, t.audits.c.version)


def known_heads(catalog: Catalog) -> dict[str, int]:
    """``{archive id: the newest version number the catalogue has seen}``: the catalogued head, or the head a
    recorded audit verified, whichever is higher (``audits`` rows survive a catalogue rebuild). OCFL versions
    are never taken back, so a store holding fewer versions has lost some (the audit reports AUD025)."""
    heads: dict[str, int] = {}

    def see(archive_id: str, version: str | None) -> None:
        if version and version[:1] == "v" and version[1:].isdigit():
            heads[archive_id] = max(heads.get(archive_id, 0), int(version[1:]))

    with catalog.transaction() as conn:
        for archive_id, version in conn.execute(select(t.archives.c.id, t.archives.c.head_version)):
            see(archive_id, version)
        for archive_id, version in conn.execute(audited_versions()):

            see(archive_id, version)
    return heads


def last_audit_time(catalog: Catalog) -> datetime | None:
    """When the newest audit row finished (None before the first audit)."""
    with catalog.transaction() as conn:
        value = conn.scalar(select(func.max(t.audits.c.finished)))
    return utc(value) if value is not None else None


def log_anchors(catalog: Catalog) -> list[tuple[int, str]]:
    """Every audit-log position named by an audit row, as ``(seq, hash)``."""
    anchors = []
    with catalog.transaction() as conn:
        for (detail,) in conn.execute(select(t.audits.c.detail)):
            log = detail.get("log") if isinstance(detail, dict) else None
            if isinstance(log, dict) and isinstance(log.get("seq"), int) and isinstance(log.get("hash"), str):
                anchors.append((log["seq"], log["hash"]))
    return anchors
