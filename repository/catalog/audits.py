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

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, insert, select

from . import tables as t
from .audits_sqlite import AuditEvent, AuditRecord, chunks, event_pairs, new_events, pick_versions, see_head
from .audits_sqlite import anchor_of as _anchor_of
from .records import utc
from .store import Catalog

__all__ = ["AuditEvent", "AuditRecord", "CatalogAudits", "audited_versions", "known_heads", "last_audit_time",
           "last_checked", "log_anchors", "record_audits"]


def _version_ids(conn: Connection, recs: Sequence[AuditRecord]) -> dict[tuple[str, str | None], int]:
    """``{(archive id, audited head): versions row id}`` for the records with events: the row of the audited
    head, else of the newest catalogued version (archives not catalogued are left out)."""
    ids = sorted({rec.archive_id for rec in recs if rec.events})
    columns = (t.versions.c.archive_id, t.versions.c.number, t.versions.c.id, t.versions.c.seq)
    rows: list[tuple[str, str, int, int]] = []
    for chunk in chunks(ids):
        rows += ((a, n, i, s) for a, n, i, s in conn.execute(select(*columns).where(t.versions.c.archive_id.in_(chunk))))
    return pick_versions(recs, rows)


def _known_events(conn: Connection, recs: Sequence[AuditRecord]) -> set[tuple[str, str]]:
    """The ``(archive id, event identifier)`` pairs of these records' events already in ``events``."""
    pairs = event_pairs(recs)
    ids, identifiers = sorted({a for a, _ in pairs}), sorted({i for _, i in pairs})
    known: set[tuple[str, str]] = set()
    for id_chunk in chunks(ids):
        for identifier_chunk in chunks(identifiers):
            query = select(t.events.c.archive_id, t.events.c.identifier).where(
                t.events.c.archive_id.in_(id_chunk), t.events.c.identifier.in_(identifier_chunk))
            known.update((a, i) for a, i in conn.execute(query) if (a, i) in pairs)
    return known


def record_audits(catalog: Catalog, recs: Sequence[AuditRecord]) -> int:
    """Insert each audit row and its events (when the archive is catalogued), all in one transaction; the
    number of events stored. A few statements for the whole batch (rows in one ``executemany`` each), not a
    few per archive: a sharded audit of many small archives records them here, in one process."""
    if not recs:
        return 0
    with catalog.transaction(write=True) as conn:
        conn.execute(insert(t.audits), [
            {"archive_id": rec.archive_id, "version": rec.version, "started": utc(rec.started),
             "finished": utc(rec.finished), "result": rec.result, "files_checked": rec.files_checked,
             "bytes_checked": rec.bytes_checked, "signature_ok": rec.signature_ok,
             "repaired_from": rec.repaired_from, "agent": rec.agent, "detail": rec.detail} for rec in recs])
        rows = [{"archive_id": rec.archive_id, "version_id": version_id, "identifier": e.identifier,
                 "type": e.type, "datetime": utc(e.datetime), "outcome": e.outcome,
                 "outcome_detail": e.outcome_detail, "detail": e.detail, "agent": e.agent,
                 "object_path": e.object_path}
                for rec, version_id, e in new_events(recs, _version_ids(conn, recs), _known_events(conn, recs))]
        if rows:
            conn.execute(insert(t.events), rows)
    return len(rows)


def last_checked(catalog: Catalog) -> dict[str, tuple[datetime, int]]:
    """``{archive id: (when last checked, bytes that check read)}`` from the newest row of each archive."""
    newest = (select(t.audits.c.archive_id, func.max(t.audits.c.finished).label("finished"))
              .group_by(t.audits.c.archive_id).subquery())
    query = (select(t.audits.c.archive_id, t.audits.c.finished, t.audits.c.bytes_checked)
             .join(newest, (t.audits.c.archive_id == newest.c.archive_id)
                   & (t.audits.c.finished == newest.c.finished)))
    with catalog.transaction() as conn:
        return {row.archive_id: (utc(row.finished), int(row.bytes_checked or 0)) for row in conn.execute(query)}


def audited_versions() -> Select[Any]:
    """Each (archive, version) an audit recorded, once: answered from the ``(archive_id, version)`` index
    alone (the table has a row per archive and run and grows with every audit)."""
    return select(t.audits.c.archive_id, t.audits.c.version).group_by(t.audits.c.archive_id, t.audits.c.version)


def known_heads(catalog: Catalog) -> dict[str, int]:
    """``{archive id: the newest version number the catalogue has seen}``: the catalogued head, or the head a
    recorded audit verified, whichever is higher (``audits`` rows survive a catalogue rebuild). OCFL versions
    are never taken back, so a store holding fewer versions has lost some (the audit reports AUD025)."""
    heads: dict[str, int] = {}
    with catalog.transaction() as conn:
        for archive_id, version in conn.execute(select(t.archives.c.id, t.archives.c.head_version)):
            see_head(heads, archive_id, version)
        for archive_id, version in conn.execute(audited_versions()):
            see_head(heads, archive_id, version)
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
            anchor = _anchor_of(detail)
            if anchor is not None:
                anchors.append(anchor)
    return anchors


class CatalogAudits:
    """:class:`~repository.catalog.audits_sqlite.AuditCatalogue` over a :class:`Catalog` (SQLAlchemy: any
    catalogue URL); the catalogue stays open, it belongs to the repository."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def archive_ids(self) -> list[str]:
        return self.catalog.archive_ids()

    def known_heads(self) -> dict[str, int]:
        return known_heads(self.catalog)

    def last_checked(self) -> dict[str, tuple[datetime, int]]:
        return last_checked(self.catalog)

    def divisions_of(self, archive_ids: Iterable[str]) -> dict[str, str]:
        return self.catalog.divisions_of(archive_ids)

    def record_audits(self, recs: Sequence[AuditRecord]) -> int:
        return record_audits(self.catalog, recs)

    def log_anchors(self) -> list[tuple[int, str]]:
        return log_anchors(self.catalog)

    def close(self) -> None:
        pass
