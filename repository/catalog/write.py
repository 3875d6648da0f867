"""Writing one stored version into the catalogue (called inside a transaction the caller owns).

Idempotent: a version already recorded with the same files is left alone; the same version number with
different files is a :class:`~repository.errors.CatalogError` (the store and the catalogue disagree).
Versions normally arrive in order; the archive row, its items, paper references, people and relations
always describe the highest version recorded, so an older version arriving late changes only its own rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Table, case, delete, func, insert, literal, select, update

from ..errors import CatalogError
from ..model import Archive, Shelf
from . import tables as t
from .records import CarryUnavailable, VersionRecord, utc, version_seq
from .serial import to_plain


def record(conn: Connection, rec: VersionRecord) -> bool:
    """Store ``rec``; ``True`` if anything was written, ``False`` if it was already there."""
    try:
        seq = version_seq(rec.version)
    except ValueError as exc:
        raise CatalogError(str(exc)) from None
    archive_id = rec.archive_id
    version_id = conn.scalar(select(t.versions.c.id).where(t.versions.c.archive_id == archive_id,
                                                           t.versions.c.number == rec.version))
    if version_id is not None:
        _check_same(conn, version_id, rec)
        return False
    head = conn.execute(select(t.archives.c.head_seq, t.archives.c.created)
                        .where(t.archives.c.id == archive_id)).first()
    created = utc(rec.created)
    if head is None:
        conn.execute(insert(t.archives).values(**_archive_row(rec, seq), created=created))
        _replace_details(conn, rec)
    elif seq > head.head_seq:
        conn.execute(update(t.archives).where(t.archives.c.id == archive_id).values(**_archive_row(rec, seq)))
        _replace_details(conn, rec)
    elif created < utc(head.created):
        conn.execute(update(t.archives).where(t.archives.c.id == archive_id).values(created=created))
    version_id = conn.execute(insert(t.versions).values(**_version_row(rec, seq))
                              .returning(t.versions.c.id)).scalar_one()
    _insert_files(conn, version_id, rec)
    if rec.carried is not None:
        _carry_files(conn, version_id, rec)
    _insert_events(conn, version_id, rec)
    return True


def _check_same(conn: Connection, version_id: int, rec: VersionRecord) -> None:
    stored = {(r.path, r.sha512) for r in conn.execute(select(t.files.c.path, t.files.c.sha512)
                                                         .where(t.files.c.version_id == version_id))}
    given = {(f.path, f.sha512) for f in rec.files}
    carried = rec.carried.count if rec.carried is not None else 0
    if not given <= stored or len(stored) != len(given) + carried:
        raise CatalogError(f"{rec.archive_id} {rec.version} is already catalogued with other files; "
                           "rebuild the catalogue from the store")


def _shelf(prefix: str, shelf: Shelf) -> dict[str, Any]:
    return {f"{prefix}store": shelf.store, f"{prefix}row": shelf.row,
            f"{prefix}cabinet": shelf.cabinet, f"{prefix}cell": shelf.cell}


def _archive_row(rec: VersionRecord, seq: int) -> dict[str, Any]:
    a = rec.archive
    row: dict[str, Any] = {
        "id": a.identifier, "type": a.type.value, "package_type": a.package_type.value, "title": a.title,
        "division": a.division, "institution": a.institution, "fonds": a.fonds,
        "reference_code": a.reference_code, "year": a.year, "retention": a.retention.value,
        "access": a.access.value, "start_date": a.start, "end_date": a.end,
        "volume_catalogue": a.volume.catalogue, "volume_number": a.volume.number, "volume_box": a.volume.box,
        **_shelf("shelf_", a.volume.shelf),
        "description": to_plain(a), "head_version": rec.version, "head_seq": seq, "updated": utc(rec.created),
    }
    row.update(_household_columns(a) | _unit_columns(a))
    row["address"] = a.household.address if a.household else a.unit.address if a.unit else None
    return row


def _household_columns(a: Archive) -> dict[str, Any]:
    h = a.household
    if h is None:
        return {"status": None, "status_since": None, "security_type": None, "income_band": None,
                "head_name": None, "head_resident_id": None}
    current = h.status if h.statuses else None
    return {"status": current.status.value if current else None, "status_since": current.since if current else None,
            "security_type": h.security_type, "income_band": h.income_band,
            "head_name": h.head.name, "head_resident_id": h.head.resident_id}


def _unit_columns(a: Archive) -> dict[str, Any]:
    u = a.unit
    if u is None:
        return {"project": None, "estate": None, "building": None, "entrance": None, "room": None}
    return {"project": u.project, "estate": u.estate, "building": u.building, "entrance": u.entrance,
            "room": u.room}


def _version_row(rec: VersionRecord, seq: int) -> dict[str, Any]:
    v = rec.archive.volume
    return {
        "archive_id": rec.archive_id, "number": rec.version, "seq": seq, "created": utc(rec.created),
        "message": rec.message, "ocfl_user": rec.user, "sip_name": rec.sip_name,
        "package_type": rec.archive.package_type.value, "file_count": len(rec.files),
        "bytes": sum(f.size for f in rec.files), "checks": to_plain(rec.checks_summary) or None,
        "volume_catalogue": v.catalogue, "volume_number": v.number, "volume_box": v.box,
        **_shelf("shelf_", v.shelf), "separately_filed": v.separately_filed, "original_volume": v.original_volume,
    }


def _replace_details(conn: Connection, rec: VersionRecord) -> None:
    """Items, paper references, people and relations of the archive's new current description."""
    a = rec.archive
    added = {r.number: r.version_added for r in conn.execute(
        select(t.items.c.number, t.items.c.version_added).where(t.items.c.archive_id == a.identifier))}
    for table in (t.items, t.paper_refs, t.people, t.relations):
        conn.execute(delete(table).where(table.c.archive_id == a.identifier))
    _insert_many(conn, t.items, [
        {"archive_id": a.identifier, "number": i.number, "material_class": i.material_class.value,
         "subtype": i.subtype, "title": i.title, "date": i.date, "pages": i.pages,
         "version_added": added.get(i.number, rec.version)} for i in a.items])
    _insert_many(conn, t.paper_refs, [
        {"archive_id": a.identifier, "item_number": i.number, "catalogue": i.paper.catalogue,
         "volume": i.paper.volume, "item": i.paper.item, "page_start": i.paper.page_start,
         "page_end": i.paper.page_end, "box": i.paper.box, **_shelf("shelf_", i.paper.shelf)} for i in a.items])
    _insert_many(conn, t.relations, [
        {"archive_id": a.identifier, "type": r.type, "target": r.target, "start_date": r.start,
         "end_date": r.end} for r in a.relations])
    if a.household is not None:
        h = a.household
        people = [{"role": "head", "name": h.head.name, "resident_id": h.head.resident_id, "relation": None}]
        people += [{"role": "member", "name": m.name, "resident_id": m.resident_id, "relation": m.relation}
                   for m in h.members]
        _insert_many(conn, t.people, [p | {"archive_id": a.identifier} for p in people])


