"""Ingest, the work done ahead of the commits: in worker processes, none of it needing the store's state.

For each SIP, :func:`work_ahead` runs the first half (:func:`.prepare.prepare`: receive, validate, identify,
check), extracts the index text of the SIP's own PDFs and, for a SIP of an archive not held yet, builds its
whole v1 (descriptive XML, PREMIS, signed manifest) and search document (:class:`Ahead`);
:func:`~.pipeline.commit` uses them when its decision, under the ingest lock, confirms the archive is new.
:func:`prepared_sips` yields the results in order, with at most ``AHEAD_PER_WORKER`` SIPs per worker
prepared ahead of the commits, so staging holds a bounded number of received copies however long the
batch. The format signatures and the jieba dictionary are loaded before the workers fork.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Generator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from ..codes import Issue
from ..config import Config
from ..descriptive import parse
from ..errors import HsarError
from ..fixity import ByteProgress
from ..preservation.ids import object_id
from ..preservation.ocfl import SourceFile

if TYPE_CHECKING:
    from ..preservation.signing import Signer
    from ..search.documents import SearchDocument
    from ..search.textcache import TextCache
from .aip import DESCRIPTIVE, build_version
from .prepare import Prepared, discard, prepare, sip_fault

AHEAD_PER_WORKER = 2  # SIPs prepared ahead of the commits, per worker process


@dataclass(frozen=True)
class Ahead:
    """Work done for one SIP in a worker, before its commit (none of it needs the store's current state)."""

    texts: dict[str, str] = field(default_factory=dict)  # index text of the SIP's own PDFs (non-empty only)
    examined: frozenset[str] = frozenset()  # payload paths whose text was looked for
    pdfs: frozenset[str] = frozenset()  # those of them that are PDFs by their header (formats.pdfsig.is_pdf)
    created: datetime | None = None  # when v1 was built
    v1: dict[str, SourceFile] | None = None  # the whole v1 state, signed: only if the archive was not held
    document: SearchDocument | None = None  # the search document of that v1
    fault: Issue | None = None  # ING007: building the v1 failed for a reason of this SIP's own (it is rejected)


_SIGNERS: dict[tuple[int, str], Signer] = {}


def _signer(cfg: Config) -> Signer:
    """One signer per process and home (a forked worker loads its own)."""
    from ..preservation.signing import load_signer

    key = (os.getpid(), str(cfg.home))
    if key not in _SIGNERS:
        _SIGNERS[key] = load_signer(cfg)
    return _SIGNERS[key]


def _payload_texts(prepared: Prepared, cfg: Config) -> tuple[dict[str, str], frozenset[str]]:
    """Index text of the SIP's born-digital PDFs, with the bounds the index uses for stored files (through
    the home's text cache: the same bytes stored need not be read again when a later version is indexed),
    and the payload paths that are PDFs by their header; the page counts of its TIFFs kept (:func:`_tiff_pages`)."""
    from ..home.layout import HomePaths
    from ..search.indexing import pdf_names, pdf_texts
    from ..search.textcache import TextCache

    assert prepared.bag_dir is not None
    cache = TextCache(HomePaths.of(cfg.home, cfg).text_cache)
    files = {path: prepared.bag_dir / path for path in prepared.payload}
    names = pdf_names(files)
    _tiff_pages(prepared, cache)
    return pdf_texts(files, cache, names), frozenset(names)


def _tiff_pages(prepared: Prepared, cache: TextCache) -> None:
    """Keep the page count of each of the SIP's TIFFs in the home's text cache (kind ``pages``), under the SHA-512
    ingest computed of the very bytes counted (received into staging, which nothing else writes): the dual-track
    reconciliation (:func:`repository.paper.compute.stored_pages`) then neither opens nor hashes them. Without it,
    the first reconciliation read every stored TIFF whole, to hash it before keeping its count. A PDF's count is
    kept as it is indexed (:func:`repository.search.indexing.pdf_text`); an image is one page, never counted.
    Counting reads a TIFF's page directories only (Pillow), not its images."""
    from ..formats.pages import TIFF_SUFFIXES, counter, page_count
    from ..search.textcache import PAGES

    assert prepared.bag_dir is not None
    by = counter()
    for path, info in prepared.payload.items():
        if Path(path).suffix.lower() not in TIFF_SUFFIXES or type(cache.get(PAGES, info.sha512, by)) is int:
            continue
        pages = page_count(prepared.bag_dir / path)
        if pages is not None:  # (one that cannot be counted is not kept: the reconciliation says "not known")
            cache.put(PAGES, info.sha512, by, pages)


def work_ahead(prepared: Prepared, cfg: Config) -> Ahead:
    """Index text for a valid SIP and, when its archive is not held yet, its v1 and search document.

    The store is only looked at (never written); :func:`~.pipeline.commit` uses the v1 only if its own decision, under
    the ingest lock, is still "new". An error of this SIP's own while building the v1 is returned as ``fault``
    (ING007), so the commit rejects the SIP and the batch goes on.
    """
    if not prepared.valid:
        return Ahead()
    archive = prepared.archive
    assert archive is not None
    from ..divisions import tree_for
    from ..preservation.ocfl import OcflStore
    from ..search.documents import archive_document

    texts, pdfs = _payload_texts(prepared, cfg)
    examined = frozenset(prepared.payload)
    if archive.is_supplement or OcflStore(cfg.path("storage.root")).exists(object_id(archive.identifier)):
        return Ahead(texts, examined, pdfs)
    created = datetime.fromisoformat(prepared.received) if prepared.received else datetime.now(UTC)
    signer = _signer(cfg)  # outside the guard: a signer that cannot be loaded stops the batch
    try:
        files = build_version(prepared, archive, None, version="v1", now=created,
                              institution=cfg["repository.institution"], signer=signer).files
        stored = parse(Path(files[DESCRIPTIVE].path).read_bytes())  # the description exactly as it will be stored
        document = archive_document(stored, version="v1", texts=texts, tree=tree_for(cfg))  # repository.divisions
    except HsarError as exc:  # e.g. a path the signed manifest cannot hold: this SIP is rejected, not the batch
        fault = sip_fault(exc)
        if fault is None:
            raise
        return Ahead(texts, examined, pdfs, fault=fault)
    return Ahead(texts, examined, pdfs, created, files, document)


def _prepare_job(args: tuple[str, Config, str], on_bytes: ByteProgress | None = None) -> tuple[Prepared, Ahead]:
    sip, cfg, staging = args
    prepared = prepare(Path(sip), cfg, Path(staging), on_bytes=on_bytes)
    try:
        return prepared, work_ahead(prepared, cfg)
    except BaseException:
        discard(prepared)
        raise


def _warm_analyser() -> None:
    from ..search.analysis import tokenizer

    tokenizer()


def _warm_in_background() -> None:
    """The body of the warm-up thread: nothing it raises may reach the user. A dictionary that fails to load
    here fails again, in the main thread and reported as usual, where the analyser is first used."""
    try:
        _warm_analyser()
    except BaseException:  # noqa: BLE001, S110 - see above; a thread's exception would print a traceback
        pass


def start_warm_up() -> threading.Thread:
    """Load the jieba dictionary in a background thread while the first SIP is received (copying and hashing
    release the GIL); the lock in the analyser makes a use before it is ready wait for it.

    The modules the thread needs are imported here first, in the calling thread: two threads importing the
    same package at once can deadlock on Python's per-module import locks, and Python breaks such a deadlock
    by handing one of them the partially initialised module (``cannot import name ... from partially
    initialized module``). With ``repository.search`` fully imported before the thread starts, the thread
    imports nothing and the main thread's later imports find every module complete."""
    from ..search import analysis  # noqa: F401 - imported for the side effect described above

    thread = threading.Thread(target=_warm_in_background, name="hsar-warm-up", daemon=True)
    thread.start()
    return thread


def warm_up(cfg: Config) -> None:
    """Load what every SIP needs and takes seconds to load once: the format signatures and the jieba
    dictionary. Forked workers inherit both instead of loading their own."""
    from .formats import identifier_for

    identifier_for(cfg)
    _warm_analyser()


def prepared_sips(jobs: list[tuple[str, Config, str]], workers: int, on_bytes: ByteProgress | None = None
                  ) -> Generator[tuple[Prepared, Ahead]]:
    """Prepared SIPs in the order given; with workers, at most ``AHEAD_PER_WORKER`` each ahead of the
    consumer, so staging never holds more than a few received copies however long the batch. ``on_bytes`` is
    told the bytes each SIP's receipt copies, one SIP after the other (without worker processes only)."""
    if not jobs:
        return
    if workers <= 1:
        start_warm_up()  # the dictionary loads while the first SIP is received
        for job in jobs:
            yield _prepare_job(job, on_bytes)
        return
    warm_up(jobs[0][1])  # before forking: the workers start warm
    pool = ProcessPoolExecutor(max_workers=workers)
    queue = iter(jobs)
    pending: deque[Future[tuple[Prepared, Ahead]]] = deque(
        pool.submit(_prepare_job, job) for job in islice(queue, AHEAD_PER_WORKER * workers))
    try:
        while pending:
            ready = pending.popleft().result()
            following = next(queue, None)
            if following is not None:
                pending.append(pool.submit(_prepare_job, following))
            yield ready
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for future in pending:  # prepared but never committed: drop their copies now
            if future.done() and not future.cancelled() and future.exception() is None:
                discard(future.result()[0])
