"""Keeping the search index in step with storage: one document per archive, built from the stored head.

The index is a cache (DESIGN principle 1): ingest replaces an archive's document after each version, and
``hsar reindex`` rebuilds every document from the OCFL store alone. Text of born-digital PDFs is extracted
with bounded size and time, once per distinct bytes (:mod:`.textcache`, given one); scanned pages by the
OCR text stored beside them (:mod:`.ocrtext`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..descriptive import parse
from ..errors import SearchError
from ..formats.pages import counted_as_pdf
from ..formats.pages import counter as page_counter
from ..formats.pdfsig import is_pdf
from ..preservation.aip_layout import DESCRIPTIVE
from .documents import SearchDocument, archive_document
from .engine import SearchEngine, reindex
from .ocrtext import page_texts, pages_at
from .textcache import PAGES, PDF_TEXT, TextCache, pypdf_version

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

    @property
    def text_cache(self) -> TextCache | None: ...


def text_extractor() -> str:
    """What a cached PDF text was made with: pypdf's version, the extraction rules and the index's bounds."""
    from .extract import MAX_CHARS, RULES

    return f"pypdf {pypdf_version()}; rules {RULES}; bytes {MAX_PDF_BYTES}; pages {MAX_PDF_PAGES}; chars {MAX_CHARS}"


def pdf_text(path: Path, cache: TextCache | None = None) -> str:
    """Index text of the PDF at ``path`` with the index's bounds; with ``cache``, taken from it when these
    bytes (by SHA-512 of what is read now) were extracted before, else extracted and kept there."""
    from .extract import extract_pdf, extract_pdf_text, read_bounded

    if cache is None:
        return extract_pdf_text(path, max_bytes=MAX_PDF_BYTES, max_pages=MAX_PDF_PAGES, timeout_seconds=PDF_SECONDS)
    data = read_bounded(path, MAX_PDF_BYTES)
    if data is None:
        return ""
    digest, extractor = hashlib.sha512(data).hexdigest(), text_extractor()
    known = cache.get(PDF_TEXT, digest, extractor)
    if isinstance(known, str):
        return known
    got = extract_pdf(path, max_bytes=MAX_PDF_BYTES, max_pages=MAX_PDF_PAGES, timeout_seconds=PDF_SECONDS,
                      data=data, sha512=digest)
    if got.complete:
        cache.put(PDF_TEXT, digest, extractor, got.text)
    if got.pages is not None and counted_as_pdf(path):  # the reconciliation's count of these bytes, kept now
        cache.put(PAGES, digest, page_counter(), got.pages)
    return got.text


def pdf_names(files: Mapping[str, Path]) -> list[str]:
    """The names of ``files`` (name -> file) that are PDFs by their header (:func:`is_pdf`), sorted."""
    return [name for name in sorted(files) if is_pdf(files[name])]


def pdf_texts(files: Mapping[str, Path], cache: TextCache | None = None, names: Iterable[str] | None = None
              ) -> dict[str, str]:
    """Index text of every born-digital PDF among ``files`` (name -> file), with the index's bounds (and
    ``cache``, see :func:`pdf_text`); names without text are left out. ``names``: the PDFs among them when
    known already (:func:`pdf_names`)."""
    return _texts_of(pdf_names(files) if names is None else names, files, cache)


def _texts_of(names: Iterable[str], files: Mapping[str, Path], cache: TextCache | None) -> dict[str, str]:
    """Text of the PDFs ``names`` of ``files`` (those without text left out)."""
    texts = {}
    for name in names:
        text = pdf_text(files[name], cache)
        if text:
            texts[name] = text
    return texts


def header_verdicts(paths: Mapping[str, Path], names: Iterable[str],
                    judged: Mapping[str, bool] | None = None) -> dict[str, bool]:
    """``{path: whether it is a PDF by its header}`` for the payload files (``data/``) among ``names``: from
    ``judged`` (verdicts on the same bytes made before, :mod:`.pdfheaders`) where it has one, else by opening
    the stored file (``paths`` as for :func:`stored_texts`)."""
    # a store's ContentPaths gives each file's place as a str: no Path made for the many files that are no PDF
    where: Callable[[str], Path | str] = getattr(paths, "location", paths.__getitem__)
    known = judged or {}
    return {p: known[p] if p in known else is_pdf(where(p)) for p in names if p.startswith("data/")}


def stored_texts(paths: Mapping[str, Path], wanted: Iterable[str] | None = None,
                 cache: TextCache | None = None, verdicts: Mapping[str, bool] | None = None) -> dict[str, str]:
    """Extracted text of every born-digital PDF among the payload files of ``paths`` (logical path -> where
    it is stored, from :meth:`OcflStore.content_paths`: one inventory reading for the whole version), or of
    the ``wanted`` ones only (payload path -> text); ``verdicts`` (:func:`header_verdicts` of them) when made
    already."""
    if verdicts is None:
        verdicts = header_verdicts(paths, paths if wanted is None else wanted)
    return _texts_of(sorted(p for p, pdf in verdicts.items() if pdf), paths, cache)


def stored_document(store: OcflStore, oid: str, tree: DivisionTree | None = None,
                    cache: TextCache | None = None) -> SearchDocument:
    """The search document of an object's head version, from storage alone (one inventory reading)."""
    from ..errors import PreservationError

    inventory = store.inventory(oid)
    paths = store.content_paths(oid, inventory=inventory)
    if DESCRIPTIVE not in paths:
        raise PreservationError(f"{oid} has no file {DESCRIPTIVE!r}", "OCFL-NOT-FOUND")
    archive = parse(paths[DESCRIPTIVE].read_bytes())
    return archive_document(archive, version=inventory["head"], texts=stored_texts(paths, cache=cache),
                            pages=page_texts(pages_at(paths)), tree=tree)


def index_archive(repo: IndexedHome, archive_id: str) -> None:
    """Replace the archive's document (the caller commits, once per batch)."""
    from ..divisions import tree_for
    from ..preservation.ids import object_id

    repo.search.replace(stored_document(repo.store, object_id(archive_id), tree_for(repo.cfg), repo.text_cache))


def documents_from_store(store: OcflStore, failures: dict[str, str] | None = None,
                         tree: DivisionTree | None = None, cache: TextCache | None = None
                         ) -> Iterator[SearchDocument]:
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
            document = stored_document(store, oid, tree, cache)
        except Exception as exc:  # noqa: BLE001 - lxml, OCFL and description errors alike
            if failures is None:
                raise
            failures[oid] = f"{type(exc).__name__}: {exc}"
            continue
        yield document


def reindex_from_store(engine: SearchEngine, store: OcflStore, *, batch: int = 500,
                       progress: Callable[[int], None] | None = None, tree: DivisionTree | None = None,
                       cache: TextCache | None = None) -> int:
    """Rebuild the whole index from the store; returns the number of archives indexed. Objects that cannot be
    read are skipped; after the others are indexed and committed they are reported together in one
    :class:`~repository.errors.SearchError` (``failures``), as ``hsar rebuild-catalog`` does. With ``cache``
    (the home's :class:`.TextCache`) PDF texts are taken from it and missing ones are put back."""
    failures: dict[str, str] = {}
    count = reindex(engine, documents_from_store(store, failures, tree, cache), batch=batch, progress=progress)
    if failures:
        error = SearchError(msgid="search.reindex_failures", count=count, failed=len(failures),
                            details="; ".join(f"{k}: {v}" for k, v in sorted(failures.items())))
        error.failures = failures  # type: ignore[attr-defined]
        raise error
    return count
