"""The catalogue's side of retention and disposal (保管期限与销毁): retention facts of the archives it holds,
and the archives disposed of, shown by their tombstones instead of vanishing.

``disposals`` is derived from the store like every other catalogue table: one row per tombstone in the storage
root (:mod:`repository.preservation.tombstone`), written when a disposal is carried out and again by
:func:`repository.catalog.rebuild.rebuild`. The table is created when first needed, so a catalogue made before
it existed keeps working without a schema change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select

from ..model import ArchiveType, Retention, Status
from . import tables as t
from .records import utc
from .store import Catalog


@dataclass(frozen=True)
class RetentionRow:
    """What the retention rule needs of one catalogued archive (:func:`repository.retention.term`)."""

    archive_id: str
    reference_code: str
    title: str
    division: str
    type: str
    retention: str
    year: int
    end: date | None
    status: str | None
    status_since: date | None


@dataclass(frozen=True)
class Disposal:
    """One disposed archive as the catalogue keeps it."""

    archive_id: str
    reference_code: str
    division: str
    type: str
    retention: str
    disposed_at: datetime
    proposed_by: str
    approved_by: str
    reason: str
    tombstone: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"archive_id": self.archive_id, "reference_code": self.reference_code, "division": self.division,
                "type": self.type, "retention": self.retention, "disposed_at": self.disposed_at.isoformat(),
                "proposed_by": self.proposed_by, "approved_by": self.approved_by, "reason": self.reason}


def _ensure(conn: Connection) -> None:
    t.disposals.create(conn, checkfirst=True)


def _scope(column: Any, prefixes: Iterable[str] | None) -> Any:  # noqa: ANN401 - a SQL expression
    if prefixes is None:
        return None
    prefixes = list(prefixes)
    if not prefixes:
        return column.is_(None)  # an empty scope sees nothing
    return or_(*(column.startswith(p, autoescape=True) for p in prefixes))


def retention_rows(catalog: Catalog, prefixes: Iterable[str] | None = None, *,
                   could_be_due: bool = False) -> list[RetentionRow]:
    """Retention facts of every catalogued archive (in the division scope ``prefixes``, None: all).
    ``could_be_due``: only the archives whose term can have ended (:func:`repository.retention.term`): not
    permanent, and a household archive only once it has exited security; the others' term never ends, and at
    200,000 archives reading them cost most of the disposal page's time."""
    a = t.archives
    query = select(a.c.id, a.c.reference_code, a.c.title, a.c.division, a.c.type, a.c.retention, a.c.year,
                   a.c.end_date, a.c.status, a.c.status_since).order_by(a.c.division, a.c.reference_code)
    scope = _scope(a.c.division, prefixes)
    if scope is not None:
        query = query.where(scope)
    if could_be_due:
        query = query.where(a.c.retention != Retention.PERMANENT.value,
                            or_(a.c.type != ArchiveType.HOUSEHOLD.value, a.c.status == Status.EXITED.value))
    with catalog.transaction() as conn:
        return [RetentionRow(r.id, r.reference_code, r.title, r.division, r.type, r.retention, r.year,
                             r.end_date, r.status, r.status_since) for r in conn.execute(query)]


def row_of(tombstone: Mapping[str, Any]) -> dict[str, Any]:
    """The ``disposals`` row of a tombstone's JSON (KeyError/ValueError when it lacks what a row needs)."""
    proposal = tombstone["proposal"]
    return {"archive_id": str(tombstone["archive_id"]), "reference_code": str(tombstone["reference_code"]),
            "division": str(tombstone["division"]), "type": str(tombstone["type"]),
            "retention": str(tombstone["retention"]),
            "disposed_at": utc(datetime.fromisoformat(str(tombstone["disposed_at"]))),
            "proposed_by": str(proposal["proposed_by"]), "approved_by": str(proposal["approved_by"]),
            "reason": str(proposal["reason"]), "tombstone": dict(tombstone)}


def record_disposal(catalog: Catalog, tombstone: Mapping[str, Any]) -> None:
    """Forget the archive's records and keep its tombstone, in one transaction (idempotent)."""
    row = row_of(tombstone)
    with catalog.transaction(write=True) as conn:
        _ensure(conn)
        conn.execute(delete(t.archives).where(t.archives.c.id == row["archive_id"]))
        conn.execute(delete(t.disposals).where(t.disposals.c.archive_id == row["archive_id"]))
        conn.execute(insert(t.disposals).values(**row))


def replace_disposals(catalog: Catalog, tombstones: Iterable[Mapping[str, Any]]) -> int:
    """Make ``disposals`` hold exactly these tombstones (a rebuild); the number kept."""
    rows = {}
    for tombstone in tombstones:
        try:
            row = row_of(tombstone)
        except (KeyError, ValueError, TypeError):
            continue  # an unreadable tombstone is the audit's to report
        rows[row["archive_id"]] = row
    with catalog.transaction(write=True) as conn:
        _ensure(conn)
        conn.execute(delete(t.disposals))
        if rows:
            conn.execute(insert(t.disposals), list(rows.values()))
    return len(rows)


def _disposal(r: Any) -> Disposal:  # noqa: ANN401 - a Row
    return Disposal(r.archive_id, r.reference_code, r.division, r.type, r.retention, utc(r.disposed_at),
                    r.proposed_by, r.approved_by, r.reason, dict(r.tombstone or {}))


def get_disposal(catalog: Catalog, archive_id: str) -> Disposal | None:
    with catalog.transaction(write=True) as conn:
        _ensure(conn)
        row = conn.execute(select(t.disposals).where(t.disposals.c.archive_id == archive_id)).first()
    return _disposal(row) if row is not None else None


def list_disposals(catalog: Catalog, prefixes: Iterable[str] | None = None) -> list[Disposal]:
    """Disposed archives, newest first (in the division scope ``prefixes``, None: all)."""
    query = select(t.disposals).order_by(t.disposals.c.disposed_at.desc(), t.disposals.c.archive_id)
    scope = _scope(t.disposals.c.division, prefixes)
    if scope is not None:
        query = query.where(scope)
    with catalog.transaction(write=True) as conn:
        _ensure(conn)
        return [_disposal(r) for r in conn.execute(query)]
