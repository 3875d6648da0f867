"""The paper references of every described item, read from the catalogue in one query (for the dual-track
coverage on the statistics page: no archive view is built, no stored file opened); and every archive's
description, also in one query (for reconciliation, which needs each item's pages, box, shelf and files)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from ..model import Archive
from . import tables as t
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


def keys_by_division(catalog: Catalog) -> dict[str, int]:
    """How many items :func:`paper_keys` lists, per division code (one grouped query)."""
    a, p = t.archives, t.paper_refs
    query = select(a.c.division, func.count()).select_from(p.join(a, a.c.id == p.c.archive_id)).group_by(a.c.division)
    with catalog.transaction() as conn:
        return {str(d): int(n) for d, n in conn.execute(query)}
