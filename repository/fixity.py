"""Streaming fixity: the one place hsar turns bytes into checksums.

Implements the checksum side of RFC 8493 (BagIt 1.0) §2.4: an algorithm is named in a manifest file name by
its lowercase name with non-alphanumerics removed (``sha512``); SHA-256 and SHA-512 MUST be supported, MD5
and SHA-1 are kept for older bags (RFC 8493 §2.4, §6.1 call them weak). The same functions serve ingest
(receive, bag validation), OCFL fixity blocks and the scheduled audit.

Design, for 10 GB packages on two shared cores:

- every file is read **once**, in 1 MiB chunks, into one reused buffer; each chunk feeds every requested
  algorithm, so ``sha256`` + ``sha512`` cost one read;
- hashlib releases the GIL on updates this large, so :func:`hash_many` runs files on a small thread pool and
  keeps only a bounded number of files in flight;
- files are opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked with ``fstat``: a symbolic link or a FIFO
  planted in a package is refused instead of followed or blocked on.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import BinaryIO

from .errors import HsarError

CHUNK_SIZE = 1 << 20

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
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    readinto = getattr(stream, "readinto", None)
    while True:
        if readinto is not None:
            count = readinto(buffer)
            chunk = view[:count] if count else b""
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
    return size, {name: hasher.hexdigest() for name, hasher in hashers}


def _open_regular(path: Path, follow_symlinks: bool) -> tuple[int, os.stat_result]:
    """Open ``path`` read-only, refusing (OSError) anything that is not a regular file."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, "refusing to follow a symbolic link", str(path)) from None
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    return fd, info


def open_regular(path: str | os.PathLike[str], *, follow_symlinks: bool = False) -> BinaryIO:
    """Open a regular file for unbuffered binary reading; OSError for a link, FIFO, device or folder."""
    fd, _ = _open_regular(Path(path), follow_symlinks)
    return os.fdopen(fd, "rb", buffering=0)


def hash_file(path: str | os.PathLike[str], algorithms: Sequence[str], *, follow_symlinks: bool = False) -> FileDigest:
    """``(size, {algorithm: hex digest})`` of one regular file, read once in 1 MiB chunks."""
    with open_regular(path, follow_symlinks=follow_symlinks) as stream:
        return hash_stream(stream, algorithms)


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


def iter_hash_jobs(
    jobs: Iterable[tuple[Path, Sequence[str]]],
    workers: int = 2,
) -> Iterator[tuple[Path, FileDigest | OSError]]:
    """Hash each ``(path, algorithms)`` job on ``workers`` threads, yielding results as they finish.

    A file that cannot be read yields its ``OSError`` instead of a digest, so callers decide whether that
    is a finding (audit) or a failure (ingest). At most ``4 * workers`` files are in flight at once.
    """
    checked = ((Path(path), check_algorithms(algs)) for path, algs in jobs)
    if workers <= 1:
        for path, algs in checked:
            yield _job(path, algs, hash_file)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hsar-fixity")
    pending: set[Future[tuple[Path, FileDigest | OSError]]] = set()
    try:
        for path, algs in checked:
            pending.add(pool.submit(_job, path, algs, hash_file))
            if len(pending) >= 4 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (future.result() for future in done)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from (future.result() for future in done)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


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
