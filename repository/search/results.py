"""Values a search takes and gives: :class:`SearchRequest`, :class:`Hit`, :class:`SearchResult`.

``SearchResult.to_dict()`` is the ``hsar search --json`` shape::

    {"total": 3, "hits": [{"archive_id", "title", "division", "items", "paper", "highlights"}, ...],
     "facets": {"status": {"provided": 2, "waiting": 1}, ...}}

``items`` are the archive's items that match the query (number, class, subtype, title, date, pages and the
item's paper reference; ``found_on`` lists the scanned pages ``{"file", "page"}`` whose OCR text matched); ``paper`` lists the paper volumes (reference code, catalogue, volume, box, shelf,
item numbers); ``highlights`` maps a field (title, name, address, estate, resident_id, ref, item_title,
text) to an HTML-escaped fragment whose matches are wrapped in ``<em>…</em>``.

:func:`label` names those keys for people (message catalogue, ``search_label.*``; ``hsar search`` shows
them in the ``--lang`` language; the JSON keeps the keys).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .. import messages


def label(key: str, lang: str) -> str:
    """The label of a result key in ``lang`` (``zh`` or ``en``): the catalogue's ``search_label.<key>``; the key
    itself when it has none."""
    return messages.label("search_label", key, lang)


@dataclass(frozen=True)
class SearchRequest:
    """One search: query text, exact filters (field -> value or values), division scope, facets, paging."""

    query: str = ""
    filters: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    division: str | None = None
    facets: Sequence[str] = ()
    sort: str | None = None  # None or "relevance", "year", "-year", "id", "-id"
    page: int = 1
    per_page: int = 20
    highlight: bool = True


@dataclass(frozen=True)
class Hit:
    archive_id: str
    title: str
    division: str
    items: tuple[Mapping[str, Any], ...]
    paper: tuple[Mapping[str, Any], ...]
    highlights: Mapping[str, str]
    score: float
    type: str = ""
    version: str = ""

    def to_dict(self, *, copy: bool = True) -> dict[str, Any]:
        """The hit as JSON-ready values; ``copy=False`` hands out its own items, paper and highlights (no
        copies: for a caller that only serialises them, such as the JSON API)."""
        if not copy:
            return {"archive_id": self.archive_id, "title": self.title, "division": self.division,
                    "items": self.items, "paper": self.paper, "highlights": self.highlights, "type": self.type,
                    "version": self.version, "score": round(self.score, 4)}
        return {"archive_id": self.archive_id, "title": self.title, "division": self.division,
                "items": [dict(i) for i in self.items], "paper": [dict(p) for p in self.paper],
                "highlights": dict(self.highlights), "type": self.type, "version": self.version,
                "score": round(self.score, 4)}

    def evolve(self, **changes: Any) -> Hit:
        return replace(self, **changes)


@dataclass(frozen=True)
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    behind: tuple[int, int] | None = None  # (indexed, catalogued) when the index lacks archives

    def to_dict(self) -> dict[str, Any]:
        data = {"total": self.total, "hits": [h.to_dict() for h in self.hits], "facets": self.facets}
        if self.behind is not None:
            data["index_behind"] = {"indexed": self.behind[0], "catalogued": self.behind[1]}
        return data
