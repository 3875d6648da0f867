"""A store that holds no archive object while the catalogue lists archives: rebuilding the catalogue or the index
from it (``hsar rebuild-catalog``, ``hsar reindex``, a reindex job) would empty them, and such a store is far
likelier half mounted or half restored than truly empty (a disposal empties store, catalogue and index
together). An unmounted store with no root declaration is already refused when the home opens (HOME-STORE)."""

from __future__ import annotations

from ..errors import CatalogError, PreservationError
from . import Repository


def refuse_an_empty_store(repo: Repository, *, force: bool) -> None:
    """Refuse (PreservationError STORE-EMPTY) to rebuild from a store that holds no archive object while the
    catalogue lists archives, unless ``force``: rebuilding would empty the catalogue or the index, and such a
    store is far likelier half mounted or half restored than truly empty (disposal empties both together)."""
    if force or any(True for _ in repo.store.iter_object_roots()):
        return
    try:
        catalogued = repo.catalog.archive_count()
    except CatalogError:  # an unreadable catalogue: rebuilding it is what this is for
        return
    if catalogued:
        raise PreservationError(msgid="home.store_empty", code="STORE-EMPTY", root=repo.store.root,
                                catalogued=catalogued)
