"""Whose turn it is to append to the access register, across the processes of one SQLite state database.

Two server processes that both register views meet at SQLite's write lock. SQLite makes the loser wait by
sleeping and trying again (1, 2, 5, 10, 15, 20 … ms between tries), so a page that met the other process's
commit waited up to tens of milliseconds for a lock held for one: two processes of four threads appending in
a loop saw the slowest one in a hundred appends take 80–100 ms (20–30 ms with the turns below). An advisory
lock (``flock``) on a file beside the database queues the writers in the kernel instead: a writer waiting for
its turn wakes up as the one before lets go. SQLite's own lock still guards the data; this lock only orders
the register's writers, and a writer that cannot take it (no such file can be made: a read-only folder, or
a system without ``flock``) writes as before. The kernel lets go of it when its process ends, however it ends.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..sqlengine import read_only_url, sqlite_file

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite's own waiting only
    fcntl = None  # type: ignore[assignment]

#: the lock file beside a state database ``state.sqlite``: ``state.sqlite.register-turn``
SUFFIX = ".register-turn"


class Turns:
    """The register's turn of one state database (``url``) in this process."""

    def __init__(self, url: str) -> None:
        file = sqlite_file(url) if fcntl is not None and not read_only_url(url) else None
        self.path: Path | None = file.with_name(file.name + SUFFIX) if file is not None else None
        self._fd: int | None = None
        self._pid = 0  # the process that opened _handle (a forked child opens its own: flock is per open file)
        self._lock = threading.Lock()

    def _opened(self) -> int | None:
        if self.path is None:
            return None
        if self._fd is None or self._pid != os.getpid():
            try:  # kept open while this object lives (a raw descriptor: closed by the finaliser, no warning)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
            except OSError:
                self.path = None  # cannot be made here: SQLite's waiting only, from now on
                return None
            self._pid = os.getpid()
            weakref.finalize(self, os.close, self._fd)
        return self._fd

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the register's turn (waiting for it) while the block writes."""
        with self._lock:
            fd = self._opened()
            if fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                except OSError:  # a file system without flock: as before
                    fd = None
            try:
                yield
            finally:
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)
