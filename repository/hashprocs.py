"""Hash worker processes: :func:`repository.fixity.iter_hash_jobs` with ``processes=True``.

Threads share one interpreter lock: while an audit's own Python work runs (signature checks, judging,
writing the log and the catalogue, and in a fresh process importing pyHanko and SQLAlchemy), a hashing
thread waits for the lock between two chunks, and both cores are no longer hashing. Worker processes do not
wait on the parent (they map the larger files where threads read them: :mod:`repository.hashcore`).

Each worker is ``python -I -S`` running :func:`repository.hashcore.serve` (standard library only; started
with ``subprocess``, so no fork of a threaded parent, in a session of its own), fed tasks as frames on its
stdin (:func:`repository.hashcore.read_frame`). Every task is a file, or a batch of small files; a worker
holds at most a task at work and one small one queued (so a large file never waits behind another one
while the other worker is idle).

A worker that dies (killed, out of memory, crashed), or whose answer does not fit its task (it is then
killed), costs nothing but time: the files it held are hashed here, that outcome is the one reported, and a
new worker takes its place (up to one replacement per worker; then the rest is hashed here). If no worker
can be started at all, :class:`WorkersUnavailable` lets the caller use threads.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from .hashcore import FileDigest, attempt, read_frame, write_frame
from .messages import Text

Task = list[tuple[Path, tuple[str, ...]]]
Outcome = FileDigest | OSError
REAP_SECONDS = 30.0  # how long a worker whose input was closed may take to end before it is killed
QUEUED_BYTES = 8 << 20  # a worker takes a second task only while its first is smaller than this
# After serve() (input ended, every answer flushed) the worker leaves without the interpreter's teardown:
# nothing is left to clean up, and the audit waits for its workers to end.
_BOOT = ("import os, sys; sys.path.insert(0, sys.argv[1]); from repository.hashcore import serve; serve(); "
         "os._exit(0)")
_ROOT = str(Path(__file__).resolve().parent.parent)


class WorkersUnavailable(OSError):
    """No hash worker process could be started (the caller hashes in threads instead)."""


def local_outcomes(task: Task) -> list[tuple[Path, Outcome]]:
    """Hash a task's files here, with reads (a dead worker's files, or when no worker is left)."""
    return [attempt(path, algorithms) for path, algorithms in task]


def _outcome(path: Path, size: bytes, detail: bytes, name: bytes) -> tuple[Path, Outcome]:
    if size.startswith(b"E"):
        return path, OSError(int(size[1:]), detail.decode("utf-8", "replace"), os.fsdecode(name) if name else None)
    if size.startswith(b"T"):
        return path, OSError(int(size[1:]), Text.of(detail.decode("utf-8")), os.fsdecode(name) if name else None)
    digests = dict(item.split("=", 1) for item in detail.decode("ascii").split())
    return path, (int(size), digests)


_Message = tuple["_Worker", list[bytes] | None]


class _Worker:
    def __init__(self, number: int, done: queue.SimpleQueue[_Message]) -> None:
        self.number = number
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _BOOT, _ROOT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, close_fds=True, start_new_session=True)
        self.held: dict[int, tuple[Task, int]] = {}  # task number -> (task, hinted bytes)
        self.alive = True
        self.reader = threading.Thread(target=self._read, args=(done,), name=f"hsar-hashproc-{number}",
                                       daemon=True)
        self.reader.start()

    def _read(self, done: queue.SimpleQueue[_Message]) -> None:
        assert self.process.stdout is not None
        while (fields := read_frame(self.process.stdout)) is not None:
            done.put((self, fields))
        done.put((self, None))

    def can_take(self) -> bool:
        return self.alive and (not self.held or (len(self.held) == 1 and
                                                 next(iter(self.held.values()))[1] < QUEUED_BYTES))

    def send(self, number: int, task: Task, size: int) -> None:
        self.held[number] = (task, size)
        fields = [b"%d" % number]
        for path, algs in task:
            fields += [",".join(algs).encode("ascii"), os.fsencode(path)]
        try:
            assert self.process.stdin is not None
            write_frame(self.process.stdin, fields)
        except OSError:  # it died: its reader reports the end, and the task is hashed locally then
            self.alive = False

    def end(self, kill: bool) -> None:
        """Close its input (it ends after its last answer), or kill it; :meth:`reap` waits for the end."""
        self.alive = False
        with contextlib.suppress(OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        if kill:
            self.process.kill()

    def reap(self) -> None:
        """Wait until it has ended (killed after ``REAP_SECONDS``) and its reader has seen its output end.

        That end comes when the process exits, so the reader is waited for first: a thread's join wakes at
        once, where ``Popen.wait`` with a time-out polls with growing sleeps."""
        self.reader.join(timeout=REAP_SECONDS)
        if self.reader.is_alive():
            self.process.kill()
            self.reader.join()
        self.process.wait()
        if self.process.stdout is not None:  # its reader has ended: nothing reads it any more
            self.process.stdout.close()

    def close(self, kill: bool) -> None:
        self.end(kill)
        self.reap()


class ProcessPool:
    """``workers`` hash worker processes; :meth:`run` yields ``(path, outcome)`` as files finish."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.done: queue.SimpleQueue[_Message] = queue.SimpleQueue()
        self.pool: list[_Worker] = []
        self.spares = workers  # replacements left for workers that die
        self.deaths: list[int | None] = []  # exit status of each worker that died during the run
        self.numbers = itertools.count()

    def pids(self) -> list[int]:
        """Process ids of the live workers (for tests and diagnostics)."""
        return [w.process.pid for w in self.pool if w.alive]

    def start(self) -> ProcessPool:
        try:
            if not sys.executable:
                raise OSError("no Python executable to start hash workers with")
            for number in range(self.workers):  # one by one: those already started are ended if one fails
                self.pool.append(_Worker(number, self.done))
        except OSError as exc:
            self._close(kill=True)
            raise WorkersUnavailable(f"hash worker processes unavailable: {exc}") from exc
        return self

    def _free(self) -> _Worker | None:
        free = [w for w in self.pool if w.can_take()]
        return min(free, key=lambda w: len(w.held)) if free else None

    def _holding(self) -> bool:
        return any(w.held for w in self.pool)

    def _take(self, block: bool) -> Iterator[tuple[Path, Outcome]]:
        """Outcomes of the next message (a worker's answer, or a worker's end)."""
        try:
            worker, fields = self.done.get(block)
        except queue.Empty:
            return
        if worker not in self.pool:  # from a worker already buried (its tasks were hashed here)
            return
        if fields is None:
            yield from self._bury(worker)
            return
        try:
            number = int(fields[0])
            task, _size = worker.held[number]
            if len(fields) != 1 + 3 * len(task):
                raise ValueError(f"{len(fields)} fields for {len(task)} files")
            outcomes = [_outcome(path, *fields[1 + 3 * i: 4 + 3 * i]) for i, (path, _algs) in enumerate(task)]
        except (ValueError, KeyError):  # an answer that does not fit what it was asked: not trusted
            yield from self._bury(worker, kill=True)
            return
        del worker.held[number]
        yield from outcomes

    def _bury(self, worker: _Worker, kill: bool = False) -> Iterator[tuple[Path, Outcome]]:
        """A worker ended (or gave an answer that does not fit: ``kill``): hash what it held here, and start
        a replacement while spares last."""
        worker.close(kill=kill)
        self.deaths.append(worker.process.returncode)
        held, worker.held = list(worker.held.values()), {}
        self.pool.remove(worker)
        if self.spares > 0:
            self.spares -= 1
            with contextlib.suppress(OSError):
                self.pool.append(_Worker(worker.number, self.done))
        for task, _size in held:
            yield from local_outcomes(task)

    def run(self, tasks: Iterator[tuple[Task, int]]) -> Iterator[tuple[Path, Outcome]]:
        """Hash ``(task, hinted bytes)`` pairs; the pool must be started and is closed when this ends."""
        try:
            for task, size in tasks:
                while (worker := self._free()) is None and self._holding():
                    yield from self._take(True)
                if worker is None:  # no worker left at all
                    yield from local_outcomes(task)
                    continue
                worker.send(next(self.numbers), task, size)
                while not self.done.empty():
                    yield from self._take(False)
            while self._holding():
                yield from self._take(True)
        finally:
            self._close(kill=self._holding())

    def _close(self, kill: bool) -> None:
        for worker in self.pool:  # all of them end at once
            worker.end(kill)
        for worker in self.pool:
            worker.reap()
        self.pool = []

