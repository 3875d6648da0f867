"""Worker processes with a hard time limit per task, for format identification (formats.timeout_seconds).

A regular expression running inside the C regex engine cannot be interrupted by a signal or a thread,
so the only per-file time limit that really holds is a worker process that is killed when its file takes
too long, and replaced. Workers are forked from the process that already loaded the signatures, so a
replacement costs a few milliseconds; where ``fork`` is unavailable they are spawned and the task
function is pickled (the identifier pickles as its settings and reloads its signatures).

Workers ignore SIGINT: an interrupted parent kills them itself; a parent killed outright leaves workers
that notice within a second of finishing their file and stop. Nothing here prints.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

_DEPTH = 2  # items in flight per worker: the next one waits in the pipe, hiding the round trip
_ORPHAN_CHECK = 1.0  # seconds an idle worker waits before it looks whether its parent still lives
_CONTEXT = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context("spawn")


def workers_allowed() -> bool:
    """False inside a daemonic process (a multiprocessing pool worker), which may not start children."""
    return not _CONTEXT.current_process().daemon


def _serve(func: Callable[[Any], Any], conn: Connection) -> None:
    """Worker loop: receive an item, send back ``('ok', result)`` or ``('error', text)``; ``None`` stops.

    A worker whose parent is gone (killed with SIGKILL: nobody sends ``None``) stops within
    ``_ORPHAN_CHECK`` seconds of being idle. The end of the pipe cannot tell it: forked workers inherit the
    parent's ends of every pipe, theirs and their siblings', so the pipe never reads as closed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    while True:
        try:
            while not conn.poll(_ORPHAN_CHECK):
                if os.getppid() != parent:
                    return
            item = conn.recv()
        except (EOFError, OSError):
            return
        if item is None:
            return
        try:
            reply = ("ok", func(item))
        except Exception as exc:  # reported to the parent as a value, never raised there
            reply = ("error", f"{type(exc).__name__}: {exc}")
        conn.send(reply)


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection

    @classmethod
    def start(cls, func: Callable[[Any], Any]) -> _Worker:
        parent, child = _CONTEXT.Pipe()
        process = _CONTEXT.Process(target=_serve, args=(func, child), daemon=True, name="hsar-identify")
        process.start()
        child.close()
        return cls(process, parent)

    def stop(self, kill: bool) -> None:
        if not kill:
            try:
                self.conn.send(None)
            except OSError:
                kill = True
        if kill and self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


@dataclass
class _Slot:
    """A worker and the indices of the items sent to it; the first one is running since ``started``."""

    worker: _Worker
    queue: deque[int] = field(default_factory=deque)
    started: float = 0.0


class TimeLimitedPool:
    """Run ``func`` over items in up to N worker processes, at most ``timeout`` seconds per item.

    ``on_timeout(item)`` gives the result for an item whose worker was killed for taking too long;
    ``on_error(item, detail)`` the result for an item whose worker raised or died. Each worker has up to
    two items in flight; an item's time starts when the worker finishes the one before it, and items
    queued behind a killed one are sent again to a fresh worker.
    """

    def __init__(self, func: Callable[[Any], Any], on_timeout: Callable[[Any], Any],
                 on_error: Callable[[Any, str], Any], timeout: float | None) -> None:
        self._func = func
        self._on_timeout = on_timeout
        self._on_error = on_error
        self._timeout = timeout if timeout and timeout > 0 else None
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()

    def __enter__(self) -> TimeLimitedPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def size(self) -> int:
        return len(self._workers)

    def close(self) -> None:
        """Stop every worker (politely, then by force)."""
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop(kill=False)

    def map(self, items: Sequence[Any], workers: int = 2) -> list[Any]:
        """Results in the order of ``items``; a slow item never delays the others beyond its limit."""
        if not items:
            return []
        with self._lock:
            try:
                return self._run(items, max(1, min(workers, len(items))))
            except BaseException:
                for worker in self._workers:
                    worker.stop(kill=True)
                self._workers = []
                raise

    def _replace(self, slot: _Slot, pending: deque[int]) -> None:
        """Kill the slot's worker, start a fresh one; items queued behind the running one go back first."""
        slot.worker.stop(kill=True)
        fresh = _Worker.start(self._func)
        self._workers[self._workers.index(slot.worker)] = fresh
        slot.worker = fresh
        pending.extendleft(reversed(slot.queue))
        slot.queue.clear()

    def _run(self, items: Sequence[Any], n: int) -> list[Any]:
        while len(self._workers) < n:
            self._workers.append(_Worker.start(self._func))
        results: list[Any] = [None] * len(items)
        pending = deque(range(len(items)))
        slots = [_Slot(worker) for worker in self._workers[:n]]
        while pending or any(slot.queue for slot in slots):
            for slot in slots:
                self._fill(slot, items, pending)
            self._collect(slots, items, results, pending)
        return results

    def _fill(self, slot: _Slot, items: Sequence[Any], pending: deque[int]) -> None:
        while len(slot.queue) < _DEPTH and pending:
            index = pending.popleft()
            try:
                slot.worker.conn.send(items[index])
            except OSError:  # the worker died while idle: replace it and try again
                pending.appendleft(index)
                self._replace(slot, pending)
                continue
            if not slot.queue:
                slot.started = time.monotonic()
            slot.queue.append(index)

    def _collect(self, slots: list[_Slot], items: Sequence[Any], results: list[Any], pending: deque[int]) -> None:
        """Wait for the next reply or the nearest deadline, and record what happened."""
        active = [slot for slot in slots if slot.queue]
        wait_for = None
        if self._timeout is not None:
            wait_for = max(0.0, min(slot.started for slot in active) + self._timeout - time.monotonic())
        ready = wait([slot.worker.conn for slot in active], timeout=wait_for)
        for slot in active:
            if slot.worker.conn not in ready:
                continue
            index = slot.queue.popleft()
            try:
                status, value = slot.worker.conn.recv()
            except (EOFError, OSError):
                detail = f"worker died (exit code {slot.worker.process.exitcode})"
                results[index] = self._on_error(items[index], detail)
                self._replace(slot, pending)
                continue
            results[index] = value if status == "ok" else self._on_error(items[index], value)
            slot.started = time.monotonic()
        now = time.monotonic()
        for slot in active:
            if self._timeout is not None and slot.queue and slot.started + self._timeout <= now:
                index = slot.queue.popleft()
                results[index] = self._on_timeout(items[index])
                self._replace(slot, pending)
