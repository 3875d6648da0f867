"""The paper references of every described item, read from the catalogue in one query (for the dual-track
coverage on the statistics page: no archive view is built, no stored file opened); every item with what
reconciliation compares (pages, box, shelf, the archive's identifier and 档号), also in one query, from the
item rows (no description decoded); the files of chosen items (the head version's rows); and every archive's
description (the slower path, kept to check the item rows against)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select

from ..model import Archive
from . import tables as t
from .audits_sqlite import CHUNK, chunks
from .serial import from_plain
from .store import Catalog


@dataclass(frozen=True)
class ItemPaperKey:
    archive_id: str
    division: str
    fonds: str  # 全宗号
    catalogue: str  # 目录号
    volume: str  # 案卷号
    item: int  # 件号

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.fonds, self.catalogue, self.volume, self.item)


def paper_keys(catalog: Catalog) -> list[ItemPaperKey]:
    """Every item's paper reference with its archive's identifier, division and fonds."""
    a, p = t.archives, t.paper_refs
    query = (select(a.c.id, a.c.division, a.c.fonds, p.c.catalogue, p.c.volume, p.c.item)
             .join(p, p.c.archive_id == a.c.id).order_by(a.c.id, p.c.item_number))
    with catalog.transaction() as conn:
        return [ItemPaperKey(*row) for row in conn.execute(query)]


def descriptions(catalog: Catalog) -> list[Archive]:
    """The current description of every catalogued archive, by identifier, in one query (not one per archive:
    reconciliation of a large catalogue reads them all)."""
    a = t.archives
    with catalog.transaction() as conn:
        return [from_plain(Archive, row.description) for row in conn.execute(
            select(a.c.description).order_by(a.c.id))]


def fonds_divisions(catalog: Catalog, fonds: Collection[str]) -> dict[str, set[str]]:
    """The divisions of the catalogued archives of each fonds (全宗) of ``fonds`` (one grouped query)."""
    if not fonds:
        return {}
    a = t.archives
    query = select(a.c.fonds, a.c.division).where(a.c.fonds.in_(sorted(fonds))).group_by(a.c.fonds, a.c.division)
    found: dict[str, set[str]] = {}
    with catalog.transaction() as conn:
        for f, division in conn.execute(query):
            found.setdefault(str(f), set()).add(str(division))
    return found


def keys_by_division(catalog: Catalog) -> dict[str, int]:
    """How many items :func:`paper_keys` lists, per division code (one grouped query)."""
    a, p = t.archives, t.paper_refs
    query = select(a.c.division, func.count()).select_from(p.join(a, a.c.id == p.c.archive_id)).group_by(a.c.division)
    with catalog.transaction() as conn:
        return {str(d): int(n) for d, n in conn.execute(query)}


def item_rows(catalog: Catalog) -> Iterator[tuple[Any, ...]]:
    """Every described item as ``(archive id, division, fonds, 档号, item number, pages, catalogue, volume,
    paper item, box, shelf "store/row/cabinet/cell")``, by archive and item number, in one query."""
    a, i, p = t.archives, t.items, t.paper_refs
    query = (select(a.c.id, a.c.division, a.c.fonds, a.c.reference_code, i.c.number, i.c.pages, p.c.catalogue,
                    p.c.volume, p.c.item, p.c.box, p.c.shelf_store, p.c.shelf_row, p.c.shelf_cabinet,
                    p.c.shelf_cell)
             .select_from(i.join(a, a.c.id == i.c.archive_id)
                          .join(p, and_(p.c.archive_id == i.c.archive_id, p.c.item_number == i.c.number)))
             .order_by(a.c.id, i.c.number))
    with catalog.transaction() as conn:
        for rows in conn.execute(query).partitions(10_000):
            for r in rows:
                yield (*r[:10], f"{r[10]}/{r[11]}/{r[12]}/{r[13]}")


def item_files(catalog: Catalog, wanted: Collection[tuple[str, int]]) -> dict[tuple[str, int], tuple[str, ...]]:
    """The stored files of each item ``(archive id, item number)`` of ``wanted``, from the head version's file
    rows (none when nothing is wanted). Only the wanted archives' rows are read: a query per
    :data:`~.audits_sqlite.CHUNK` archives (``archive_id IN (…)``, and ``item_number IN (…)`` the numbers wanted
    of them while those stay as few), so the bound parameters stay well under SQLite's and PostgreSQL's limits
    and a reconciliation matching a few archives of two million reads their rows, not the catalogue's."""
    if not wanted:
        return {}
    numbers: dict[str, set[int]] = {}
    for archive_id, number in wanted:
        numbers.setdefault(archive_id, set()).add(number)
    f, v, a = t.files, t.versions, t.archives
    query = (select(f.c.archive_id, f.c.item_number, f.c.path)
             .select_from(f.join(v, v.c.id == f.c.version_id)
                          .join(a, and_(a.c.id == v.c.archive_id, a.c.head_seq == v.c.seq)))
             .where(f.c.item_number.is_not(None)).order_by(f.c.archive_id, f.c.item_number, f.c.path))
    found: dict[tuple[str, int], list[str]] = {}
    with catalog.transaction() as conn:
        for ids in chunks(sorted(numbers)):
            asked = set().union(*(numbers[i] for i in ids))
            batch = query.where(f.c.archive_id.in_(ids))
            if len(asked) <= CHUNK:
                batch = batch.where(f.c.item_number.in_(sorted(asked)))
            for archive_id, number, path in conn.execute(batch):
                if number in numbers[archive_id]:
                    found.setdefault((archive_id, number), []).append(path)
    return {k: tuple(v) for k, v in found.items()}
