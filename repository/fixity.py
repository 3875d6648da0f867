"""Streaming fixity: the one place hsar turns bytes into checksums.

Implements the checksum side of RFC 8493 (BagIt 1.0) §2.4: an algorithm is named in a manifest file name by
its lowercase name with non-alphanumerics removed (``sha512``); SHA-256 and SHA-512 MUST be supported, MD5
and SHA-1 are kept for older bags (RFC 8493 §2.4, §6.1 call them weak). The same functions serve ingest
(receive, bag validation), OCFL fixity blocks and the scheduled audit.

Design, for 10 GB packages on two shared cores:

- every file is read **once**, in 1 MiB chunks, into a buffer reused by every file its thread hashes (one
  per thread, not one per file: allocating and faulting in 1 MiB per small file cost as much as hashing it);
  each chunk feeds every requested algorithm, so ``sha256`` + ``sha512`` cost one read;
- hashlib releases the GIL on updates this large, so :func:`iter_hash_jobs` runs files on a few long-lived
  threads fed through a queue (no future or waiter per file) and keeps only a bounded number of tasks in
  flight; files whose size the caller knows to be small travel in batches (up to ``BATCH_FILES`` files and
  ``BATCH_BYTES`` bytes per task), since for a 200 KB file the hand-offs between threads cost a third as
  much as hashing it; a file of unknown or large size is a task of its own, so the threads stay balanced;
- a file is read straight from its descriptor (``os.readv`` into the thread's buffer), with no file object
  (hash worker processes map the larger files instead: :mod:`repository.hashcore`);
- files are opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked with ``fstat``: a symbolic link or a FIFO
  planted in a package is refused instead of followed or blocked on;
- the audit, whose own Python work would hold the hashing threads up at the interpreter lock, hashes in
  worker processes instead (``iter_hash_jobs(..., processes=True)``, :mod:`repository.hashprocs`).

The read loop, the safe open and the buffers live in :mod:`repository.hashcore` (standard library only,
so that worker processes start fast).
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, BinaryIO

from .errors import HsarError, LimitExceeded
from .hashcore import CHUNK_SIZE, FileDigest, attempt, feed, hash_path, new_hashers
from .hashcore import open_regular as _open_regular

BATCH_FILES = 32  # most files per pool task
BATCH_BYTES = 4 << 20  # a file with a size hint below this may share a task; a batch stops growing past it
PROCESS_MIN_BYTES = 64 << 20  # hash worker processes start for at least this much work (less: threads)

#: Algorithms hsar hashes with, by their RFC 8493 §2.4 manifest names (all are hashlib names too).
SUPPORTED_ALGORITHMS: tuple[str, ...] = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "blake2b")

#: Accepted when reading old bags but reported as weak (RFC 8493 §6.1: MD5 and SHA-1 are broken).
WEAK_ALGORITHMS: frozenset[str] = frozenset({"md5", "sha1"})

#: Length of each algorithm's hex digest, to tell a malformed manifest line from a wrong checksum.
HEX_LENGTHS: dict[str, int] = {
    "md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128, "blake2b": 128,
}

__all__ = ["BATCH_BYTES", "BATCH_FILES", "CHUNK_SIZE", "HEX_LENGTHS", "SUPPORTED_ALGORITHMS", "WEAK_ALGORITHMS",
           "FileDigest", "HashJob", "LimitExceeded", "UnsupportedAlgorithm", "check_algorithms", "copy_and_hash",
           "hash_file", "hash_many", "hash_stream", "iter_hash_jobs", "metered", "open_regular"]

#: Told the size of each chunk as it is written (byte progress: ``hsar ingest`` on a terminal); may be called
#: from several threads at once.
ByteProgress = Callable[[int], None]


class _Metered:
    """A sink that tells ``on_bytes`` how many bytes each write passed on."""

    def __init__(self, sink: BinaryIO, on_bytes: ByteProgress) -> None:
        self.sink, self.on_bytes = sink, on_bytes

    def write(self, chunk: bytes) -> int:
        written = self.sink.write(chunk)
        self.on_bytes(len(chunk))
        return written


def metered(sink: BinaryIO, on_bytes: ByteProgress | None) -> BinaryIO:
    """``sink``, or with ``on_bytes`` a sink telling it the size of every chunk written."""
    return sink if on_bytes is None else _Metered(sink, on_bytes)  # type: ignore[return-value]


class UnsupportedAlgorithm(HsarError, ValueError):
    """An algorithm name hsar does not hash with (a programming or configuration error)."""

    code = "FIXITY-ALGORITHM"


def check_algorithms(algorithms: Iterable[str]) -> tuple[str, ...]:
    """``algorithms`` without duplicates, in the given order; raises :class:`UnsupportedAlgorithm`."""
    seen: dict[str, None] = {}
    for name in algorithms:
        if name not in HEX_LENGTHS:
            raise UnsupportedAlgorithm(f"unsupported checksum algorithm: {name!r}")
        seen.setdefault(name)
    return tuple(seen)


def hash_stream(
    stream: IO[bytes],
    algorithms: Sequence[str],
    *,
    sink: BinaryIO | None = None,
    limit: int | None = None,
) -> FileDigest:
    """Hash ``stream`` to its end, copying every byte to ``sink`` if given.

    Returns ``(size, {algorithm: hex digest})``. With ``limit``, raises :class:`LimitExceeded` as soon as the
    stream yields more than ``limit`` bytes, before any byte past the limit reaches ``sink`` (this is what
    stops a zip member whose header lies about its size).
    """
    hashers = new_hashers(check_algorithms(algorithms))
    readinto = getattr(stream, "readinto", None)
    if readinto is None:
        def readinto(buffer: bytearray) -> int:
            data = stream.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)
    size = feed(readinto, hashers, sink=sink, limit=limit)
    return size, {name: hasher.hexdigest() for name, hasher in hashers}


def open_regular(path: str | os.PathLike[str], *, follow_symlinks: bool = False) -> BinaryIO:
    """Open a regular file for unbuffered binary reading; OSError for a link, FIFO, device or folder."""
    fd, _ = _open_regular(path, follow_symlinks)  # no Path(): parsing the path costs more than opening it
    return os.fdopen(fd, "rb", buffering=0)


def hash_file(path: str | os.PathLike[str], algorithms: Sequence[str], *, follow_symlinks: bool = False) -> FileDigest:
    """``(size, {algorithm: hex digest})`` of one regular file, read once in 1 MiB chunks."""
    return hash_path(path, check_algorithms(algorithms), follow_symlinks=follow_symlinks)


def copy_and_hash(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    algorithms: Sequence[str],
    *,
    fsync: bool = False,
    follow_symlinks: bool = False,
    preserve_mtime: bool = True,
    on_bytes: ByteProgress | None = None,
) -> FileDigest:
    """Copy ``src`` to the new file ``dst`` (which must not exist), hashing the bytes as they pass.

    Each byte is read once. ``dst`` is created exclusively and never through a symbolic link; on any error
    the partial ``dst`` is removed. ``fsync`` makes the copy durable before returning. ``on_bytes`` is told
    the size of each chunk copied.
    """
    fd, info = _open_regular(Path(src), follow_symlinks)
    out_flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    with os.fdopen(fd, "rb", buffering=0) as source:
        out_fd = os.open(dst, out_flags, 0o666)
        try:
            with os.fdopen(out_fd, "wb") as sink:
                result = hash_stream(source, algorithms, sink=metered(sink, on_bytes))
                sink.flush()
                if fsync:
                    os.fsync(sink.fileno())
        except BaseException:
            Path(dst).unlink(missing_ok=True)
            raise
    if preserve_mtime:
        os.utime(dst, ns=(info.st_atime_ns, info.st_mtime_ns))
    return result


#: ``(path, algorithms)``, or ``(path, algorithms, size)`` where the caller knows the size: a hint for
#: batching only (what is read is what counts).
HashJob = tuple[Path, Sequence[str]] | tuple[Path, Sequence[str], int | None]


def iter_hash_jobs(
    jobs: Iterable[HashJob],
    workers: int = 2,
    *,
    processes: bool = False,
) -> Iterator[tuple[Path, FileDigest | OSError]]:
    """Hash each job's file on ``workers`` threads, yielding ``(path, outcome)`` as files finish.

    A file that cannot be read yields its ``OSError`` instead of a digest, so callers decide whether that
    is a finding (audit) or a failure (ingest). At most ``4 * workers`` tasks (a file, or a batch of small
    files with size hints) are in flight at once. ``jobs`` is consumed in the calling thread only; each
    worker thread reuses one read buffer for all its files.

    With ``processes`` (and ``workers >= 2``) the files are hashed by ``workers`` worker processes instead
    (:mod:`repository.hashprocs`: they never wait for this interpreter's lock), once the jobs ahead hold
    ``PROCESS_MIN_BYTES`` (by their size hints; a file without one counts as ``BATCH_BYTES``): less work, or
    no worker process starting, is hashed on threads. The outcomes are the same either way.
    """
    checked = ((job[0] if isinstance(job[0], Path) else Path(job[0]), check_algorithms(job[1]),
                job[2] if len(job) > 2 else None) for job in jobs)
    if workers <= 1:
        for path, algs, _size in checked:
            yield attempt(path, algs, hash_file)
        return
    tasks: Iterator[tuple[_Task, int]] = _batches(checked)
    if processes:
        ahead, size = [], 0
        for task in tasks:  # look ahead until the work is worth starting worker processes for
            ahead.append(task)
            size += task[1]
            if size >= PROCESS_MIN_BYTES:
                break
        tasks = itertools.chain(ahead, tasks)
        if size >= PROCESS_MIN_BYTES:
            from .hashprocs import ProcessPool, WorkersUnavailable

            try:
                pool = ProcessPool(workers).start()
            except WorkersUnavailable:
                pass
            else:
                yield from pool.run(tasks)
                return
    yield from _HashPool(workers).run(tasks)


_Task = list[tuple[Path, tuple[str, ...]]]


def _batches(checked: Iterator[tuple[Path, tuple[str, ...], int | None]]) -> Iterator[tuple[_Task, int]]:
    """``(task, hinted bytes)`` in job order: runs of small files (known sizes) up to the batch limits,
    every other file alone (a file without a size hint counts as ``BATCH_BYTES``)."""
    batch: _Task = []
    held = 0
    for path, algs, size in checked:
        if size is None or size >= BATCH_BYTES:
            if batch:
                yield batch, held
                batch, held = [], 0
            yield [(path, algs)], BATCH_BYTES if size is None else size
            continue
        batch.append((path, algs))
        held += size
        if len(batch) >= BATCH_FILES or held >= BATCH_BYTES:
            yield batch, held
            batch, held = [], 0
    if batch:
        yield batch, held


class _HashPool:
    """``workers`` threads taking tasks from one queue and putting outcomes on another (FIFO, unbounded
    queues; the bound on tasks in flight is kept by the feeding thread)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.tasks: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self.done: queue.SimpleQueue[tuple[bool, object]] = queue.SimpleQueue()
        self.cancelled = False

    def _work(self) -> None:
        while (task := self.tasks.get()) is not None:
            if self.cancelled:
                continue
            try:
                self.done.put((True, [attempt(path, algs, hash_file) for path, algs in task]))
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer, re-raised there
                self.done.put((False, exc))

    def _results(self, block: bool) -> list[tuple[Path, FileDigest | OSError]]:
        ok, value = self.done.get(block)
        if not ok:
            raise value  # type: ignore[misc]
        return value  # type: ignore[return-value]

    def run(self, tasks: Iterator[tuple[_Task, int]]) -> Iterator[tuple[Path, FileDigest | OSError]]:
        threads = [threading.Thread(target=self._work, name=f"hsar-fixity-{n}", daemon=True)
                   for n in range(self.workers)]
        for thread in threads:
            thread.start()
        bound, pending = 4 * self.workers, 0
        try:
            for task, _size in tasks:
                while pending >= bound:
                    pending -= 1
                    yield from self._results(True)
                self.tasks.put(task)
                pending += 1
                while pending and not self.done.empty():
                    pending -= 1
                    yield from self._results(False)
            while pending:
                pending -= 1
                yield from self._results(True)
        finally:
            self.cancelled = pending > 0
            for _ in threads:
                self.tasks.put(None)
            for thread in threads:
                thread.join()


def hash_many(
    paths: Iterable[str | os.PathLike[str]],
    algorithms: Sequence[str],
    workers: int = 2,
) -> dict[Path, FileDigest]:
    """``{path: (size, digests)}`` for every path, hashed in parallel; raises the first ``OSError``."""
    algs = check_algorithms(algorithms)
    results: dict[Path, FileDigest] = {}
    for path, outcome in iter_hash_jobs(((Path(p), algs) for p in paths), workers):
        if isinstance(outcome, OSError):
            raise outcome
        results[path] = outcome
    return results
