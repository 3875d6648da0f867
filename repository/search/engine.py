"""The search engine interface and the two engines behind it, chosen by the setting ``search.engine``.

- ``whoosh`` (whoosh-reloaded): pure Python, embedded, the default; fine up to some tens of thousands of
  archives. Broad queries cost time in proportion to their matches.
- ``tantivy`` (tantivy-py): Rust, for repositories of hundreds of thousands of archives.

Both index the same :class:`~repository.search.documents.SearchDocument` values and receive the same
engine-neutral query (:mod:`repository.search.plan`); hits are rendered from the stored payload by
:mod:`repository.search.hits`. So one test suite expects the same answers from both. Each engine keeps its
files in ``<index_dir>/<kind>``, so switching engines needs a ``hsar reindex`` but never mixes files.

Writes are buffered until :meth:`SearchEngine.commit`; a search sees committed documents only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..errors import SearchRequestError
from . import hits as hit_rendering
from .documents import SearchDocument
from .idkeys import digest_query
from .plan import Node, build, match_spec
from .query import parse
from .results import Hit, SearchRequest, SearchResult
from .schema import BY_NAME, FACETS, SORTS

ENGINES = ("whoosh", "tantivy")
MAX_PER_PAGE = 1000
MAX_WINDOW = 100_000  # deepest hit a page may reach


@dataclass(frozen=True)
class RawResult:
    """What an engine returns: total matches, (payload, score) of the page, counts per facet index field. A
    payload is the stored JSON, as text or as UTF-8 bytes (:meth:`.hits.Renderer.render` takes either)."""

    total: int
    page: list[tuple[str, float]] | list[tuple[bytes, float]]
    facets: dict[str, dict[str, int]]


class SearchEngine(ABC):
    """One search index. Documents are keyed by ``archive_id``; writes become visible on :meth:`commit`."""

    kind: str = ""
    id_key: bytes | None = None  # the home's secret for identity-number digests (see .idkeys)

    @abstractmethod
    def add(self, docs: Iterable[SearchDocument]) -> int:
        """Add documents not yet in the index (reindex, first ingest); returns how many were added."""

    @abstractmethod
    def replace(self, doc: SearchDocument) -> None:
        """Put ``doc`` in place of any document with the same archive id (a supplement's new version)."""

    @abstractmethod
    def delete(self, archive_id: str) -> None:
        """Remove the archive's document, if any."""

    @abstractmethod
    def commit(self) -> None:
        """Make every write so far durable and visible to searches."""

    @abstractmethod
    def clear(self) -> None:
        """Remove every document (committed at once)."""

    @abstractmethod
    def count(self) -> int:
        """Committed documents in the index."""

    @abstractmethod
    def close(self) -> None:
        """Release files and locks; uncommitted writes are discarded."""

    @abstractmethod
    def _execute(self, node: Node, *, facets: Sequence[str], sort: tuple[str, bool] | None, offset: int,
                 limit: int) -> RawResult:
        """Run an engine-neutral query."""

    def search(self, request: SearchRequest, *, divisions: Container[str] | None = None) -> SearchResult:
        """Run ``request``; a malformed query raises :class:`~repository.errors.QuerySyntaxError`.

        ``divisions``: the repository's division tree (:func:`repository.divisions.tree_for`); a division
        scope or ``division:`` value outside it is refused. None accepts every well-formed code.
        """
        facets = _check(request)
        parsed = parse(request.query)
        node = digest_query(build(parsed, request.filters, request.division, divisions=divisions), self.id_key)
        sort = SORTS.get(request.sort or "") if request.sort not in (None, "", "relevance") else None
        offset = (request.page - 1) * request.per_page

        def answer() -> SearchResult:
            raw = self._execute(node, facets=[BY_NAME[f].index_field for f in facets], sort=sort, offset=offset,
                                limit=request.per_page)
            renderer = hit_rendering.Renderer(match_spec(parsed, request.filters), request.highlight)
            page: list[Hit] = [renderer.render(p, s) for p, s in raw.page]
            by_index = {f: BY_NAME[f].index_field for f in facets}
            counts = {f: _sorted(raw.facets.get(ix, {})) for f, ix in by_index.items()}
            return SearchResult(raw.total, page, counts)

        # the rendered answer depends on the query (node: every filter and the scope) and on what the hits are
        # rendered for (the words to light up and the item conditions come from the query text and filters)
        key = ("answer", node, request.query, _frozen(request.filters), request.highlight, tuple(facets), sort,
               offset, request.per_page)
        return self._remembered(key, request.per_page, answer)

    def _remembered(self, key: tuple[object, ...], limit: int, compute: Callable[[], SearchResult]) -> SearchResult:
        """``compute()``, or what it gave for ``key`` before, when the engine keeps answers (Tantivy: its
        result cache, per index generation). A kept answer is shared: its callers never change it."""
        return compute()

    def __enter__(self) -> SearchEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check(request: SearchRequest) -> list[str]:
    if request.page < 1 or not 1 <= request.per_page <= MAX_PER_PAGE:
        raise SearchRequestError(msgid="search.bad_page", max=MAX_PER_PAGE)
    if request.page * request.per_page > MAX_WINDOW:
        raise SearchRequestError(msgid="search.beyond_window", max=MAX_WINDOW)
    if request.sort not in (None, "", "relevance", *SORTS):
        raise SearchRequestError(msgid="search.unknown_sort", sort=repr(request.sort), sorts=", ".join(SORTS))
    facets = [BY_NAME[f].name if f in BY_NAME else f for f in request.facets]
    unknown = [f for f in facets if f not in FACETS]
    if unknown:
        raise SearchRequestError(msgid="search.unknown_facet", facet=repr(unknown[0]), facets=", ".join(FACETS))
    return list(dict.fromkeys(facets))


def _frozen(filters: Mapping[str, str | Sequence[str]]) -> tuple[tuple[str, object], ...]:
    """The filters of a request as a hashable key, in their order."""
    return tuple((k, v if isinstance(v, str) else tuple(v)) for k, v in filters.items())


def _sorted(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def reindex(engine: SearchEngine, documents: Iterable[SearchDocument], batch: int = 500,
            progress: Callable[[int], None] | None = None) -> int:
    """Replace the whole index by ``documents``: clear, add in batches, commit once; returns the count.

    ``progress`` is called with the running count after each batch (for a progress bar).
    """
    engine.clear()
    done = 0
    chunk: list[SearchDocument] = []
    for doc in documents:
        chunk.append(doc)
        if len(chunk) >= batch:
            done += engine.add(chunk)
            chunk = []
            if progress:
                progress(done)
    if chunk:
        done += engine.add(chunk)
    engine.commit()
    if progress:
        progress(done)
    return done
