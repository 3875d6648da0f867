"""Statistics and audit runs read from the catalogue, always within division-code prefixes (the user's scope).

Counts are by raw value (division codes, type codes ...); naming and rolling up the division tree is the
statistics service's job (:mod:`repository.services.stats`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, exists, func, select

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
    repaired_from: str | None = None  # the copies a repair was made from (replica1, …)

    @property
    def codes(self) -> list[str]:
        """The issue codes the run found (its detail's ``codes``)."""
        found = self.detail.get("codes") if isinstance(self.detail, dict) else None
        return [str(c) for c in found] if isinstance(found, list) else []


def _scoped(query: Select[Any], scope: ColumnElement[bool] | None) -> Select[Any]:
    return query if scope is None else query.where(scope)


def _key(value: object) -> str:
    return "" if value is None else str(value)


def _archive_rows(conn: Connection) -> list[tuple[Any, ...]]:
    """``(division, type, security, status, year, archives, items)`` for every combination found."""
    a, i = t.archives, t.items
    per_archive = select(i.c.archive_id, func.count().label("n")).group_by(i.c.archive_id).subquery()
    columns = [a.c.division, *(BY[k] for k in BY if k != "division")]
    query = (select(*columns, func.count(), func.coalesce(func.sum(per_archive.c.n), 0))
             .select_from(a.outerjoin(per_archive, per_archive.c.archive_id == a.c.id)).group_by(*columns))
    return [tuple(row) for row in conn.execute(query)]


def _item_rows(conn: Connection) -> list[tuple[Any, ...]]:
    """``(division, material class, has paper references, digitised, items)``: digitised is an item with a
    file in its archive's head version. One pass over ``ix_items_census`` with two index look-ups per item
    (``paper_refs``' unique key, ``ix_files_census``); grouped outside, so each test runs once per item."""
    a, i, p, f, v = t.archives, t.items, t.paper_refs, t.files, t.versions
    paper = exists().where(and_(p.c.archive_id == i.c.archive_id, p.c.item_number == i.c.number))
    head_file = exists().where(and_(f.c.version_id == v.c.id, f.c.item_number == i.c.number))
    per_item = (select(a.c.division, i.c.material_class, paper.label("paper"), head_file.label("digitised"))
                .select_from(i.join(a, a.c.id == i.c.archive_id)
                             .join(v, and_(v.c.archive_id == a.c.id, v.c.seq == a.c.head_seq)))).subquery()
    c = per_item.c
    query = (select(c.division, c.material_class, c.paper, c.digitised, func.count())
             .group_by(c.division, c.material_class, c.paper, c.digitised))
    return [tuple(row) for row in conn.execute(query)]


def _format_rows(conn: Connection) -> list[tuple[Any, ...]]:
    """``(division, PUID, format name, files, bytes)`` of the files of head versions."""
    a, f, v = t.archives, t.files, t.versions
    query = (select(a.c.division, f.c.puid, f.c.format_name, func.count(), func.coalesce(func.sum(f.c.size), 0))
             .select_from(f.join(v, v.c.id == f.c.version_id)
                          .join(a, and_(a.c.id == v.c.archive_id, a.c.head_seq == v.c.seq)))
             .group_by(a.c.division, f.c.puid, f.c.format_name))
    return [tuple(row) for row in conn.execute(query)]


@dataclass(frozen=True)
class Census:
    """Every count of the statistics page for the whole catalogue, each row by division code, so that one
    census (three queries, each one pass) serves every scope: :meth:`scoped` sums the rows inside it."""

    archive_rows: list[tuple[Any, ...]]
    item_rows: list[tuple[Any, ...]]
    format_rows: list[tuple[Any, ...]]
    _scoped: dict[tuple[str, ...] | None, Figures] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def _by_division(self) -> dict[str, dict[tuple[str, str], tuple[int, int]]]:
        """Per column of :data:`BY`: (division, value) -> (archives, items); far fewer rows than the
        combinations of :attr:`archive_rows`, so a scope is summed quickly."""
        out: dict[str, dict[tuple[str, str], tuple[int, int]]] = {name: {} for name in BY}
        for division, *values, archives, items in self.archive_rows:
            for name, value in zip(BY, (division, *values), strict=True):
                key = (division, _key(value))
                a, i = out[name].get(key, (0, 0))
                out[name][key] = (a + int(archives), i + int(items))
        return out

    def scoped(self, prefixes: Iterable[str] | None) -> Figures:
        """The figures of the divisions starting with one of ``prefixes`` (None: all; empty: none); each
        scope summed once per census."""
        scope = None if prefixes is None else tuple(prefixes)
        found = self._scoped.get(scope)
        if found is None:
            found = self._scoped[scope] = self._sum(scope)
        return found

    def _sum(self, scope: tuple[str, ...] | None) -> Figures:
        def inside(division: str) -> bool:
            return scope is None or division.startswith(scope)

        by: dict[str, Counts] = {name: Counts({}, {}) for name in BY}
        for name, rows in self._by_division.items():
            counts = by[name]
            for (division, key), (archives, items) in rows.items():
                if inside(division):
                    counts.archives[key] = counts.archives.get(key, 0) + archives
                    counts.items[key] = counts.items.get(key, 0) + items
        for counts in by.values():  # as a group-by over items: a value without items has no items entry
            for key in [k for k, n in counts.items.items() if n == 0]:
                del counts.items[key]
        classes: dict[str, int] = {}
        paper, digitised, total = 0, 0, 0
        for division, material_class, has_paper, has_file, n in self.item_rows:
            if inside(division):
                classes[_key(material_class)] = classes.get(_key(material_class), 0) + int(n)
                total += int(n)
                paper += int(n) if has_paper else 0
                digitised += int(n) if has_file else 0
        found: dict[tuple[str, str], list[int]] = {}
        for division, puid, name, files, size in self.format_rows:
            if inside(division):
                sums = found.setdefault((_key(puid), _key(name)), [0, 0])
                sums[0] += int(files)
                sums[1] += int(size)
        formats = sorted((FormatCount(puid, name, n, size) for (puid, name), (n, size) in found.items()),
                         key=lambda r: (-r.bytes, r.puid))
        return Figures(by, classes, {"paper": (paper, total - paper), "digitised": (digitised, total - digitised)},
                       formats)


def census(catalog: Catalog) -> Census:
    """Count the whole catalogue once (in one read transaction)."""
    with catalog.transaction() as conn:
        return Census(_archive_rows(conn), _item_rows(conn), _format_rows(conn))


def change_mark(catalog: Catalog) -> tuple[int, ...]:
    """A cheap mark that changes whenever archives or versions are recorded, replaced or removed (the
    number of archives, of versions and the highest version id): a census is reused while it is the same."""
    a, v = t.archives, t.versions
    with catalog.transaction() as conn:
        row = conn.execute(select(select(func.count()).select_from(a).scalar_subquery(), func.count(),
                                  func.coalesce(func.max(v.c.id), 0)).select_from(v)).one()
    return tuple(int(x) for x in row)


def latest_version_id(catalog: Catalog) -> int:
    """The highest version id (0 for none): one index look-up, which grows with every version recorded
    (:mod:`repository.services.index_check` recounts the archives only when it moves)."""
    with catalog.transaction() as conn:
        return int(conn.scalar(select(func.max(t.versions.c.id))) or 0)


#: audit results (repository.audit.result.RESULTS, and "error" for a run that could not finish) by kind
FAILED_RESULTS = ("failed", "error")
REPAIRED_RESULTS = ("repaired",)


def audit_runs(conn: Connection, prefixes: Iterable[str] | None, *, results: Sequence[str] | None = None,
               limit: int = 50) -> list[AuditRun]:
    """The latest audit runs of archives in scope, newest first; ``results``: only runs with one of them
    (:data:`FAILED_RESULTS`, :data:`REPAIRED_RESULTS`)."""
    a, r = t.archives, t.audits
    query = (select(r.c.archive_id, r.c.version, r.c.started, r.c.finished, r.c.result, r.c.files_checked,
                    r.c.bytes_checked, r.c.detail, r.c.repaired_from).join(a, a.c.id == r.c.archive_id)
             .order_by(r.c.started.desc(), r.c.id.desc()).limit(limit))
    if results is not None:
        query = query.where(r.c.result.in_(list(results)))
    return [AuditRun(row.archive_id, row.version, utc(row.started), utc(row.finished) if row.finished else None,
                     row.result, row.files_checked, row.bytes_checked, row.detail, row.repaired_from)
            for row in conn.execute(_scoped(query, _division_filter(prefixes)))]


@dataclass(frozen=True)
class Figures:
    """Everything the statistics page counts, within one scope."""

    by: dict[str, Counts]  # keys of BY
    classes: dict[str, int]
    coverage: dict[str, tuple[int, int]]
    formats: list[FormatCount]


def figures(catalog: Catalog, prefixes: Iterable[str] | None) -> Figures:
    """The figures within ``prefixes``, counted now (:mod:`repository.services.stats` reuses a census)."""
    return census(catalog).scoped(prefixes)


def recent_runs(catalog: Catalog, prefixes: Iterable[str] | None, *, results: Sequence[str] | None = None,
                limit: int = 50) -> list[AuditRun]:
    with catalog.transaction() as conn:
        return audit_runs(conn, None if prefixes is None else list(prefixes), results=results, limit=limit)


def due_archives(catalog: Catalog, prefixes: Iterable[str] | None, before: datetime, *, limit: int = 100
                 ) -> tuple[int, list[tuple[str, datetime | None]]]:
    """Archives in scope with no audit finished since ``before``: how many, and the first ``limit`` of them
    (never audited first, then the longest unchecked; by identifier within each), answered by the catalogue
    from the audits' ``(archive_id, finished)`` index rather than by listing every archive."""
    a, r = t.archives, t.audits
    checked_since = exists().where(r.c.archive_id == a.c.id, r.c.finished >= before)
    last = select(func.max(r.c.finished)).where(r.c.archive_id == a.c.id).scalar_subquery()
    scope = _division_filter(None if prefixes is None else list(prefixes))
    count = _scoped(select(func.count()).select_from(a).where(~checked_since), scope)
    never = exists().where(r.c.archive_id == a.c.id)
    with catalog.transaction() as conn:
        total = int(conn.execute(count).scalar_one())
        shown: list[tuple[str, datetime | None]] = [
            (row.id, None) for row in conn.execute(_scoped(select(a.c.id).where(~never), scope)
                                                   .order_by(a.c.id).limit(limit))]
        if len(shown) < limit:  # then those checked before, the longest unchecked first
            stale = _scoped(select(a.c.id, last.label("last")).where(never, ~checked_since), scope)
            shown += [(row.id, utc(row.last)) for row in conn.execute(
                stale.order_by(last, a.c.id).limit(limit - len(shown)))]
    return total, shown

