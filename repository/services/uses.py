"""The access register (利用登记) as a reader may see it, for the register page, its CSV and the JSON API alike.

A reader of the national scope sees every entry. Below it, an entry is shown only when its archive lies in the
reader's scope (:func:`repository.access.may_see` of the archive's division: the catalogued archive's, or a
disposed one's from its tombstone); an entry of an archive the catalogue does not know at all is not shown.
An archive outside the scope is not confirmed to exist by a line that names it, nor by a count.

The register lives in the state database and the divisions in the catalogue, which may be two servers, so
the filter is not a join. A scope of at most :data:`IN_LIST` archives asks for the uses of those archives by
their identifiers (an indexed query, paged in SQL). A larger scope holds most of the uses, so entries are read
in ``seq`` order a chunk at a time (keyset, not offset), each chunk's archives looked up in one catalogue
query, until the page (``offset`` in-scope entries skipped, ``limit`` kept) is full. The chain's verification stays the whole register's: it is the chain's state, not a list of
uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .. import access
from ..access import Principal
from ..accounts.register import RegisterEntry, list_uses
from ..catalog.store import Catalog
from ..state.db import State

#: entries read per step when filtering by scope
CHUNK = 1_000
#: a scope of at most this many archives lists its uses by their identifiers (one indexed query); a larger one
#: (a city, a province) holds most uses, so reading the register in order finds its page soon
IN_LIST = 5_000


@dataclass(frozen=True)
class UseFilter:
    username: str | None = None
    archive_id: str | None = None
    action: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def uses_in_scope(state: State, catalog: Catalog, principal: Principal, where: UseFilter, *,
                  limit: int | None = None, offset: int = 0) -> list[RegisterEntry]:
    """The entries matching ``where`` that ``principal`` may see, oldest first: ``offset`` of them skipped,
    at most ``limit`` (None: all)."""
    def read(*, limit: int | None, offset: int = 0, after: int | None = None,
             archive_ids: list[str] | None = None) -> list[RegisterEntry]:
        return list_uses(state, username=where.username, archive_id=where.archive_id, action=where.action,
                         since=where.since, until=where.until, limit=limit, offset=offset, after=after,
                         archive_ids=archive_ids)

    if access.national(principal):
        return read(limit=limit, offset=offset)
    if where.archive_id is not None:  # one archive: in scope or not at all
        division = catalog.divisions_of([where.archive_id]).get(where.archive_id)
        return read(limit=limit, offset=offset) if division is not None and access.may_see(principal, division) else []
    mine = catalog.ids_in_scope(access.scope_prefixes(principal), IN_LIST)
    if mine is not None:  # a scope of few archives: their uses, found by the index, not by reading them all
        return read(limit=limit, offset=offset, archive_ids=mine)
    seen: dict[str, bool] = {}
    found: list[RegisterEntry] = []
    skip, last = offset, None
    while limit is None or len(found) < limit:
        chunk = read(limit=CHUNK, after=last)
        if not chunk:
            break
        new = {e.archive_id for e in chunk} - seen.keys()
        if new:
            divisions = catalog.divisions_of(new)
            seen.update((i, i in divisions and access.may_see(principal, divisions[i])) for i in new)
        for entry in chunk:
            if not seen[entry.archive_id]:
                continue
            if skip:
                skip -= 1
                continue
            found.append(entry)
            if limit is not None and len(found) == limit:
                break
        last = chunk[-1].seq
        if len(chunk) < CHUNK:
            break
    return found
