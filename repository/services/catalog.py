"""Use-case: rebuild the catalogue from the OCFL store alone (``hsar rebuild-catalog``; storage is the truth).

Under the home lock (an ingest meanwhile would be lost: IngestError ING-BUSY). A catalogue that cannot be
opened is set aside (kept, renamed) and a new one created; what a killed ingest left is recovered first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..catalog.rebuild import rebuild
from ..errors import CatalogError
from ..home import Repository, policy_of
from ..home.emptied import refuse_an_empty_store


@dataclass(frozen=True)
class RebuildResult:
    archives: int  # archives catalogued from storage
    set_aside: Path | None = None  # where an unreadable catalogue was moved, if it was
    recovered: tuple[str, ...] = ()


def rebuild_catalog(repo: Repository, *, force: bool = False) -> RebuildResult:
    """Rebuild the catalogue from the store; a store with no object while the catalogue lists archives is
    refused unless ``force`` (:func:`~repository.home.emptied.refuse_an_empty_store`)."""
    with repo.lock():
        refuse_an_empty_store(repo, force=force)
        moved = None
        try:
            catalog = repo.create_catalog()
        except CatalogError:  # unreadable: rebuilding from storage is what this is for
            moved = repo.set_aside_catalogue()
            if moved is None:
                raise
            catalog = repo.create_catalog()
        recovered = tuple(repo.recover())
        count = rebuild(catalog, repo.store, policy_of=policy_of(repo.cfg))
    return RebuildResult(count, moved, recovered)
