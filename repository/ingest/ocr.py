"""Searchable scans: OCR of every scanned page of an archive, stored as a derivative in a new version.

For each archive (``hsar ocr --archive ID``, ``--all``, or the ``ocr`` job after an ingest): the payload files
of the head that are scans (TIFF, JPEG, PNG, image-only PDF pages: :mod:`repository.formats.scanpages`) and
have no text yet from the same bytes, tool and model are read by Tesseract
(:mod:`repository.formats.tesseract`, ``ocr.workers`` processes at once, across the archive's pages); the
text goes into a new OCFL version (:mod:`.ocr_version`). An archive with nothing left to read gets no version:
a repeated run adds nothing.

Reading happens outside the home lock (it takes seconds per page); only the commit takes it, waiting a while
for a running ingest (then ``ING-BUSY``), and re-checks against the head it finds, so an ingest meanwhile is
never lost.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..errors import IngestError
from ..formats.scanpages import ScanPage, page_images, scan_kind
from ..formats.tesseract import EngineInfo, engine_info, recognize_all
from ..home import Repository
from ..preservation.aip_layout import OCR_RECORD_SUFFIX
from ..preservation.ids import archive_key, object_id
from ..preservation.ocfl_inventory import logical_state
from ..search.ocrtext import derivative_paths, stored_path
from .ocr_version import FileText, PageResult, commit_ocr, is_current

LOCK_WAIT_SECONDS = 120.0
PAYLOAD_PREFIX = "data/"

#: ``progress(archives done, archives in all)``
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class OcrOutcome:
    """One archive's run: ``added`` (a new version), ``unchanged`` (every scan had its text) or
    ``missing`` (no such archive in the store)."""

    archive_id: str
    status: str
    version: str | None = None
    files: int = 0
    pages: int = 0
    failed_pages: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"archive_id": self.archive_id, "status": self.status, "version": self.version,
                "files": self.files, "pages": self.pages, "failed_pages": self.failed_pages}


@dataclass(frozen=True)
class OcrSummary:
    """A run over several archives (what ``hsar ocr --json`` prints and the ``ocr`` job records)."""

    outcomes: tuple[OcrOutcome, ...]

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    def to_dict(self) -> dict[str, object]:
        return {"archives": [o.to_dict() for o in self.outcomes],
                "counts": {s: self.count(s) for s in ("added", "unchanged")},
                "pages": sum(o.pages for o in self.outcomes),
                "failed_pages": sum(o.failed_pages for o in self.outcomes)}


def ocr_records(repo: Repository, archive_id: str, state: dict[str, str] | None = None) -> dict[str, dict]:
    """source path -> its ``.ocr.json`` record, for the archive's head (``state``, if given, is the head's)."""
    _state, where = derivative_paths(repo.store, object_id(archive_id))
    records = {}
    for path in where:
        if path.endswith(OCR_RECORD_SUFFIX):
            try:
                record = json.loads(where[path].read_bytes())
            except (OSError, ValueError):
                continue
            if isinstance(record, dict) and isinstance(record.get("source"), str):
                records[record["source"]] = record
    return records


def pending(repo: Repository, archive_id: str, engine: EngineInfo) -> list[tuple[str, str, Path]]:
    """(payload path, sha512, stored file) of each possible scan of the head still lacking current text."""
    store, oid = repo.store, object_id(archive_id)
    inventory = store.inventory(oid)
    state, root = logical_state(inventory), store.object_root(oid)
    records = ocr_records(repo, archive_id, state)
    todo = []
    for path in sorted(p for p in state if p.startswith(PAYLOAD_PREFIX)):
        if is_current(records.get(path), state[path], engine):
            continue
        stored = stored_path(root, inventory, state[path])
        if scan_kind(stored) is not None:
            todo.append((path, state[path], stored))
    return todo


def read_scans(todo: list[tuple[str, str, Path]], engine: EngineInfo, *, workers: int) -> list[FileText]:
    """OCR every page of every file in ``todo`` (all pages in one pool); files that are no scans drop out."""
    with tempfile.TemporaryDirectory(prefix="hsar-ocr-") as tmp:
        plans: list[tuple[str, str, list[ScanPage]]] = []
        for n, (path, digest, stored) in enumerate(todo):
            pages = page_images(stored, Path(tmp), stem=f"f{n:05d}")
            if pages:
                plans.append((path, digest, pages))
        images = [p.image for _path, _digest, pages in plans for p in pages if p.image is not None]
        read = iter(list(recognize_all(images, language=engine.language, workers=workers)))
        texts = []
        for path, digest, pages in plans:
            results = []
            for page in pages:
                if page.image is None:
                    results.append(PageResult(page.number, "", page.note or "no image"))
                    continue
                got = next(read)
                results.append(PageResult(page.number, got.text, got.error))
            texts.append(FileText(path, digest, tuple(results)))
        return texts


@contextmanager
def _commit_lock(repo: Repository, wait: float) -> Iterator[None]:
    """The home lock, waiting up to ``wait`` seconds for a running ingest (then ING-BUSY)."""
    deadline = time.monotonic() + wait
    with ExitStack() as stack:
        while True:
            try:
                stack.enter_context(repo.lock())
                break
            except IngestError as exc:
                if exc.code != "ING-BUSY" or time.monotonic() >= deadline:
                    raise
            time.sleep(0.5)
        yield


def ocr_archive(repo: Repository, archive_id: str, engine: EngineInfo, *, workers: int = 2,
                now: datetime | None = None, lock_wait: float = LOCK_WAIT_SECONDS) -> OcrOutcome:
    """OCR one archive's scans lacking text and store them as its next version (or nothing when none)."""
    if not repo.store.exists(object_id(archive_id)):
        return OcrOutcome(archive_id, "missing")
    texts = read_scans(pending(repo, archive_id, engine), engine, workers=workers)
    if not texts:
        return OcrOutcome(archive_id, "unchanged")
    with _commit_lock(repo, lock_wait):
        repo.recover()
        state = repo.store.state(object_id(archive_id))
        records = ocr_records(repo, archive_id, state)
        fresh = [t for t in texts if state.get(t.source) == t.sha512
                 and not is_current(records.get(t.source), t.sha512, engine)]
        if not fresh:  # another run stored them meanwhile
            return OcrOutcome(archive_id, "unchanged")
        version = commit_ocr(repo, archive_id, fresh, engine, now or datetime.now(UTC))
        repo.finish_intents()
    pages = [p for t in fresh for p in t.pages]
    return OcrOutcome(archive_id, "added", version, len(fresh), len(pages), sum(p.error is not None for p in pages))


def ocr_archives(repo: Repository, archive_ids: Iterable[str] | None = None, *, workers: int | None = None,
                 progress: Progress | None = None, now: datetime | None = None) -> list[OcrOutcome]:
    """OCR the named archives (None: every archive in the store); one outcome each, in order."""
    engine = engine_info(repo.cfg["ocr.language"])  # OCR error (no tesseract, no model) before anything
    ids = list(archive_ids) if archive_ids is not None else sorted(
        archive_key(o) for o in repo.store.iter_object_ids())
    workers = workers or repo.cfg["ocr.workers"]
    outcomes = []
    for done, archive_id in enumerate(ids, 1):
        outcomes.append(ocr_archive(repo, archive_id, engine, workers=workers, now=now))
        if progress:
            progress(done, len(ids))
    _replicate(repo, [object_id(o.archive_id) for o in outcomes if o.status == "added"])
    return outcomes


def _replicate(repo: Repository, object_ids: list[str]) -> None:
    if object_ids and repo.cfg["storage.replicas"]:
        from ..preservation.replica import replicate

        replicate(repo, object_ids=object_ids)

