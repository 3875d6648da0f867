"""Use-cases: search the index (检索) and rebuild it from storage (重建索引, ``hsar reindex``).

Both recover what a killed ingest left before they read: :func:`search` when no ingest is running (it never
waits), :func:`reindex` under the home lock (IngestError ING-BUSY while an ingest holds it), since an ingest
meanwhile would be lost from the new index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ..divisions import tree_for
from ..home import Repository
from ..search.idkeys import load_key
from ..search.indexing import reindex_from_store
from ..search.masking import mask_result
from ..search.opening import open_engine
from ..search.results import SearchRequest, SearchResult
from .index_check import catalogued, judged

#: ``(archives done, archives in the store)`` after each batch of :func:`reindex`.
ReindexProgress = Callable[[int, int], None]


def search(repo: Repository, request: SearchRequest, *, mask: bool = False) -> SearchResult:
    """The hits, facets and total of ``request`` over every division (the CLI runs as the local
    administrator); ``mask`` masks resident ID numbers in the result."""
    repo.recover_if_idle()
    gap = index_gap(repo)
    result = repo.search.search(request, divisions=tree_for(repo.cfg))
    result = mask_result(result) if mask else result
    return replace(result, behind=gap) if gap else result


def index_gap(repo: Repository) -> tuple[int, int] | None:
    """``(indexed, catalogued)`` when the index holds fewer archives than the catalogue (the engine was
    switched and never rebuilt, an index write failed, a disk filled), else None. An index holding none of
    them cannot answer at all: SearchError SEARCH-STALE, naming ``hsar reindex``, instead of a search that
    quietly finds nothing; a partial one answers, with the gap in the result for the caller to report."""
    indexed = repo.search.count()
    gap = judged(indexed, catalogued(repo, indexed), str(repo.cfg["search.engine"]))
    return None if gap is None else (gap.indexed, gap.catalogued)


@dataclass(frozen=True)
class ReindexResult:
    indexed: int  # archives now in the index
    in_store: int  # object roots found in the store
    recovered: tuple[str, ...] = ()  # what recovery did first


def reindex(repo: Repository, *, batch: int = 500, progress: ReindexProgress | None = None,
            force: bool = False) -> ReindexResult:
    """Replace the search index by one built from the store alone (an index of an older schema too); a store
    with no object while the catalogue lists archives is refused unless ``force``
    (:func:`~repository.home.emptied.refuse_an_empty_store`)."""
    from ..home.emptied import refuse_an_empty_store

    with repo.lock():
        refuse_an_empty_store(repo, force=force)
        recovered = tuple(repo.recover())
        repo.close()  # the engine recovery used: its directory is replaced below
        total = sum(1 for _ in repo.store.iter_object_roots())
        engine = open_engine(repo.cfg["search.engine"], repo.paths.index, rebuild=True,
                             id_key=load_key(repo.paths.index_key))
        try:
            count = reindex_from_store(engine, repo.store, batch=batch, tree=tree_for(repo.cfg),
                                       cache=repo.text_cache,
                                       progress=(lambda done: progress(done, total)) if progress else None)
        finally:
            engine.close()
    return ReindexResult(count, total, recovered)
