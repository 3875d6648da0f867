"""Catalogue queries: one archive in full (``hsar show``), archive lists and dashboard counts.

Every function takes an open :class:`~sqlalchemy.Connection`; the caller owns the transaction, so a whole
answer is read from one snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, and_, func, or_, select

from ..model import CLASSES_BY_TYPE, Archive, MaterialClass, PaperRef, Shelf, Volume
from . import tables as t
from .records import utc
from .serial import from_plain
from .views import (
    ArchiveSummary,
    ArchiveView,
    CatalogStats,
    ClassGroup,
    EventView,
    FileView,
    ItemView,
    RelationView,
    VersionView,
    class_label,
)


def show(conn: Connection, archive_id: str) -> ArchiveView | None:
    row = conn.execute(select(t.archives).where(t.archives.c.id == archive_id)).first()
    if row is None:
        return None
    archive = from_plain(Archive, row.description)
    return ArchiveView(
        archive=archive, head_version=row.head_version, created=utc(row.created), updated=utc(row.updated),
        versions=_versions(conn, archive_id), items_by_class=_items(conn, archive),
        files=_files(conn, archive_id, row.head_version), events=_events(conn, archive_id),
        relations=_relations(conn, archive_id),
    )


def _shelf(row: Row[Any]) -> Shelf:
    return Shelf(row.shelf_store, row.shelf_row, row.shelf_cabinet, row.shelf_cell)


def _versions(conn: Connection, archive_id: str) -> tuple[VersionView, ...]:
    rows = conn.execute(select(t.versions).where(t.versions.c.archive_id == archive_id).order_by(t.versions.c.seq))
    return tuple(
        VersionView(number=r.number, created=utc(r.created), message=r.message, user=r.ocfl_user,
                    sip_name=r.sip_name, package_type=r.package_type, file_count=r.file_count, bytes=r.bytes,
                    checks=r.checks, volume=_volume(r))
        for r in rows)


def _volume(r: Row[Any]) -> Volume | None:
    if r.volume_number is None:
        return None
    return Volume(r.volume_catalogue, r.volume_number, r.volume_box, _shelf(r), bool(r.separately_filed),
                  r.original_volume)


def _items(conn: Connection, archive: Archive) -> tuple[ClassGroup, ...]:
    i, p = t.items, t.paper_refs
    query = (select(i, p.c.catalogue, p.c.volume, p.c.item, p.c.page_start, p.c.page_end, p.c.box,
                    p.c.shelf_store, p.c.shelf_row, p.c.shelf_cabinet, p.c.shelf_cell)
             .join(p, and_(p.c.archive_id == i.c.archive_id, p.c.item_number == i.c.number))
             .where(i.c.archive_id == archive.identifier).order_by(i.c.number))
    files_of = {item.number: item.files for item in archive.items}
    by_class: dict[MaterialClass, list[ItemView]] = {}
    for r in conn.execute(query):
        paper = PaperRef(r.catalogue, r.volume, r.item, r.page_start, r.page_end, r.box, _shelf(r))
        view = ItemView(number=r.number, material_class=MaterialClass(r.material_class), subtype=r.subtype,
                        title=r.title, date=r.date, pages=r.pages, paper=paper,
                        files=tuple(files_of.get(r.number, ())), version_added=r.version_added)
        by_class.setdefault(view.material_class, []).append(view)
    order = list(CLASSES_BY_TYPE.get(archive.type, ()))
    order += [c for c in MaterialClass if c in by_class and c not in order]
    return tuple(ClassGroup(c, class_label(c), tuple(by_class.get(c, ()))) for c in order)


def _files(conn: Connection, archive_id: str, head: str) -> tuple[FileView, ...]:
    f, v = t.files, t.versions
    query = (select(f).join(v, v.c.id == f.c.version_id)
             .where(v.c.archive_id == archive_id, v.c.number == head).order_by(f.c.path))
    return tuple(
        FileView(path=r.path, size=r.size, sha512=r.sha512, puid=r.puid, format_name=r.format_name,
                 format_version=r.format_version, policy=r.policy, item_number=r.item_number,
                 version_added=r.version_added)
        for r in conn.execute(query))


def _events(conn: Connection, archive_id: str) -> tuple[EventView, ...]:
    e, v = t.events, t.versions
    query = (select(e, v.c.number.label("version")).join(v, v.c.id == e.c.version_id)
             .where(e.c.archive_id == archive_id).order_by(e.c.datetime, e.c.identifier))
    return tuple(
        EventView(identifier=r.identifier, type=r.type, datetime=utc(r.datetime), outcome=r.outcome,
                  outcome_detail=r.outcome_detail, detail=r.detail, agent=r.agent, object_path=r.object_path,
                  version=r.version)
        for r in conn.execute(query))


def _relations(conn: Connection, archive_id: str) -> tuple[RelationView, ...]:
    r, a = t.relations, t.archives
    outgoing = (select(r.c.type, r.c.target.label("other"), a.c.title, r.c.start_date, r.c.end_date)
                .outerjoin(a, a.c.id == r.c.target).where(r.c.archive_id == archive_id)
                .order_by(r.c.start_date, r.c.target, r.c.type))
    incoming = (select(r.c.type, r.c.archive_id.label("other"), a.c.title, r.c.start_date, r.c.end_date)
                .join(a, a.c.id == r.c.archive_id).where(r.c.target == archive_id)
                .order_by(r.c.start_date, r.c.archive_id, r.c.type))
    views = []
    for direction, query in (("out", outgoing), ("in", incoming)):
        views += [RelationView(direction, x.type, x.other, x.title, x.start_date, x.end_date)
                  for x in conn.execute(query)]
    return tuple(views)


def _division_filter(prefixes: Iterable[str] | None) -> ColumnElement[bool] | None:
    if prefixes is None:
        return None
    prefixes = list(prefixes)
    if not prefixes:
        return t.archives.c.id.is_(None)  # an empty scope sees nothing
    return or_(*(t.archives.c.division.startswith(p, autoescape=True) for p in prefixes))


def list_archives(conn: Connection, division_prefixes: Iterable[str] | None = None, type: str | None = None,
                  limit: int = 100, offset: int = 0) -> list[ArchiveSummary]:
    a = t.archives
    query = select(a.c.id, a.c.type, a.c.title, a.c.division, a.c.reference_code, a.c.year, a.c.status,
                   a.c.head_version, a.c.updated)
    scope = _division_filter(division_prefixes)
    if scope is not None:
        query = query.where(scope)
    if type is not None:
        query = query.where(a.c.type == type)
    query = query.order_by(a.c.division, a.c.reference_code, a.c.id).limit(limit).offset(offset)
    return [ArchiveSummary(r.id, r.type, r.title, r.division, r.reference_code, r.year, r.status,
                           r.head_version, utc(r.updated)) for r in conn.execute(query)]


def archives_of_person(conn: Connection, resident_id: str) -> list[tuple[str, str]]:
    """``(archive id, role)`` of every household naming ``resident_id`` as head or member."""
    query = (select(t.people.c.archive_id, t.people.c.role).where(t.people.c.resident_id == resident_id)
             .order_by(t.people.c.archive_id, t.people.c.role))
    return [(r.archive_id, r.role) for r in conn.execute(query)]


def archive_ids(conn: Connection) -> list[str]:
    return list(conn.scalars(select(t.archives.c.id).order_by(t.archives.c.id)))


def archive_count(conn: Connection) -> int:
    return int(conn.scalar(select(func.count()).select_from(t.archives)) or 0)


def _counts(conn: Connection, column: ColumnElement[Any], scope: ColumnElement[bool] | None) -> dict[str, int]:
    query = select(column, func.count()).group_by(column).order_by(column)
    if scope is not None:
        query = query.where(scope)
    return {("" if k is None else str(k)): n for k, n in conn.execute(query)}


def stats(conn: Connection, division_prefixes: Iterable[str] | None = None) -> CatalogStats:
    """Counts of archives by type, division and status; versions; files and bytes of head versions."""
    a, v = t.archives, t.versions
    scope = _division_filter(division_prefixes)
    by_type = _counts(conn, a.c.type, scope)
    versions = select(func.count(v.c.id)).join(a, a.c.id == v.c.archive_id)
    heads = (select(func.coalesce(func.sum(v.c.file_count), 0), func.coalesce(func.sum(v.c.bytes), 0))
             .join(a, and_(a.c.id == v.c.archive_id, a.c.head_seq == v.c.seq)))
    if scope is not None:
        versions, heads = versions.where(scope), heads.where(scope)
    file_count, byte_count = conn.execute(heads).one()
    return CatalogStats(archives=sum(by_type.values()), by_type=by_type,
                        by_division=_counts(conn, a.c.division, scope), by_status=_counts(conn, a.c.status, scope),
                        versions=conn.scalar(versions) or 0, files=int(file_count), bytes=int(byte_count))

