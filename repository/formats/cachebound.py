"""A size bound on a cache folder (缓存上限): the least recently used files go first.

A cache folder here holds files made again from the store when missing (researchers' copies,
``cache/research/``: :mod:`.research_copies`), so removing one loses nothing. :func:`prune` treats every regular
file under the folder alike, in subfolders too, whoever wrote it, and keeps no index: what it reads is the files'
modification times, which a reader sets when it serves a kept file (:func:`used`). Access times are not used:
``noatime`` and ``relatime`` mounts, the default, do not keep them. So several server processes and worker
hosts sharing a home (NFS) need nothing but the folder itself, and a pass cut short leaves a valid cache.

Never removed: a temporary file (``*.tmp`` or ``*.tmp-*``: a writer's file before it is renamed into place) or a
hidden one (``.*``), neither of which is counted; and a file used or written within the last
:data:`IN_USE_SECONDS` (the copy a request has just looked up and is about to send, a file being written under
another name), which is counted. Each file is looked at again just before it is removed: one used meanwhile
stays. A temporary file older than :data:`STALE_TEMP_SECONDS` is a killed writer's leftover (every writer here is
bounded to minutes) and is removed by every pass, with or without a bound. So is a copy's lock (``.<name>.lock``,
:mod:`.copylock`) that no maker holds: one that outlived its maker (a killed process), counted as removed; a lock
held is left alone, and not counted. Removing a cached file is not a preservation action, so no PREMIS event is recorded for it.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from .copylock import is_lock, remove_stale

TEMP_SUFFIX = ".tmp"
TEMP_INFIX = ".tmp-"  # so are a writer's files named after it (a scan's pages: <key>.tmp-<pid>-<random>.p0001.png)
FILL = 0.9  # a pass that finds the folder above its bound removes files until it holds at most this share of it
IN_USE_SECONDS = 600.0  # a file used (or written) more recently than this is never removed
TOUCH_SECONDS = 60.0  # a kept file's use is recorded again (its mtime set) at most once in this long
STALE_TEMP_SECONDS = 86400.0  # a temporary file this old was left by a writer that was killed


@dataclass(frozen=True)
class Pruned:
    """What a pass over a cache folder did: ``removed`` files of ``freed`` bytes; ``kept`` files of
    ``kept_bytes`` bytes left (temporary and hidden files not counted); ``bound`` in bytes (0: none)."""

    removed: int
    freed: int
    kept: int
    kept_bytes: int
    bound: int

    def to_dict(self) -> dict[str, int]:
        return {"removed": self.removed, "freed_bytes": self.freed, "kept": self.kept,
                "kept_bytes": self.kept_bytes, "bound_bytes": self.bound}


def used(path: Path, *, now: float | None = None) -> bool:
    """Record that the kept file ``path`` is being used (its modification time set to now, unless set within
    :data:`TOUCH_SECONDS`); False when it is not there (removed by a pass meanwhile: make it again)."""
    try:
        found = path.stat()
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(found.st_mode):
        return False
    if (time.time() if now is None else now) - found.st_mtime >= TOUCH_SECONDS:
        try:  # (now as the file system's clock has it: one clock for every host sharing the home)
            os.utime(path, None if now is None else (found.st_atime, now))
        except FileNotFoundError:
            return False
        except OSError:  # a home this process may read but not write: it is there, only not marked
            pass
    return True


def _files(root: Path, stale_before: float) -> tuple[list[tuple[float, int, int, Path]], list[tuple[int, Path]],
                                                     list[Path]]:
    """(mtime, mtime in ns, size, path) of each regular file under ``root`` that a pass may remove, (size, path)
    of each temporary file last written before ``stale_before``, and each copy's lock (:func:`.copylock.is_lock`);
    walked without recursion and without following links."""
    found: list[tuple[float, int, int, Path]] = []
    stale: list[tuple[int, Path]] = []
    locks: list[Path] = []
    folders = [root]
    while folders:
        try:
            with os.scandir(folders.pop()) as entries:
                listed = list(entries)
        except OSError:  # gone, or not readable: nothing of it is counted
            continue
        for entry in listed:
            if entry.name.startswith("."):
                if is_lock(entry.name) and entry.is_file(follow_symlinks=False):
                    locks.append(Path(entry.path))
                continue
            if entry.name.endswith(TEMP_SUFFIX) or TEMP_INFIX in entry.name:
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode) and info.st_mtime < stale_before:
                    stale.append((info.st_size, Path(entry.path)))
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    info = entry.stat(follow_symlinks=False)
                    found.append((info.st_mtime, info.st_mtime_ns, info.st_size, Path(entry.path)))
            except OSError:  # removed while listed
                continue
    return found, stale, locks


def prune(root: Path, bound: int, *, now: float | None = None, in_use: float = IN_USE_SECONDS) -> Pruned:
    """Keep the files under ``root`` within ``bound`` bytes (0: no bound): when they hold more, remove the least
    recently used until they hold at most :data:`FILL` of it, sparing any used within ``in_use`` seconds."""
    moment = time.time() if now is None else now
    files, stale, locks = _files(root, moment - STALE_TEMP_SECONDS) if root.is_dir() else ([], [], [])
    removed, freed = 0, 0
    for size, path in stale:  # a killed writer's leftovers
        try:
            path.unlink()
        except OSError:
            continue
        removed, freed = removed + 1, freed + size
    removed += sum(remove_stale(path) for path in locks)  # a killed maker's lock (one held stays: see .copylock)
    total = sum(size for _m, _n, size, _p in files)
    if not bound or total <= bound:
        return Pruned(removed, freed, len(files), total, bound)
    target = int(bound * FILL)
    left = len(files)
    for mtime, mtime_ns, size, path in sorted(files, key=lambda f: (f[0], str(f[3]))):
        if total <= target or moment - mtime < in_use:
            break  # (sorted: every file after this one was used more recently still)
        try:
            if path.lstat().st_mtime_ns != mtime_ns:  # used (or made again) since it was listed: it stays
                continue
            path.unlink()
        except FileNotFoundError:  # removed by another pass or by disposal meanwhile: gone all the same
            total, left = total - size, left - 1
            continue
        except OSError:
            continue
        total, left, removed, freed = total - size, left - 1, removed + 1, freed + size
    return Pruned(removed, freed, left, total, bound)
