"""Searchable scans: OCR of every scanned page of an archive, stored as a derivative in a new version.

For each archive (``hsar ocr --archive ID``, ``--all``, or the ``ocr`` job after an ingest): the payload files
of the head that are scans (TIFF, JPEG, PNG, image-only PDF pages: :mod:`repository.formats.scanpages`) and
have no text yet from the same bytes, tool and model are read by Tesseract
(:mod:`repository.formats.tesseract`, ``ocr.workers`` processes at once, across the archive's pages); the
text goes into a new OCFL version (:mod:`.ocr_version`). An archive with nothing left to read gets no version:
a repeated run adds nothing.

Reading happens outside the home lock (it takes seconds per page) in one pool for the whole run (the next
archives' pages queue while one is committed); only the commit takes the lock, waiting a while for a running
ingest (then ``ING-BUSY``), and re-checks against the head it finds, so an ingest meanwhile is never lost.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..errors import IngestError
from ..formats.scanpages import MAX_PAGES, RULES, ScanPage, page_images, pixels, scan_kind
from ..formats.tesseract import EngineInfo, PageText, engine_info, recognize
from ..home import Repository
from ..preservation.aip_layout import OCR_RECORD_SUFFIX
from ..preservation.ids import archive_key, object_id
from ..preservation.ocfl_inventory import logical_state
from ..preservation.storelock import reading_store
from ..search.ocrtext import derivative_paths, stored_path
from ..search.textcache import PDF_SCAN, pypdf_version
from .ocr_version import FileText, PageResult, commit_ocr, is_current

LOCK_WAIT_SECONDS = 120.0
AHEAD = 2  # archives whose pages are queued beyond the one being committed
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


def _sha512(path: Path) -> str | None:
    digest = hashlib.sha512()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def scan_pages(repo: Repository, stored: Path, workdir: Path, stem: str) -> list[ScanPage]:
    """:func:`page_images` of a stored file, but a PDF found born digital before (same bytes, by SHA-512 of
    what is read now, in the home's text cache) is not parsed again: a repeated run reads no PDF."""
    if scan_kind(stored) != "pdf":
        return page_images(stored, workdir, stem=stem)
    cache, digest = repo.text_cache, _sha512(stored)
    rules = f"pypdf {pypdf_version()}; rules {RULES}; pages {MAX_PAGES}"
    if digest is not None and cache.get(PDF_SCAN, digest, rules) is False:
        return []
    pages = page_images(stored, workdir, stem=stem)
    if digest is not None and not pages:
        cache.put(PDF_SCAN, digest, rules, False)
    return pages


@dataclass
class _Reading:
    """One archive's pages on their way through the pool: what each scanned file's pages will be read as."""

    archive_id: str
    workdir: Path
    files: list[tuple[str, str, list[tuple[ScanPage, Future[PageText] | None]]]] = field(default_factory=list)
    missing: bool = False  # no such archive in the store

    def texts(self) -> list[FileText]:
        """Wait for every page; the texts in order."""
        out = []
        for path, digest, pages in self.files:
            results = []
            for page, future in pages:
                if future is None:
                    results.append(PageResult(page.number, "", page.note or "no image"))
                    continue
                got = future.result()
                results.append(PageResult(page.number, got.text, got.error))
            out.append(FileText(path, digest, tuple(results)))
        return out


def _start_reading(repo: Repository, archive_id: str, engine: EngineInfo, pool: ThreadPoolExecutor,
                   tmp: Path) -> _Reading:
    """Find the archive's pages to read and queue each one in ``pool``, the largest first: the pool is a queue
    for the whole run, and a long page started last would leave one core idle at the end."""
    reading = _Reading(archive_id, Path(tempfile.mkdtemp(prefix="a-", dir=tmp)))
    found = []
    for n, (path, digest, stored) in enumerate(pending(repo, archive_id, engine)):
        pages = scan_pages(repo, stored, reading.workdir, stem=f"f{n:05d}")
        if pages:
            found.append((path, digest, pages))
    images = [p.image for _path, _digest, pages in found for p in pages if p.image is not None]
    futures = {i: pool.submit(recognize, images[i], engine.language)
               for i in sorted(range(len(images)), key=lambda i: -pixels(images[i]))}
    n = 0
    for path, digest, pages in found:
        queued: list[tuple[ScanPage, Future[PageText] | None]] = []
        for page in pages:
            if page.image is None:
                queued.append((page, None))
            else:
                queued.append((page, futures[n]))
                n += 1
        reading.files.append((path, digest, queued))
    return reading


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


def _commit(repo: Repository, reading: _Reading, engine: EngineInfo, now: datetime | None,
            lock_wait: float = LOCK_WAIT_SECONDS) -> OcrOutcome:
    """Wait for the archive's pages, then store them as its next version (or nothing when none)."""
    archive_id = reading.archive_id
    if reading.missing:
        return OcrOutcome(archive_id, "missing")
    try:
        texts = reading.texts()
    finally:
        shutil.rmtree(reading.workdir, ignore_errors=True)
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
                 progress: Progress | None = None, now: datetime | None = None,
                 stop: Callable[[], bool] | None = None) -> list[OcrOutcome]:
    """OCR the named archives (None: every archive in the store); one outcome each, in order. When ``stop()``
    turns true no further archive is started (those started are finished and committed).

    One pool of ``workers`` tesseract processes reads the pages of all of them: the pages of the next
    archives (:data:`AHEAD` of them) are queued before one is committed, so both cores stay busy across
    archive boundaries and while a version is signed and stored."""
    engine = engine_info(repo.cfg["ocr.language"])  # OCR error (no tesseract, no model) before anything
    ids = list(archive_ids) if archive_ids is not None else sorted(
        archive_key(o) for o in repo.store.iter_object_ids())
    outcomes: list[OcrOutcome] = []
    waiting: deque[_Reading] = deque()

    def finish_one() -> None:
        outcomes.append(_commit(repo, waiting.popleft(), engine, now))
        if progress:
            progress(len(outcomes), len(ids))

    with reading_store(repo.paths.readers_lock), \
            ThreadPoolExecutor(max_workers=workers or repo.cfg["ocr.workers"], thread_name_prefix="ocr") as pool, \
            tempfile.TemporaryDirectory(prefix="hsar-ocr-") as tmp:  # no disposal meanwhile (DSP-BUSY)
        try:
            for archive_id in ids:
                if stop is not None and stop():
                    break
                if not repo.store.exists(object_id(archive_id)):
                    waiting.append(_Reading(archive_id, Path(tmp) / "none", [], missing=True))
                else:
                    waiting.append(_start_reading(repo, archive_id, engine, pool, Path(tmp)))
                while len(waiting) > AHEAD:
                    finish_one()
            while waiting:
                finish_one()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    _replicate(repo, [object_id(o.archive_id) for o in outcomes if o.status == "added"])
    return outcomes


def _replicate(repo: Repository, object_ids: list[str]) -> None:
    if object_ids and repo.cfg["storage.replicas"]:
        from ..preservation.replica import replicate

        replicate(repo, object_ids=object_ids)

