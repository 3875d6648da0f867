"""The standard-library core of file hashing, shared by :mod:`repository.fixity` and its hash worker processes.

It imports nothing of hsar but :mod:`repository.errors` (and nothing outside the standard library), because
:mod:`repository.hashprocs` starts it as ``python -I -S`` worker processes whose start-up is part of every
audit. One read loop (:func:`feed`) serves every stream; :func:`hash_path` opens a file safely and hashes it.

A worker process hashes a file of ``MAP_MIN`` bytes or more through read-only memory mappings instead of
``read()``: hashlib then reads the page cache directly, without copying every byte into a buffer first
(measured here with perf: the copy cost a tenth of the hashing for large files and a third for files of
40-400 KB). A mapped file that shrinks, or whose disk returns an error, while it is
being read kills the reading process with SIGBUS; that is why only worker processes map files (the parent
notices the death and hashes the files that worker held with ``read()``, which reports a short read or EIO
like any other), and why :func:`hash_path` maps only when asked to.
"""

from __future__ import annotations

import errno
import hashlib
import mmap
import os
import stat
import sys
import threading

from .errors import HsarError

TYPE_CHECKING = False  # not typing's: a worker process does not import typing (nor signal, json) at start
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path
    from typing import Any, BinaryIO, TypeVar

    P = TypeVar("P", str, Path)

    Hashers = list[tuple[str, Any]]  # (algorithm, hashlib object)

CHUNK_SIZE = 1 << 20  # bytes per read() into a thread's reused buffer
MAP_MIN = 32 << 10  # files at least this large are mapped, not read (worker processes only)
MAP_WINDOW = 64 << 20  # bytes mapped at a time (a multiple of mmap.ALLOCATIONGRANULARITY)
MAP_STEP = 4 << 20  # bytes of a mapping per hashlib update

FileDigest = tuple[int, dict[str, str]]


class LimitExceeded(HsarError):
    """A stream produced more bytes than the caller allowed; nothing past ``limit`` was written."""

    code = "FIXITY-LIMIT"

    def __init__(self, limit: int, size: int) -> None:
        super().__init__(f"stream exceeds {limit} bytes (read {size})")
        self.limit = limit
        self.size = size


def new_hashers(algorithms: Sequence[str]) -> Hashers:
    """A fresh hashlib object per algorithm name (names are checked by the caller).

    ``usedforsecurity=False`` keeps md5/sha1 available for old bags on FIPS-mode systems.
    """
    return [(name, hashlib.new(name, usedforsecurity=False)) for name in algorithms]


_local = threading.local()


def take_buffer() -> bytearray:
    """A ``CHUNK_SIZE`` buffer kept per thread (a small free list, so nested calls each get their own)."""
    free: list[bytearray] | None = getattr(_local, "free", None)
    if free:
        return free.pop()
    return bytearray(CHUNK_SIZE)


def give_back(buffer: bytearray) -> None:
    free: list[bytearray] | None = getattr(_local, "free", None)
    if free is None:
        free = _local.free = []
    if len(free) < 2:
        free.append(buffer)


def feed(readinto: Callable[[bytearray], int], hashers: Hashers, *, sink: BinaryIO | None = None,
         limit: int | None = None) -> int:
    """Read with ``readinto`` to the end into this thread's buffer, updating every hasher (and writing each
    chunk to ``sink``); returns the byte count. With ``limit``, raises :class:`LimitExceeded` as soon as the
    stream yields more, before any byte past the limit reaches ``sink``."""
    buffer = take_buffer()
    view = memoryview(buffer)
    size = 0
    try:
        while count := readinto(buffer):
            if limit is not None and size + count > limit:
                raise LimitExceeded(limit, size + count)
            size += count
            chunk = view[:count] if count < CHUNK_SIZE else buffer
            for _, hasher in hashers:
                hasher.update(chunk)
            if sink is not None:
                sink.write(chunk)
    finally:
        view.release()
        give_back(buffer)
    return size


def open_regular(path: str | os.PathLike[str], follow_symlinks: bool = False) -> tuple[int, os.stat_result]:
    """Open ``path`` read-only: ``(descriptor, fstat)``; OSError for a link, FIFO, device or folder.

    ``O_NOFOLLOW | O_NONBLOCK``, checked with ``fstat``: a symbolic link or a FIFO planted in a package is
    refused instead of followed or blocked on.
    """
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


def _map(fd: int, length: int, offset: int) -> mmap.mmap | None:
    """A read-only mapping of ``length`` bytes from ``offset``; None when the file has shrunk below that."""
    try:
        mapping = mmap.mmap(fd, length, access=mmap.ACCESS_READ, offset=offset)
    except ValueError:  # "mmap length is greater than file size": it shrank since fstat
        return None
    if hasattr(mapping, "madvise"):
        mapping.madvise(mmap.MADV_SEQUENTIAL)
    return mapping