def _insert_files(conn: Connection, version_id: int, rec: VersionRecord) -> None:
    _insert_many(conn, t.files, [
        {"archive_id": rec.archive_id, "version_id": version_id, "path": f.path, "size": f.size,
         "sha512": f.sha512, "puid": f.puid, "format_name": f.format_name, "format_version": f.format_version,
         "policy": f.policy, "item_number": f.item_number, "version_added": f.version_added}
        for f in rec.files])


_CARRIED = ("archive_id", "path", "size", "sha512", "puid", "format_name", "format_version", "policy",
            "item_number", "version_added")


def _carry_files(conn: Connection, version_id: int, rec: VersionRecord) -> None:
    """Copy the unchanged files' rows of the version before (INSERT ... SELECT, nothing built in Python), derive
    their policy again, and count the version's files and bytes; :class:`CarryUnavailable` (the transaction is
    rolled back) when that version's rows are not there as the record expects."""
    carried = rec.carried
    assert carried is not None
    if len(carried.exclude) > 900:  # bound parameters: a version that changed this much is recorded whole
        raise CarryUnavailable(f"{rec.archive_id} {rec.version}: too many changed files to carry rows over")
    previous = conn.scalar(select(t.versions.c.id).where(t.versions.c.archive_id == rec.archive_id,
                                                         t.versions.c.number == carried.version))
    if previous is None:
        raise CarryUnavailable(f"{rec.archive_id} {carried.version} is not catalogued")
    columns: list[Any] = [t.files.c[name] for name in _CARRIED]
    policy_at = _CARRIED.index("policy")
    puids: list[str | None] = []
    if carried.policy_of is not None:  # the policy derived in the same statement, while the PUIDs are few
        puids = list(conn.scalars(select(t.files.c.puid).where(t.files.c.version_id == previous).distinct()))
        if len(puids) <= MAX_POLICY_CASES:
            columns[policy_at] = _policy_case(puids, carried.policy_of)
    rows = (select(*columns[:1], literal(version_id), *columns[1:])
            .where(t.files.c.version_id == previous, t.files.c.path.not_in(sorted(carried.exclude))))
    with _page_cache(conn):
        done = conn.execute(insert(t.files).from_select(["archive_id", "version_id", *_CARRIED[1:]], rows),
                            execution_options={"preserve_rowcount": True})  # else -1 with psycopg: never carried
    if done.rowcount != carried.count:
        raise CarryUnavailable(f"{rec.archive_id} {carried.version}: {done.rowcount} file rows, "
                               f"{carried.count} expected")
    if carried.policy_of is not None and len(puids) > MAX_POLICY_CASES:
        for puid in puids:
            match = t.files.c.puid.is_(None) if puid is None else t.files.c.puid == puid
            policy = carried.policy_of(puid)
            conn.execute(update(t.files).where(t.files.c.version_id == version_id, match,
                                               t.files.c.policy.is_distinct_from(policy)).values(policy=policy))
    count, size = conn.execute(select(func.count(), func.coalesce(func.sum(t.files.c.size), 0))
                               .where(t.files.c.version_id == version_id)).one()
    conn.execute(update(t.versions).where(t.versions.c.id == version_id).values(file_count=count, bytes=size))


