"""A search as a signed-in user may run it (interim adapter over the search engine, until
``repository.services`` offers the search use-case).

The user's division scope is ANDed to every query (so hits, totals and facet counts never include an
archive outside it); researchers get identity numbers masked in every hit. Division facet counts are rolled
up the division tree by the index itself (each archive is indexed under its division and every ancestor);
this module names them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from ...divisions import tree_for
from ...errors import QuerySyntaxError
from ...home import Repository
from ...search.query import parse
from ...search.results import SearchRequest, SearchResult
from ...search.schema import lookup
from ...services import people
from . import access
from .access import Principal

#: advanced-search fields of the form -> index query fields
ADVANCED = ("name", "id", "ref", "division", "year", "type", "security", "status", "class")
FACETS = ("division", "type", "class", "year", "security", "status")
SORTS = ("relevance", "year", "-year", "id", "-id")
PER_PAGE = 20


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int
    depth: int  # for divisions: the level below the top shown, for indentation; 0 otherwise


@dataclass(frozen=True)
class SearchPage:
    result: SearchResult
    facets: dict[str, list[FacetValue]]
    division_names: dict[str, str]
    pages: int


def search(repo: Repository, principal: Principal, query: str, fields: Mapping[str, str], sort: str | None,
           page: int) -> SearchPage:
    """Run the search within the principal's scope; raises SearchRequestError/QuerySyntaxError for bad
    input (the view shows the message)."""
    tree = tree_for(repo.cfg)
    filters = {name: value.strip() for name, value in fields.items() if name in ADVANCED and value.strip()}
    request = SearchRequest(query=query, filters=filters, division=access.scope_division(principal), facets=FACETS,
                            sort=sort if sort in SORTS else None, page=page, per_page=PER_PAGE)
    result = repo.search.search(guarded(principal, request), divisions=tree)
    if not access.sees_personal_data(principal):
        result = _masked(repo, result)
    names = {code: d.name for code in _codes(result) if (d := tree.get(code)) is not None}
    facets = {name: _facet(name, counts, tree, principal) for name, counts in result.facets.items()}
    pages = max(1, -(-result.total // PER_PAGE))
    return SearchPage(result, facets, names, pages)


#: a resident identity number (GB 11643: 18 characters, or the old 15 digits) inside a query word
_RESIDENT_ID = re.compile(r"\d{17}[\dXx]|\d{15}")
#: what a search that may not look at resident IDs runs instead: an archive id no archive has, so the answer
#: (no hits, total 0, empty facets) is the engine's own answer to a query that matches nothing
_NO_ARCHIVE = {"archive": "-"}


def asks_resident_id(request: SearchRequest) -> bool:
    """Whether ``request`` searches by resident identity number: the ``id`` field or filter, or an
    ID-shaped word in any field (the index has the numbers in its all-fields text as well)."""
    if any(lookup(name) is not None and lookup(name).index_field == "resident_id"  # type: ignore[union-attr]
           for name, value in request.filters.items() if value):
        return True
    try:
        atoms = parse(request.query).atoms
    except QuerySyntaxError:
        return False  # refused by the search itself, with its message
    return any((a.field is not None and a.field.index_field == "resident_id") or _RESIDENT_ID.search(a.value)
               for a in atoms)


def guarded(principal: Principal, request: SearchRequest) -> SearchRequest:
    """``request`` as ``principal`` may run it: a user who does not see personal data (researchers,
    auditors) cannot search by resident ID. Such a search gets exactly the answer of a search matching
    nothing (not a refusal, and no count), so it tells nothing of whether the number is in the repository."""
    if access.sees_personal_data(principal) or not asks_resident_id(request):
        return request
    return replace(request, query="", filters=_NO_ARCHIVE)


def _masked(repo: Repository, result: SearchResult) -> SearchResult:
    """As a principal without personal data sees it: identity numbers masked everywhere, and the names of
    each archive's people (looked up in the catalogue for the whole page at once: its household's, and for a
    unit archive its tenants' and buyers', the households linked to it) masked in every string of its hit. Highlight marks are
    dropped first, so a mark inside a name does not shield it from the mask. One pass over each hit (names, then
    identity numbers, in the strings that can hold them; ``ids_first``: the same answer as masking the numbers
    first with :func:`repository.search.masking.mask_result`, as the former two passes did). A hit of an archive
    the catalogue does not hold is left out (and out of the total)."""
    hits = []
    found = people.people_of(repo, [h.archive_id for h in result.hits])  # the page's people, in a few queries
    for hit in result.hits:
        if hit.archive_id not in found:
            # the index knows an archive the catalogue does not (disposed, or an index behind or built by older
            # code): whose names it holds is unknown, so it cannot be masked; its page would be a 404 anyway
            continue
        plain = {"title": hit.title, "items": [i if type(i) is dict else dict(i) for i in hit.items],
                 "paper": [p if type(p) is dict else dict(p) for p in hit.paper],  # only read: masking makes new ones
                 "highlights": {k: _plain(v) for k, v in hit.highlights.items()}}
        masked = people.masked_with(found[hit.archive_id], plain, ids_first=True)
        hits.append(replace(hit, title=masked["title"], items=tuple(masked["items"]),
                            paper=tuple(masked["paper"]), highlights=masked["highlights"]))
    return replace(result, hits=hits, total=result.total - (len(result.hits) - len(hits)))


def _plain(fragment: str) -> str:
    if "<" not in fragment and ">" not in fragment and "&" not in fragment:
        return fragment  # no mark and no entity: unescaping and escaping again would give it back
    return html.escape(html.unescape(fragment.replace("<em>", "").replace("</em>", "")), quote=False)


def _codes(result: SearchResult) -> set[str]:
    return {h.division for h in result.hits} | set(result.facets.get("division", {}))


def _facet(name: str, counts: Mapping[str, int], tree: Any, principal: Principal) -> list[FacetValue]:  # noqa: ANN401
    return [FacetValue(v, n, d) for v, n, d in facet_rows(name, counts, tree, principal)]


def facet_rows(name: str, counts: Mapping[str, int], tree: Any,  # noqa: ANN401
               principal: Principal) -> list[tuple[str, int, int]]:
    """``(value, count, depth)`` of one facet as ``principal`` sees it (the page's :class:`FacetValue`, the API's
    objects): divisions in scope only, in tree order, ``depth`` below the top one shown; others as counted."""
    if name != "division":
        return [(v, n, 0) for v, n in counts.items()]
    # the tree below the user's scope, in tree order (parents before children); each code's chain remembered
    chains = {c: _chain(tree, c) for c in counts if access.may_see(principal, c)}
    top = min((len(chain) for chain in chains.values()), default=0)
    ordered = sorted(chains, key=chains.__getitem__)
    return [(c, counts[c], max(0, len(chains[c]) - top)) for c in ordered]


@lru_cache(maxsize=65_536)
def _chain(tree: Any, code: str) -> tuple[str, ...]:  # noqa: ANN401
    return tuple(tree.ancestors(code))
