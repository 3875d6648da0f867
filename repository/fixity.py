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
- a file is read straight from its descriptor (``os.readv`` into the thread's buffer), with no file object;
- files are opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked with ``fstat``: a symbolic link or a FIFO
  planted in a package is refused instead of followed or blocked on.
"""

from __future__ import annotations

import errno
import hashlib
import os
import queue
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from .errors import HsarError

CHUNK_SIZE = 1 << 20
BATCH_FILES = 32  # most files per pool task
BATCH_BYTES = 4 << 20  # a file with a size hint below this may share a task; a batch stops growing past it

#: Algorithms hsar hashes with, by their RFC 8493 §2.4 manifest names (all are hashlib names too).
SUPPORTED_ALGORITHMS: tuple[str, ...] = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "blake2b")

#: Accepted when reading old bags but reported as weak (RFC 8493 §6.1: MD5 and SHA-1 are broken).
WEAK_ALGORITHMS: frozenset[str] = frozenset({"md5", "sha1"})

#: Length of each algorithm's hex digest, to tell a malformed manifest line from a wrong checksum.
HEX_LENGTHS: dict[str, int] = {
    "md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128, "blake2b": 128,
}

FileDigest = tuple[int, dict[str, str]]


class UnsupportedAlgorithm(HsarError, ValueError):
    """An algorithm name hsar does not hash with (a programming or configuration error)."""

    code = "FIXITY-ALGORITHM"


class LimitExceeded(HsarError):
    """A stream produced more bytes than the caller allowed; nothing past ``limit`` was written."""

    code = "FIXITY-LIMIT"

    def __init__(self, limit: int, size: int) -> None:
        super().__init__(f"stream exceeds {limit} bytes (read {size})")
        self.limit = limit
        self.size = size


def check_algorithms(algorithms: Iterable[str]) -> tuple[str, ...]:
    """``algorithms`` without duplicates, in the given order; raises :class:`UnsupportedAlgorithm`."""
    seen: dict[str, None] = {}
    for name in algorithms:
        if name not in HEX_LENGTHS:
            raise UnsupportedAlgorithm(f"unsupported checksum algorithm: {name!r}")
        seen.setdefault(name)
    return tuple(seen)


def _hashers(algorithms: Sequence[str]) -> dict[str, hashlib._Hash]:
    # usedforsecurity=False keeps md5/sha1 available for old bags on FIPS-mode systems.
    return {name: hashlib.new(name, usedforsecurity=False) for name in check_algorithms(algorithms)}


_local = threading.local()


def _take_buffer() -> bytearray:
    """A ``CHUNK_SIZE`` buffer kept per thread (a small free list, so nested calls each get their own)."""
    free: list[bytearray] | None = getattr(_local, "free", None)
    if free:
        return free.pop()
    return bytearray(CHUNK_SIZE)


def _give_back(buffer: bytearray) -> None:
    free: list[bytearray] | None = getattr(_local, "free", None)
    if free is None:
        free = _local.free = []
    if len(free) < 2:
        free.append(buffer)


def hash_stream(
    stream: BinaryIO,
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
    hashers = list(_hashers(algorithms).items())
    size = 0
    readinto = getattr(stream, "readinto", None)
    buffer = _take_buffer() if readinto is not None else None
    view = memoryview(buffer) if buffer is not None else None
    try:
        while True:
            if readinto is not None:
                count = readinto(buffer)
                chunk = view[:count] if count else b""  # type: ignore[index]
            else:
                chunk = stream.read(CHUNK_SIZE)
                count = len(chunk)
            if not count:
                break
            if limit is not None and size + count > limit:
                raise LimitExceeded(limit, size + count)
            size += count
            for _, hasher in hashers:
                hasher.update(chunk)
            if sink is not None:
                sink.write(chunk)
    finally:
        if buffer is not None:
            _give_back(buffer)
    return size, {name: hasher.hexdigest() for name, hasher in hashers}


def _open_regular(path: str | os.PathLike[str], follow_symlinks: bool) -> tuple[int, os.stat_result]:
    """Open ``path`` read-only, refusing (OSError) anything that is not a regular file."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, "refusing to follow a symbolic link", os.fspath(path)) from None
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
    return fd, info


def open_regular(path: str | os.PathLike[str], *, follow_symlinks: bool = False) -> BinaryIO:
    """Open a regular file for unbuffered binary reading; OSError for a link, FIFO, device or folder."""
    fd, _ = _open_regular(path, follow_symlinks)  # no Path(): parsing the path costs more than opening it
    return os.fdopen(fd, "rb", buffering=0)


class _Descriptor:
    """Just enough of a binary stream for :func:`hash_stream`: ``readinto`` straight from a descriptor (no
    file object per file: for small files its set-up cost a noticeable share of hashing them)."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def readinto(self, buffer: bytearray) -> int:
        return os.readv(self.fd, (buffer,))


def hash_file(path: str | os.PathLike[str], algorithms: Sequence[str], *, follow_symlinks: bool = False) -> FileDigest:
    """``(size, {algorithm: hex digest})`` of one regular file, read once in 1 MiB chunks."""
    fd, _ = _open_regular(path, follow_symlinks)
    try:
        return hash_stream(_Descriptor(fd), algorithms)  # type: ignore[arg-type]
    finally:
        os.close(fd)


def copy_and_hash(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    algorithms: Sequence[str],
    *,
    fsync: bool = False,
    follow_symlinks: bool = False,
    preserve_mtime: bool = True,
) -> FileDigest:
    """Copy ``src`` to the new file ``dst`` (which must not exist), hashing the bytes as they pass.

    Each byte is read once. ``dst`` is created exclusively and never through a symbolic link; on any error
    the partial ``dst`` is removed. ``fsync`` makes the copy durable before returning.
    """
    fd, info = _open_regular(Path(src), follow_symlinks)
    out_flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    with os.fdopen(fd, "rb", buffering=0) as source:
        out_fd = os.open(dst, out_flags, 0o666)
        try:
            with os.fdopen(out_fd, "wb") as sink:
                result = hash_stream(source, algorithms, sink=sink)
                sink.flush()
                if fsync:
                    os.fsync(sink.fileno())
        except BaseException:
            Path(dst).unlink(missing_ok=True)
            raise
    if preserve_mtime:
        os.utime(dst, ns=(info.st_atime_ns, info.st_mtime_ns))
    return result


def _job(path: Path, algorithms: Sequence[str], hasher: Callable[[Path, Sequence[str]], FileDigest]
         ) -> tuple[Path, FileDigest | OSError]:
    try:
        return path, hasher(path, algorithms)
    except OSError as exc:
        return path, exc


#: ``(path, algorithms)``, or ``(path, algorithms, size)`` where the caller knows the size: a hint for
#: batching only (what is read is what counts).
HashJob = tuple[Path, Sequence[str]] | tuple[Path, Sequence[str], int | None]


def iter_hash_jobs(
    jobs: Iterable[HashJob],
    workers: int = 2,
) -> Iterator[tuple[Path, FileDigest | OSError]]:
    """Hash each job's file on ``workers`` threads, yielding ``(path, outcome)`` as files finish.

    A file that cannot be read yields its ``OSError`` instead of a digest, so callers decide whether that
    is a finding (audit) or a failure (ingest). At most ``4 * workers`` tasks (a file, or a batch of small
    files with size hints) are in flight at once. ``jobs`` is consumed in the calling thread only; each
    worker thread reuses one read buffer for all its files.
    """
    checked = ((job[0] if isinstance(job[0], Path) else Path(job[0]), check_algorithms(job[1]),
                job[2] if len(job) > 2 else None) for job in jobs)
    if workers <= 1:
        for path, algs, _size in checked:
            yield _job(path, algs, hash_file)
        return
    yield from _HashPool(workers).run(_batches(checked))


_Task = list[tuple[Path, tuple[str, ...]]]


def _batches(checked: Iterator[tuple[Path, tuple[str, ...], int | None]]) -> Iterator[_Task]:
    """Tasks in job order: runs of small files (known sizes) up to the batch limits, every other file alone."""
    batch: _Task = []
    held = 0
    for path, algs, size in checked:
        if size is None or size >= BATCH_BYTES:
            if batch:
                yield batch
                batch, held = [], 0
            yield [(path, algs)]
            continue
        batch.append((path, algs))
        held += size
        if len(batch) >= BATCH_FILES or held >= BATCH_BYTES:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


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
                self.done.put((True, [_job(path, algs, hash_file) for path, algs in task]))
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer, re-raised there
                self.done.put((False, exc))

    def _results(self, block: bool) -> list[tuple[Path, FileDigest | OSError]]:
        ok, value = self.done.get(block)
        if not ok:
            raise value  # type: ignore[misc]
        return value  # type: ignore[return-value]

    def run(self, tasks: Iterator[_Task]) -> Iterator[tuple[Path, FileDigest | OSError]]:
        threads = [threading.Thread(target=self._work, name=f"hsar-fixity-{n}", daemon=True)
                   for n in range(self.workers)]
        for thread in threads:
            thread.start()
        bound, pending = 4 * self.workers, 0
        try:
            for task in tasks:
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
