"""One painter per copy (一件一绘): an exclusive lock on a file beside a copy in a cache, held while it is made.

A researcher's copy (:mod:`.research_copies`, :mod:`.scan_copies`) may be asked for by several makers at once: an
archivist's approval queues the ``scan-copy`` job while a researcher's own job makes the same scan's copy, two
researchers' ``research-copy`` jobs make the same PDF's (the same bytes and names: the same copy), a request paints
a short copy while a job paints it. Each maker takes the copy's lock (:func:`painting`) before painting and looks in
the cache a second time once it holds it: the second maker waits for the first and uses what it made (or the error
it kept) instead of painting again.

The lock is ``flock`` on ``<cache>/.<copy name>.lock``, opened for the purpose (two threads of one process exclude
each other as two processes do). The kernel lets go of it when its process ends, however it ends: a painter killed
mid-copy blocks nobody (a child it forked closes its copy of the lock as it begins, so it does not hold the lock on
after its parent is gone). Its holder removes the file before letting go; a maker that waited for a file removed
meanwhile (its inode is no longer the one at the path) takes the lock again on the file there now, so a removed
lock never lets two makers in. A file left by a killed process is free, and is removed by the cache bound's pass
(:func:`remove_stale`, from :func:`.cachebound.prune`), which takes the lock the same way before removing it.

A maker waits at most ``wait`` seconds (the painting child's own time limit and a margin: a holder that takes
longer is stuck); then, and where no lock can be had (a read-only cache folder, a file system without locks), it
paints as it did without one: the copy is written under a temporary name and renamed into place, so two makers
painting at once lose time, never the copy.

Several hosts sharing a home: on NFS (v3 through ``lockd``, v4 natively) Linux carries ``flock`` to the server as
a whole-file POSIX lock, so the makers of every host exclude each other; a host that dies keeps its locks until
the server notices (NFSv4: the lease, 90 seconds by default; v3: the host's reboot), and a waiter on another host
waits meanwhile, at most ``wait``. Mounted with ``local_lock=flock`` (or ``all``), and on file systems that lock
per host only (some SMB/CIFS mounts), a lock excludes only the processes of its own host: two hosts may paint the
same copy at once, as without a lock (time lost, the copy whole). A lock file's inode may be stale on another
host (ESTALE): that is taken as a removed lock, and the lock taken again on the file there now.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PREFIX = "."  # hidden: not a copy, neither counted nor removed as one by the cache's bound (.cachebound)
SUFFIX = ".lock"
#: how much longer than a painting child's own time limit a maker waits for another painting the same copy
LOCK_MARGIN = 60.0
_FIRST_POLL, _LAST_POLL = 0.01, 0.25  # seconds between two tries of a waiter (doubling from the first)
_HELD, _NO_LOCK, _AGAIN = -1, -2, -3  # what a try gives when it did not take the lock (a descriptor is >= 0)
_holding: set[int] = set()  # the descriptors of the locks this process holds


def _close_inherited() -> None:
    """In a child forked while this process held locks (a worker's thread forking a job's child): close its copies of
    them, so the locks are not held on by the child after their holder has let go of them, or was killed."""
    for fd in list(_holding):
        try:
            os.close(fd)
        except OSError:
            pass
    _holding.clear()


os.register_at_fork(after_in_child=_close_inherited)


def lock_path(folder: Path, name: str) -> Path:
    """The lock of the copy named ``name`` (its key and kind, without a suffix) in ``folder``."""
    return folder / f"{PREFIX}{name}{SUFFIX}"


def is_lock(name: str) -> bool:
    """Whether a file named ``name`` is a copy's lock (:func:`lock_path`)."""
    return name.startswith(PREFIX) and name.endswith(SUFFIX) and len(name) > len(PREFIX) + len(SUFFIX)


def _same(fd: int, path: Path) -> bool:
    """Whether ``fd`` is still the file at ``path`` (not removed, nor replaced, since it was opened)."""
    try:
        held, there = os.fstat(fd), os.stat(path)
    except OSError:  # gone, or a stale handle on another host's share: removed
        return False
    return (held.st_dev, held.st_ino) == (there.st_dev, there.st_ino)


def _try(path: Path, *, create: bool) -> int:
    """One try for the lock at ``path``: its descriptor when taken; :data:`_HELD` when another holds it;
    :data:`_NO_LOCK` when no lock can be had here (the file cannot be made or opened, the file system does not
    lock; without ``create``: no such file); :data:`_AGAIN` when the file was removed meanwhile."""
    flags = os.O_RDWR | os.O_CLOEXEC | (os.O_CREAT if create else 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileNotFoundError:  # (with create: its folder removed meanwhile, by a disposal say)
        return _NO_LOCK
    except OSError as exc:
        return _AGAIN if exc.errno == errno.ESTALE else _NO_LOCK
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return _HELD
    except OSError as exc:
        os.close(fd)
        return _AGAIN if exc.errno == errno.ESTALE else _NO_LOCK
    if not _same(fd, path):  # removed by its last holder (or a pass of the bound) after it was opened here
        os.close(fd)
        return _AGAIN
    return fd


def _acquire(path: Path, wait: float) -> int | None:
    """The lock at ``path``, waited for up to ``wait`` seconds; None when it cannot be had (see the module)."""
    deadline, pause = time.monotonic() + wait, _FIRST_POLL
    while True:
        got = _try(path, create=True)
        if got >= 0:
            _holding.add(got)
            return got
        if got == _NO_LOCK or time.monotonic() >= deadline:
            return None
        if got == _HELD:  # wait for its holder (_AGAIN: try again at once)
            time.sleep(pause)
            pause = min(pause * 2, _LAST_POLL)


def _release(fd: int, path: Path) -> None:
    try:  # removed while held: a maker that opened this file meanwhile finds it gone and takes the one there now
        path.unlink()
    except OSError:
        pass
    _holding.discard(fd)
    os.close(fd)  # (lets go of the lock)


@contextmanager
def painting(path: Path, *, wait: float) -> Iterator[bool]:
    """Hold the copy's lock ``path`` (:func:`lock_path`) while the block makes the copy, after waiting up to ``wait``
    seconds for a maker holding it; yields whether it is held (False: none could be had, or its holder took longer
    than ``wait``: the block paints without it). The block looks in the cache again first: a maker that held the
    lock meanwhile may have made the copy."""
    fd = _acquire(path, wait)
    try:
        yield fd is not None
    finally:
        if fd is not None:
            _release(fd, path)


def remove_stale(path: Path) -> bool:
    """Remove the lock file ``path`` when no maker holds it (left by a process that was killed); False when it is
    held (or gone, or cannot be removed)."""
    got = _try(path, create=False)
    if got < 0:
        return False
    _release(got, path)
    return True
