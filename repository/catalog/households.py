"""The household records of a page of archives and of the archives linked to them (房户对接), in two or three
queries: what masking a page of search hits for a researcher needs (:mod:`repository.dip.people`), instead
of a whole archive view (six queries) per hit and per link."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, or_, select

from ..model import Household
from . import tables as t
from .serial import from_plain, to_plain
from .store import Catalog


def linked(conn: Connection, archive_ids: Iterable[str]) -> dict[str, list[str]]:
    """Per archive of ``archive_ids``: the archives it is linked with, either way (its relations' targets, and
    the archives whose relations name it), as the archive view's relations list them."""
    ids = list(dict.fromkeys(archive_ids))
    out: dict[str, list[str]] = {i: [] for i in ids}
    if not ids:
        return out
    r = t.relations
    rows = conn.execute(select(r.c.archive_id, r.c.target).where(or_(r.c.archive_id.in_(ids), r.c.target.in_(ids))))
    for source, target in rows:
        if source in out:
            out[source].append(target)
        if target in out:
            out[target].append(source)
    return out


def households(conn: Connection, archive_ids: Iterable[str]) -> dict[str, dict[str, Any] | None]:
    """Per catalogued archive of ``archive_ids``: its household record (JSON-ready, as ``to_plain`` of the
    archive view's household gives it), or None for an archive without one. Archives not catalogued are left
    out."""
    ids = list(dict.fromkeys(archive_ids))
    if not ids:
        return {}
    a = t.archives
    out: dict[str, dict[str, Any] | None] = {}
    for archive_id, description in conn.execute(select(a.c.id, a.c.description).where(a.c.id.in_(ids))):
        plain = (description or {}).get("household")
        out[archive_id] = None if plain is None else to_plain(from_plain(Household, plain))
    return out


def with_links(catalog: Catalog, archive_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Per archive of ``archive_ids``: its household record and those of the archives linked to it (房户对接),
    as the archive views would give them. An archive the catalogue does not hold (no longer, or not yet: a
    search index ahead of or behind the catalogue) is left out, so a caller can tell it from an archive with no
    people. At most three queries, in one transaction, whatever the number of archives."""
    ids = list(dict.fromkeys(archive_ids))
    with catalog.transaction() as conn:
        own = households(conn, ids)
        links = linked(conn, [i for i in ids if i in own])
        others = [o for i in own for o in links[i] if o not in own]
        found = {**own, **households(conn, others)} if others else own
    out: dict[str, list[dict[str, Any]]] = {}
    for archive_id in ids:
        if archive_id in own:
            records = [own.get(archive_id)] + [found.get(o) for o in links.get(archive_id, ())]
            out[archive_id] = [r for r in records if r]
    return out