def _feed_mapped(fd: int, size: int, hashers: Hashers) -> bool:
    """Update every hasher with the file's first ``size`` bytes through mappings of ``MAP_WINDOW`` bytes at
    a time (so a worker's resident memory stays bounded whatever the file's size); False if the file has
    shrunk before anything was hashed (the caller reads it instead; after that, :func:`hash_path` notices)."""
    for start in range(0, size, MAP_WINDOW):
        mapping = _map(fd, min(MAP_WINDOW, size - start), start)
        if mapping is None:
            if start == 0:
                return False
            break  # shrank meanwhile: hash_path's second fstat sees it and reads the file instead
        with mapping:
            view = memoryview(mapping)
            try:
                for offset in range(0, len(view), MAP_STEP):
                    chunk = view[offset:offset + MAP_STEP]
                    for _, hasher in hashers:
                        hasher.update(chunk)
                    chunk.release()
            finally:
                view.release()
    return True


def hash_path(path: str | os.PathLike[str], algorithms: Sequence[str], *, follow_symlinks: bool = False,
              mapped: bool = False) -> FileDigest:
    """``(size, {algorithm: hex digest})`` of one regular file (see :func:`open_regular`).

    With ``mapped`` (worker processes only: see the module text), a file of at least ``MAP_MIN`` bytes is
    hashed through a memory mapping; if its size or mtime changed meanwhile it is hashed again with reads,
    so the result is always what reading the file to its end gives.
    """
    fd, info = open_regular(path, follow_symlinks)
    try:
        hashers = new_hashers(algorithms)
        if mapped and info.st_size >= MAP_MIN and _feed_mapped(fd, info.st_size, hashers):
            after = os.fstat(fd)
            if (after.st_size, after.st_mtime_ns) == (info.st_size, info.st_mtime_ns):
                return info.st_size, {name: hasher.hexdigest() for name, hasher in hashers}
            hashers = new_hashers(algorithms)  # it changed meanwhile: what reading it gives counts (a
            # mapping never moves the file offset, so the reads below start at byte 0)
        size = feed(lambda buffer: os.readv(fd, (buffer,)), hashers)
        return size, {name: hasher.hexdigest() for name, hasher in hashers}
    finally:
        os.close(fd)


def attempt(path: P, algorithms: Sequence[str], hasher: Callable[[P, Sequence[str]], FileDigest] = hash_path
            ) -> tuple[P, FileDigest | OSError]:
    """``(path, digest)``, or ``(path, the OSError)`` when the file cannot be read: the outcome callers judge."""
    try:
        return path, hasher(path, algorithms)
    except OSError as exc:
        return path, exc


# ------------------------------------------------------------------------------------- worker process
#
# Frames, both ways: a 4-byte big-endian length, then NUL-separated fields (no path contains NUL).
# Request: task number, then per file its algorithms (comma-separated) and its path (raw bytes).
# Answer: task number, then three fields per file: size, "alg=hex alg=hex", "" -- or, for a file that
# could not be read, "E<errno>", the error message and the file name as the error gave it.


def write_frame(out: BinaryIO, fields: list[bytes]) -> None:
    payload = b"\0".join(fields)
    out.write(len(payload).to_bytes(4, "big") + payload)
    out.flush()


def read_frame(source: BinaryIO) -> list[bytes] | None:
    """The fields of the next frame; None at the end of the input (or a cut frame: the writer died)."""
    head = source.read(4)
    if len(head) < 4:
        return None
    length = int.from_bytes(head, "big")
    payload = source.read(length)
    return payload.split(b"\0") if len(payload) == length else None


def answer(fields: list[bytes]) -> list[bytes]:
    """A worker's answer frame for one request frame (see the frame layout above)."""
    out = [fields[0]]
    for index in range(1, len(fields) - 1, 2):
        algorithms, path = fields[index].decode("ascii").split(","), fields[index + 1]
        try:
            size, digests = hash_path(path, algorithms, mapped=True)
        except OSError as exc:
            name = exc.filename if exc.filename is not None else b""
            out += [b"E%d" % (exc.errno or 0), (exc.strerror or "").encode("utf-8", "replace"),
                    os.fsencode(name)]
        else:
            out += [b"%d" % size, " ".join(f"{a}={d}" for a, d in digests.items()).encode("ascii"), b""]
    return out


def serve(requests: BinaryIO | None = None, replies: BinaryIO | None = None) -> None:
    """The worker loop: answer request frames until the input ends (the parent starts workers in their own
    session, so a terminal's interrupt reaches only the parent, which ends a run by closing the input)."""
    requests = requests or sys.stdin.buffer
    replies = replies or sys.stdout.buffer
    try:
        while (fields := read_frame(requests)) is not None:
            write_frame(replies, answer(fields))
    except BrokenPipeError:  # the parent is gone: nobody needs the answer
        pass
