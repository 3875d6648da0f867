"""The standard-library core of file hashing, shared by :mod:`repository.fixity` and its hash worker processes.

It imports nothing outside the standard library, and :mod:`repository.errors` and :mod:`repository.messages`
only where an error is raised, because :mod:`repository.hashprocs` starts it as ``python -I -S`` worker
processes whose start-up is part of every audit (importing those two took a worker 0.035 CPU-s, most of
its start). One read loop (:func:`feed`) serves every stream; :func:`hash_path` opens a file safely and hashes it.

Worker processes map each file of ``MAP_MIN_BYTES`` or more (``mmap``) and hash the mapping, where threads
read into a buffer: hashlib then reads the page cache's own pages, without first copying every byte into
the buffer (the copy is most of a read()'s system time). Over the audit benchmark's 2.4 GB store, two bare
processes mapping used 3.7-4.4 CPU-s where two reading used 4.4-5.2 (docs/BENCHMARKS.md, eleventh session;
the fourth session had measured reading as fast, by wall time against an in-memory ceiling). A file that
shrinks under a mapping kills the reader with SIGBUS, where ``read()`` reports a short file: only worker
processes map, and a worker that dies costs :mod:`repository.hashprocs` a re-read of its files in the
parent, whose outcome (the short file's digest) is the one reported. Threads, in the parent, never map.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import sys
import threading

TYPE_CHECKING = False  # not typing's: a worker process does not import typing (nor signal, json) at start
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path
    from typing import IO, Any, BinaryIO, TypeVar

    P = TypeVar("P", str, Path)

    Hashers = list[tuple[str, Any]]  # (algorithm, hashlib object)

CHUNK_SIZE = 1 << 20  # bytes per read() into a thread's reused buffer
MAP_MIN_BYTES = CHUNK_SIZE  # a worker process maps files of at least this size (smaller ones: one read)

FileDigest = tuple[int, dict[str, str]]


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
                from .errors import LimitExceeded

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


def open_regular(path: str | bytes | os.PathLike[str], follow_symlinks: bool = False) -> tuple[int, os.stat_result]:
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
            from .messages import Text

            raise OSError(errno.ELOOP, Text.of("file.symlink"), os.fspath(path)) from None
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        from .messages import Text

        raise OSError(errno.EINVAL, Text.of("file.not_regular"), os.fspath(path))
    return fd, info


def hash_path(path: str | bytes | os.PathLike[str], algorithms: Sequence[str], *, follow_symlinks: bool = False,
              mapped: bool = False) -> FileDigest:
    """``(size, {algorithm: hex digest})`` of one regular file (see :func:`open_regular`), read to its end.

    With ``mapped`` (worker processes only: see the module's notes on SIGBUS), a file of ``MAP_MIN_BYTES`` or
    more is hashed through a mapping of the size ``fstat`` gave, then read from there to its end."""
    fd, info = open_regular(path, follow_symlinks)
    try:
        hashers = new_hashers(algorithms)
        size = _feed_mapping(fd, info.st_size, hashers) if mapped and info.st_size >= MAP_MIN_BYTES else 0
        size += feed(lambda buffer: os.readv(fd, (buffer,)), hashers)
        return size, {name: hasher.hexdigest() for name, hasher in hashers}
    finally:
        os.close(fd)


def _feed_mapping(fd: int, size: int, hashers: Hashers) -> int:
    """Hash the first ``size`` bytes of ``fd`` through a read-only mapping, leave the offset past them and
    return ``size``; 0 (nothing hashed, offset unmoved) when the file is already shorter than that."""
    import mmap

    try:
        mapping = mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
    except ValueError:  # shrunk since fstat (mmap checks the length against the file's): read it instead
        return 0
    except OSError:  # a file system that cannot map (ENODEV), no address space left: read it instead
        return 0
    with mapping:
        if len(hashers) == 1:
            hashers[0][1].update(mapping)
        else:  # chunk by chunk, so that every algorithm reads each chunk while it is in the CPU's cache
            with memoryview(mapping) as view:
                for start in range(0, size, CHUNK_SIZE):
                    with view[start:start + CHUNK_SIZE] as chunk:
                        for _, hasher in hashers:
                            hasher.update(chunk)
    os.lseek(fd, size, os.SEEK_SET)
    return size


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
# could not be read, "E<errno>", the error message and the file name as the error gave it ("T<errno>" and the
# message's catalogue key instead, where the error carries a repository.messages.Text: a link, a FIFO).


def write_frame(out: IO[bytes], fields: list[bytes]) -> None:
    payload = b"\0".join(fields)
    out.write(len(payload).to_bytes(4, "big") + payload)
    out.flush()


def read_frame(source: IO[bytes]) -> list[bytes] | None:
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
            name = os.fsencode(exc.filename if exc.filename is not None else b"")
            key = getattr(exc.strerror, "key", None)  # a messages.Text without parameters (open_regular's)
            if isinstance(key, str) and not getattr(exc.strerror, "params", ()):
                out += [b"T%d" % (exc.errno or 0), key.encode("utf-8"), name]
            else:
                out += [b"E%d" % (exc.errno or 0), str(exc.strerror or "").encode("utf-8", "replace"), name]
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
