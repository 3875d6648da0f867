"""Keeping the search index in step with storage: one document per archive, built from the stored head.

The index is a cache (DESIGN principle 1): ingest replaces an archive's document after each version, and
``hsar reindex`` rebuilds every document from the OCFL store alone. Text of born-digital PDFs is extracted
with bounded size and time; scanned pages by the OCR text stored beside them (:mod:`.ocrtext`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..descriptive import parse
from ..errors import SearchError
from ..formats.pdfsig import is_pdf
from ..preservation.aip_layout import DESCRIPTIVE
from .documents import SearchDocument, archive_document
from .engine import SearchEngine, reindex
from .ocrtext import page_texts, pages_at

if TYPE_CHECKING:
    from ..config import Config
    from ..divisions import DivisionTree
    from ..preservation.ocfl import OcflStore
MAX_PDF_BYTES = 50 * 1024 * 1024
MAX_PDF_PAGES = 200
PDF_SECONDS = 10.0


class IndexedHome(Protocol):
    """What indexing needs of a repository home (:class:`repository.home.Repository`, a layer above)."""

    @property
    def store(self) -> OcflStore: ...

    @property
    def search(self) -> SearchEngine: ...

    @property
    def cfg(self) -> Config: ...


def pdf_texts(files: Mapping[str, Path]) -> dict[str, str]:
    """Index text of every born-digital PDF among ``files`` (name -> file), with the index's bounds;
    names without text are left out."""
    from .extract import extract_pdf_text

    texts = {}
    for name in sorted(files):
        if is_pdf(files[name]):
            text = extract_pdf_text(files[name], max_bytes=MAX_PDF_BYTES, max_pages=MAX_PDF_PAGES,
                                    timeout_seconds=PDF_SECONDS)
            if text:
                texts[name] = text
    return texts


def stored_texts(paths: Mapping[str, Path], wanted: Iterable[str] | None = None) -> dict[str, str]:
    """Extracted text of every born-digital PDF among the payload files of ``paths`` (logical path -> where
    it is stored, from :meth:`OcflStore.content_paths`: one inventory reading for the whole version), or of
    the ``wanted`` ones only (payload path -> text)."""
    names = paths if wanted is None else wanted
    return pdf_texts({p: paths[p] for p in names if p.startswith("data/")})


def stored_document(store: OcflStore, oid: str, tree: DivisionTree | None = None) -> SearchDocument:
    """The search document of an object's head version, from storage alone (one inventory reading)."""
    from ..errors import PreservationError

    inventory = store.inventory(oid)
    paths = store.content_paths(oid, inventory=inventory)
    if DESCRIPTIVE not in paths:
        raise PreservationError(f"{oid} has no file {DESCRIPTIVE!r}", "OCFL-NOT-FOUND")
    archive = parse(paths[DESCRIPTIVE].read_bytes())
    return archive_document(archive, version=inventory["head"], texts=stored_texts(paths),
                            pages=page_texts(pages_at(paths)), tree=tree)


def index_archive(repo: IndexedHome, archive_id: str) -> None:
    """Replace the archive's document (the caller commits, once per batch)."""
    from ..divisions import tree_for
    from ..preservation.ids import object_id

    repo.search.replace(stored_document(repo.store, object_id(archive_id), tree_for(repo.cfg)))


def documents_from_store(store: OcflStore, failures: dict[str, str] | None = None,
                         tree: DivisionTree | None = None) -> Iterator[SearchDocument]:
    """The document of every object in the store; with ``failures``, an object that cannot be read (a broken
    inventory or description) is recorded there (``{object root or id: why}``) and skipped, else it raises."""
    from ..preservation.ocfl_inventory import INVENTORY, load_inventory

    ids: list[str] = []
    for root in store.iter_object_roots():
        try:
            ids.append(load_inventory(root / INVENTORY)["id"])
        except Exception as exc:  # noqa: BLE001 - reported with the others below
            if failures is None:
                raise
            failures[str(root)] = f"{type(exc).__name__}: {exc}"
    for oid in sorted(ids):
        try:
            document = stored_document(store, oid, tree)
        except Exception as exc:  # noqa: BLE001 - lxml, OCFL and description errors alike
            if failures is None:
                raise
            failures[oid] = f"{type(exc).__name__}: {exc}"
            continue
        yield document


def reindex_from_store(engine: SearchEngine, store: OcflStore, *, batch: int = 500,
                       progress: Callable[[int], None] | None = None, tree: DivisionTree | None = None) -> int:
    """Rebuild the whole index from the store; returns the number of archives indexed. Objects that cannot be
    read are skipped; after the others are indexed and committed they are reported together in one
    :class:`~repository.errors.SearchError` (``failures``), as ``hsar rebuild-catalog`` does."""
    failures: dict[str, str] = {}
    count = reindex(engine, documents_from_store(store, failures, tree), batch=batch, progress=progress)
    if failures:
        error = SearchError(msgid="search.reindex_failures", count=count, failed=len(failures),
                            details="; ".join(f"{k}: {v}" for k, v in sorted(failures.items())))
        error.failures = failures  # type: ignore[attr-defined]
        raise error
    return count
