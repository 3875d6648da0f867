"""Catalogue queries: one archive in full (``hsar show``), archive lists and dashboard counts.

Every function takes an open :class:`~sqlalchemy.Connection`; the caller owns the transaction, so a whole
answer is read from one snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Row,
    String,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    union_all,
)

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

# The statements of :func:`show`, built once (building a statement cost about as much as running it); the
# archive's identifier is their one parameter. Six statements: the archive, its versions, items with their
# paper references, the head version's files, events, and relations both ways (one UNION ALL).
_ID: BindParameter[str] = bindparam("archive_id", type_=String())
_ARCHIVE = select(t.archives).where(t.archives.c.id == _ID)
_VERSIONS = select(t.versions).where(t.versions.c.archive_id == _ID).order_by(t.versions.c.seq)
_ITEMS = (select(t.items, t.paper_refs.c.catalogue, t.paper_refs.c.volume, t.paper_refs.c.item,
                 t.paper_refs.c.page_start, t.paper_refs.c.page_end, t.paper_refs.c.box, t.paper_refs.c.shelf_store,
                 t.paper_refs.c.shelf_row, t.paper_refs.c.shelf_cabinet, t.paper_refs.c.shelf_cell)
          .join(t.paper_refs, and_(t.paper_refs.c.archive_id == t.items.c.archive_id,
                                   t.paper_refs.c.item_number == t.items.c.number))
          .where(t.items.c.archive_id == _ID).order_by(t.items.c.number))
_FILES = (select(t.files).join(t.versions, t.versions.c.id == t.files.c.version_id)
          .join(t.archives, and_(t.archives.c.id == t.versions.c.archive_id, t.archives.c.head_seq == t.versions.c.seq))
          .where(t.versions.c.archive_id == _ID).order_by(t.files.c.path))
_EVENTS = (select(t.events, t.versions.c.number.label("version")).join(t.versions, t.versions.c.id == t.events.c.version_id)
           .where(t.events.c.archive_id == _ID).order_by(t.events.c.datetime, t.events.c.identifier))


def _relations_query() -> Any:  # noqa: ANN401 - a compound select
    r, a = t.relations, t.archives
    outgoing = (select(literal("out").label("direction"), r.c.type, r.c.target.label("other"), a.c.title,
                       r.c.start_date, r.c.end_date)
                .outerjoin(a, a.c.id == r.c.target).where(r.c.archive_id == _ID))
    incoming = (select(literal("in").label("direction"), r.c.type, r.c.archive_id.label("other"), a.c.title,
                       r.c.start_date, r.c.end_date)
                .join(a, a.c.id == r.c.archive_id).where(r.c.target == _ID))
    both = union_all(outgoing, incoming).subquery()
    order = case((both.c.direction == "out", 0), else_=1)
    return select(both).order_by(order, both.c.start_date, both.c.other, both.c.type)


_RELATIONS = _relations_query()


def show(conn: Connection, archive_id: str) -> ArchiveView | None:
    params = {"archive_id": archive_id}
    row = conn.execute(_ARCHIVE, params).first()
    if row is None:
        return None
    archive = from_plain(Archive, row.description)
    return ArchiveView(
        archive=archive, head_version=row.head_version, created=utc(row.created), updated=utc(row.updated),
        versions=_versions(conn, params), items_by_class=_items(conn, archive, params),
        files=_files(conn, params), events=_events(conn, params), relations=_relations(conn, params),
    )


def _shelf(row: Row[Any]) -> Shelf:
    return Shelf(row.shelf_store, row.shelf_row, row.shelf_cabinet, row.shelf_cell)


def _versions(conn: Connection, params: dict[str, str]) -> tuple[VersionView, ...]:
    return tuple(
        VersionView(number=r.number, created=utc(r.created), message=r.message, user=r.ocfl_user,
                    sip_name=r.sip_name, package_type=r.package_type, file_count=r.file_count, bytes=r.bytes,
                    checks=r.checks, volume=_volume(r))
        for r in conn.execute(_VERSIONS, params))


def _volume(r: Row[Any]) -> Volume | None:
    if r.volume_number is None:
        return None
    return Volume(r.volume_catalogue, r.volume_number, r.volume_box, _shelf(r), bool(r.separately_filed),
                  r.original_volume)


def _items(conn: Connection, archive: Archive, params: dict[str, str]) -> tuple[ClassGroup, ...]:
    files_of = {item.number: item.files for item in archive.items}
    by_class: dict[MaterialClass, list[ItemView]] = {}
    for r in conn.execute(_ITEMS, params):
        paper = PaperRef(r.catalogue, r.volume, r.item, r.page_start, r.page_end, r.box, _shelf(r))
        view = ItemView(number=r.number, material_class=MaterialClass(r.material_class), subtype=r.subtype,
                        title=r.title, date=r.date, pages=r.pages, paper=paper,
                        files=tuple(files_of.get(r.number, ())), version_added=r.version_added)
        by_class.setdefault(view.material_class, []).append(view)
    order = list(CLASSES_BY_TYPE.get(archive.type, ()))
    order += [c for c in MaterialClass if c in by_class and c not in order]
    return tuple(ClassGroup(c, class_label(c), tuple(by_class.get(c, ()))) for c in order)


def _files(conn: Connection, params: dict[str, str]) -> tuple[FileView, ...]:
    return tuple(
        FileView(path=r.path, size=r.size, sha512=r.sha512, puid=r.puid, format_name=r.format_name,
                 format_version=r.format_version, policy=r.policy, item_number=r.item_number,
                 version_added=r.version_added)
        for r in conn.execute(_FILES, params))


def _events(conn: Connection, params: dict[str, str]) -> tuple[EventView, ...]:
    return tuple(
        EventView(identifier=r.identifier, type=r.type, datetime=utc(r.datetime), outcome=r.outcome,
                  outcome_detail=r.outcome_detail, detail=r.detail, agent=r.agent, object_path=r.object_path,
                  version=r.version)
        for r in conn.execute(_EVENTS, params))


def _relations(conn: Connection, params: dict[str, str]) -> tuple[RelationView, ...]:
    return tuple(RelationView(x.direction, x.type, x.other, x.title, x.start_date, x.end_date)
                 for x in conn.execute(_RELATIONS, params))


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


#: where an archive's division is kept, with the column naming the archive: its catalogue row, else (disposed of)
#: its tombstone's row
_HELD = ((t.archives, t.archives.c.id), (t.disposals, t.disposals.c.archive_id))


def divisions_of(conn: Connection, archive_ids: Iterable[str], *, disposed: bool = True) -> dict[str, str]:
    """The division of each of ``archive_ids`` the catalogue knows: a catalogued archive's, else a disposed
    one's (its tombstone's; not with ``disposed`` False); an identifier it knows neither way is left out. One
    query per table and 500 identifiers."""
    wanted = sorted(set(archive_ids))
    found: dict[str, str] = {}
    for table, ids in _HELD if disposed else _HELD[:1]:
        rest = [i for i in wanted if i not in found]
        for start in range(0, len(rest), 500):  # bounded IN lists
            found.update((str(i), str(d)) for i, d in conn.execute(
                select(ids, table.c.division).where(ids.in_(rest[start:start + 500]))))
    return found


def ids_in_scope(conn: Connection, prefixes: Iterable[str], limit: int) -> list[str] | None:
    """The identifiers of the archives within the division scope ``prefixes``, catalogued or disposed of; None
    when there are more than ``limit`` (a caller then filters another way)."""
    prefixes = list(prefixes)
    if not prefixes:
        return []
    found: list[str] = []
    for table, ids in _HELD:
        scope = or_(*(table.c.division.startswith(p, autoescape=True) for p in prefixes))
        found += conn.scalars(select(ids).where(scope).limit(limit + 1 - len(found)))
        if len(found) > limit:
            return None
    return found


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

