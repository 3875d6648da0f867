"""Who may read the store while a disposal removes from it (销毁与并发): the store-readers lock and the audit lock.

An approved disposal removes an object from the primary storage root and from every replica. Work that changes
the home (ingest, supplements, the commit of an OCR run, reindex, rebuild-catalog) runs under the home lock
(:meth:`repository.home.Repository.lock`), which a disposal takes as well. Other work reads objects without it:

- an **audit** hashes every copy and repairs one from another: it could put back what a disposal has just
  removed from a replica, or judge an object half removed. It holds the audit lock (``audit/.audit.lock``,
  ``flock``), and a disposal takes that lock too;
- an **export** (移交) copies a snapshot of an object into a transfer package, an **OCR run** reads page images
  between its commits, **replication** copies objects from the primary into the replicas. Each holds the
  *store-readers lock* (``audit/.readers.lock``) shared, any number at a time; a disposal holds it exclusively.

Nobody waits: a disposal that finds an audit or a reader running, or a reader that finds a disposal running,
is refused at once with :class:`~repository.errors.DisposalError` ``DSP-BUSY``, one of the busy codes
(:data:`repository.errors.BUSY_CODES`): the command exits 75 and a job goes back on the queue. Locks are
``flock`` locks on a file opened for the purpose, so two threads of one process exclude each other as two
processes do; :func:`disposing` is re-entrant in the thread holding it (an approval recovers the home, and
recovery finishes disposals). A process forked while a lock is held closes its copy at once (an audit's shard
workers), so no child keeps the home busy after its parent is gone.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO

from ..errors import DisposalError

_OPEN: list[IO[str]] = []  # lock files held by this process (closed in a forked child)
_HELD: dict[str, tuple[int, int]] = {}  # readers lock path -> (thread holding the disposal locks, depth)
_GUARD = threading.Lock()


def _close_in_child() -> None:
    global _GUARD
    _GUARD = threading.Lock()
    _HELD.clear()
    while _OPEN:
        _OPEN.pop().close()


os.register_at_fork(after_in_child=_close_in_child)


@contextmanager
def _flocked(path: Path, mode: int, busy: str) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DisposalError(msgid=busy, code="DSP-BUSY") from None
        with _GUARD:
            _OPEN.append(handle)
        try:
            yield
        finally:
            with _GUARD:
                if handle in _OPEN:
                    _OPEN.remove(handle)


@contextmanager
def reading_store(readers_lock: Path) -> Iterator[None]:
    """Hold the store-readers lock shared (an export, an OCR run, replication); DSP-BUSY while a disposal runs."""
    with _flocked(readers_lock, fcntl.LOCK_SH, "lifecycle.busy_disposal"):
        yield


@contextmanager
def disposing(readers_lock: Path, audit_lock: Path) -> Iterator[None]:
    """Hold the audit lock and the store-readers lock exclusively, for carrying out a disposal (call it holding
    the home lock); DSP-BUSY while an audit, an export, an OCR run or replication is running."""
    key, me = str(readers_lock.resolve()), threading.get_ident()
    with _GUARD:
        holder, depth = _HELD.get(key, (0, 0))
        if depth and holder == me:
            _HELD[key] = (me, depth + 1)
            mine = True
        else:
            mine = False
    if mine:
        try:
            yield
        finally:
            with _GUARD:
                _HELD[key] = (me, _HELD[key][1] - 1)
        return
    with ExitStack() as stack:
        stack.enter_context(_flocked(audit_lock, fcntl.LOCK_EX, "lifecycle.busy_audit"))
        stack.enter_context(_flocked(readers_lock, fcntl.LOCK_EX, "lifecycle.busy_readers"))
        with _GUARD:
            _HELD[key] = (me, 1)
        try:
            yield
        finally:
            with _GUARD:
                _HELD.pop(key, None)
