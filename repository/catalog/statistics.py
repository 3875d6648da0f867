"""Statistics and audit runs read from the catalogue, always within division-code prefixes (the user's scope).

Counts are by raw value (division codes, type codes ...); naming and rolling up the division tree is the
statistics service's job (:mod:`repository.services.stats`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, exists, func, select, true

from . import tables as t
from .read import _division_filter
from .records import utc
from .store import Catalog

#: archive columns counted by value: name -> column
BY = {"division": t.archives.c.division, "type": t.archives.c.type, "security": t.archives.c.security_type,
      "status": t.archives.c.status, "year": t.archives.c.year}


@dataclass(frozen=True)
class Counts:
    """Archives and items per value of one archive column."""

    archives: dict[str, int]
    items: dict[str, int]


@dataclass(frozen=True)
class FormatCount:
    puid: str
    name: str
    files: int
    bytes: int


@dataclass(frozen=True)
class AuditRun:
    archive_id: str
    version: str | None
    started: datetime
    finished: datetime | None
    result: str
    files_checked: int
    bytes_checked: int
    detail: Any  # noqa: ANN401 - problems found, by code (JSON)


def _scoped(query: Select[Any], scope: ColumnElement[bool] | None) -> Select[Any]:
    return query if scope is None else query.where(scope)


def _key(value: object) -> str:
    return "" if value is None else str(value)


def counts_by(conn: Connection, name: str, prefixes: Iterable[str] | None) -> Counts:
    """Archives and their items counted by the archive column ``name`` (a key of :data:`BY`)."""
    column, a, i = BY[name], t.archives, t.items
    scope = _division_filter(prefixes)
    archives = _scoped(select(column, func.count()).group_by(column), scope)
    items = _scoped(select(column, func.count(i.c.id)).join(i, i.c.archive_id == a.c.id).group_by(column), scope)
    return Counts({_key(k): n for k, n in conn.execute(archives)}, {_key(k): n for k, n in conn.execute(items)})


def items_by_class(conn: Connection, prefixes: Iterable[str] | None) -> dict[str, int]:
    a, i = t.archives, t.items
    query = select(i.c.material_class, func.count()).join(a, a.c.id == i.c.archive_id).group_by(i.c.material_class)
    return {_key(k): n for k, n in conn.execute(_scoped(query, _division_filter(prefixes)))}


def _items_where(conn: Connection, condition: ColumnElement[bool], prefixes: Iterable[str] | None) -> int:
    a, i = t.archives, t.items
    query = select(func.count()).select_from(i.join(a, a.c.id == i.c.archive_id)).where(condition)
    return int(conn.scalar(_scoped(query, _division_filter(prefixes))) or 0)


def coverage(conn: Connection, prefixes: Iterable[str] | None) -> dict[str, tuple[int, int]]:
    """Items with and without paper references, and with and without a file in the head version
    (digitised), as ``{"paper": (with, without), "digitised": (with, without)}``."""
    a, i, p, f, v = t.archives, t.items, t.paper_refs, t.files, t.versions
    total = _items_where(conn, true(), prefixes)
    paper = exists().where(and_(p.c.archive_id == i.c.archive_id, p.c.item_number == i.c.number))
    head_file = exists().where(and_(f.c.archive_id == i.c.archive_id, f.c.item_number == i.c.number,
                                    f.c.version_id == v.c.id, v.c.archive_id == a.c.id, v.c.seq == a.c.head_seq))
    with_paper = _items_where(conn, paper, prefixes)
    digitised = _items_where(conn, head_file, prefixes)
    return {"paper": (with_paper, total - with_paper), "digitised": (digitised, total - digitised)}


def formats(conn: Connection, prefixes: Iterable[str] | None) -> list[FormatCount]:
    """Files of head versions by format (PUID and name): how many, how many bytes; largest first."""
    a, f, v = t.archives, t.files, t.versions
    query = (select(f.c.puid, f.c.format_name, func.count(), func.coalesce(func.sum(f.c.size), 0))
             .join(v, v.c.id == f.c.version_id).join(a, and_(a.c.id == v.c.archive_id, a.c.head_seq == v.c.seq))
             .group_by(f.c.puid, f.c.format_name))
    rows = [FormatCount(_key(puid), _key(name), int(n), int(size))
            for puid, name, n, size in conn.execute(_scoped(query, _division_filter(prefixes)))]
    return sorted(rows, key=lambda r: (-r.bytes, r.puid))


def audit_runs(conn: Connection, prefixes: Iterable[str] | None, *, failed_only: bool = False,
               limit: int = 50) -> list[AuditRun]:
    """The latest audit runs of archives in scope, newest first (``failed_only``: results other than ok)."""
    a, r = t.archives, t.audits
    query = (select(r.c.archive_id, r.c.version, r.c.started, r.c.finished, r.c.result, r.c.files_checked,
                    r.c.bytes_checked, r.c.detail).join(a, a.c.id == r.c.archive_id)
             .order_by(r.c.started.desc(), r.c.id.desc()).limit(limit))
    if failed_only:
        query = query.where(r.c.result != "ok")
    return [AuditRun(row.archive_id, row.version, utc(row.started), utc(row.finished) if row.finished else None,
                     row.result, row.files_checked, row.bytes_checked, row.detail)
            for row in conn.execute(_scoped(query, _division_filter(prefixes)))]


@dataclass(frozen=True)
class Figures:
    """Everything the statistics page counts, within one scope."""

    by: dict[str, Counts]  # keys of BY
    classes: dict[str, int]
    coverage: dict[str, tuple[int, int]]
    formats: list[FormatCount]


def figures(catalog: Catalog, prefixes: Iterable[str] | None) -> Figures:
    scope = None if prefixes is None else list(prefixes)
    with catalog.transaction() as conn:
        return Figures({name: counts_by(conn, name, scope) for name in BY}, items_by_class(conn, scope),
                       coverage(conn, scope), formats(conn, scope))


def recent_runs(catalog: Catalog, prefixes: Iterable[str] | None, *, failed_only: bool = False,
                limit: int = 50) -> list[AuditRun]:
    with catalog.transaction() as conn:
        return audit_runs(conn, None if prefixes is None else list(prefixes), failed_only=failed_only, limit=limit)