#: carried rows take their format policy in the statement that copies them when their PUIDs are at most this
#: many (one CASE branch each), else by an UPDATE per PUID afterwards (each a scan of the version's rows)
MAX_POLICY_CASES = 64


def _policy_case(puids: list[str | None], policy_of: Callable[[str | None], str | None]) -> Any:  # noqa: ANN401
    """``policy_of(puid)`` of each row as SQL: one branch per PUID (``IS NULL`` for none); a PUID not among
    ``puids`` keeps its row's policy."""
    whens = [(t.files.c.puid.is_(None) if puid is None else t.files.c.puid == puid,
              literal(policy_of(puid), t.files.c.policy.type)) for puid in puids]
    return case(*whens, else_=t.files.c.policy) if whens else t.files.c.policy


#: SQLite page cache (KiB, as PRAGMA cache_size takes it negative) while rows are carried over: each row goes
#: into every index of ``files``; with the default 2 MB the pages of those indexes are evicted and read back
#: (20,000 rows: 0.13-0.15 CPU-s instead of 0.21-0.32)
CARRY_CACHE_KIB = 65_536


@contextmanager
def _page_cache(conn: Connection) -> Iterator[None]:
    """A larger SQLite page cache for the statement inside, the connection's own size back after it."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{CARRY_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before or -2000)}")


def _insert_events(conn: Connection, version_id: int, rec: VersionRecord) -> None:
    known = set(conn.scalars(select(t.events.c.identifier).where(t.events.c.archive_id == rec.archive_id)))
    rows, seen = [], set()
    for e in rec.events:
        if e.identifier in known or e.identifier in seen:
            continue  # an event belongs to the first version that recorded it
        seen.add(e.identifier)
        rows.append({"archive_id": rec.archive_id, "version_id": version_id, "identifier": e.identifier,
                     "type": e.type, "datetime": utc(e.datetime), "outcome": e.outcome,
                     "outcome_detail": e.outcome_detail, "detail": e.detail,
                     "agent": e.agent, "object_path": e.object_path})
    _insert_many(conn, t.events, rows)


def _insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(table), rows)
