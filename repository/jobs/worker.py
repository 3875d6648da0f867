"""The worker (作业执行进程): Huey's consumer run in this process, behind ``hsar worker``.

Jobs run in threads of this process (``workers`` of them): the workflows start processes of their own
(format identification, hashing, audit shards, the dual-track reconciliation: :mod:`.forked`), which daemonic
process workers may not. On start, and every
:data:`SWEEP_INTERVAL` seconds, the worker sweeps the records for jobs whose worker died
(:meth:`JobQueue.sweep`) and removes the outputs of export jobs kept longer than ``transfer.keep_exports_days``
(:func:`repository.jobs.exports.prune_exports`); on start, and every :data:`CACHE_INTERVAL` seconds, it keeps the
researchers' copies within ``cache.research_max_mb`` (:func:`repository.dip.research.prune_copies`). Every
:data:`~.queue.WORKER_BEAT` seconds it says it is alive (:meth:`JobQueue.worker_beat`), so the job pages can tell
when no worker runs.

Shutdown: SIGTERM or SIGINT (Ctrl-C) stops taking jobs, asks running audits to stop after the archive being
checked, and waits for running jobs to finish; a second signal stops at once. A job cut short that way, or
by SIGKILL, is left ``running`` with a lease that no longer beats: the next sweep (this host: at once, since
its pid is gone) queues it again or marks it failed, and the store is valid whatever the moment (ingest is
crash-safe and recovers on the next run).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from huey.consumer import Consumer

from ..dip.research import prune_copies
from .exports import prune_exports
from .queue import WORKER_BEAT, JobQueue
from .tasks import execute

SWEEP_INTERVAL = 30.0
CACHE_INTERVAL = 300.0  # how often the researchers' copy cache is held to its bound (a walk of the folder)
_log = logging.getLogger(__name__)


class _Consumer(Consumer):
    """Huey's consumer, with both SIGINT and SIGTERM graceful and a stop event for running jobs."""

    def __init__(self, huey: Any, stop: threading.Event, announce: Callable[[], None] | None = None,  # noqa: ANN401
                 **options: Any) -> None:  # noqa: ANN401
        super().__init__(huey, **options)
        self._jobs_stop = stop
        self._announce = announce
        for signum in (signal.SIGINT, signal.SIGTERM):  # (restart, graceful): a second one interrupts
            self._signal_actions[signum] = (False, True)

    def _set_signal_handlers(self) -> None:
        """Huey's handlers, then the announcement that the worker runs: one said earlier would let a SIGTERM sent
        on hearing it find the default action still in place (the worker killed, not stopped: exit -15)."""
        super()._set_signal_handlers()
        if self._announce is not None:
            self._announce()
            self._announce = None

    def stop(self, graceful: bool = False) -> None:
        self._jobs_stop.set()
        super().stop(graceful=graceful)


def _default_signals_in_child() -> None:
    """A process forked by a job (identification, hashing) gets the default signal handling back instead
    of the consumer's, which it would otherwise inherit: the pool that started it stops it with SIGTERM."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _prune(queue: JobQueue) -> None:
    """Export outputs past their retention (``transfer.keep_exports_days``)."""
    try:
        prune_exports(queue.cfg, queue.records)
    except Exception:  # noqa: BLE001 - the next sweep tries again
        _log.exception("removing expired export outputs failed")


def _prune_copies(queue: JobQueue) -> None:
    """Researchers' copies beyond ``cache.research_max_mb``, least recently served first."""
    try:
        prune_copies(queue.cfg)
    except Exception:  # noqa: BLE001 - the next pass tries again
        _log.exception("holding the researchers' copy cache to its bound failed")


def _sweep(queue: JobQueue) -> None:
    """Jobs whose worker died, then export outputs past their retention."""
    try:
        queue.sweep()
    except Exception:  # noqa: BLE001 - the next sweep tries again
        _log.exception("sweeping lost jobs failed")
    _prune(queue)


def _sweeper(queue: JobQueue, stop: threading.Event) -> threading.Thread:
    def loop() -> None:
        pruned = time.monotonic()  # (the worker's start has just pruned)
        while not stop.wait(SWEEP_INTERVAL):
            _sweep(queue)
            if time.monotonic() - pruned >= CACHE_INTERVAL:
                _prune_copies(queue)
                pruned = time.monotonic()

    thread = threading.Thread(target=loop, name="hsar-sweeper", daemon=True)
    thread.start()
    return thread


def _beater(queue: JobQueue, stop: threading.Event) -> threading.Thread:
    """This worker's heartbeat (:meth:`JobQueue.worker_beat`) now and every :data:`WORKER_BEAT` seconds until
    ``stop``: how a page knows a worker runs (its own thread, so a worker busy with a long job still beats)."""
    def loop() -> None:
        while True:
            try:
                queue.worker_beat()
            except Exception:  # noqa: BLE001 - a queue that cannot be written now: the next beat tries again
                _log.debug("the worker's heartbeat could not be written", exc_info=True)
            if stop.wait(WORKER_BEAT):
                return

    thread = threading.Thread(target=loop, name="hsar-heartbeat", daemon=True)
    thread.start()
    return thread


def watch_queue(huey: Any, told: Callable[[bool, str], None], *, reachable: bool = True) -> None:  # noqa: ANN401
    """Have ``huey``'s consumers tell each change of whether its queue can be read: ``told(False, reason)``
    when taking the next job fails (a Redis that went away, or was never there), ``told(True, "")`` when it
    works again (``reachable``: whether it could be read last, when that was told already). Huey's consumer
    only logs such a failure and tries again (here: every second at most), so a worker whose queue cannot be
    reached would otherwise run jobs never, and say nothing."""
    dequeue = huey.dequeue
    lock = threading.Lock()
    state = {"reachable": reachable}

    def watched() -> Any:  # noqa: ANN401 - a Huey task or None
        try:
            task = dequeue()
        except Exception as exc:
            with lock:
                changed, state["reachable"] = state["reachable"], False
            if changed:
                told(False, f"{type(exc).__name__}: {exc}")
            raise
        with lock:
            changed, state["reachable"] = not state["reachable"], True
        if changed:
            told(True, "")
        return task

    huey.dequeue = watched


def run_worker(home: Path | str | None, *, workers: int = 1,
               started: Callable[[JobQueue, list[Any]], None] | None = None,
               queue_state: Callable[[bool, str], None] | None = None) -> None:
    """Run jobs of the home until SIGTERM/SIGINT; ``started`` is told the queue and the jobs the first
    sweep changed (for the command line to say so) once SIGTERM and SIGINT stop the worker gracefully, ``queue_state`` each change of whether the queue can be
    read (:func:`watch_queue`)."""
    os.register_at_fork(after_in_child=_default_signals_in_child)
    stop = threading.Event()
    holder: list[JobQueue] = []
    queue = JobQueue.open(home, run=lambda job_id: execute(holder[0], job_id, stop))
    holder.append(queue)
    try:
        unreadable: Exception | None = None
        try:
            swept = queue.sweep()
        except Exception as exc:  # noqa: BLE001 - a queue that cannot be read yet: told below, swept again later
            swept, unreadable = [], exc
        _prune(queue)
        _prune_copies(queue)
        if queue_state is not None:
            if unreadable is not None:
                queue_state(False, f"{type(unreadable).__name__}: {unreadable}")
            watch_queue(queue.huey, queue_state, reachable=unreadable is None)
        consumer = _Consumer(queue.huey, stop, None if started is None else lambda: started(queue, swept),
                             workers=workers, worker_type="thread", periodic=False,
                             initial_delay=0.1, backoff=1.15, max_delay=1.0, check_worker_health=True,
                             shutdown_timeout=None)
        sweeper, beater = _sweeper(queue, stop), _beater(queue, stop)
        consumer.run()
        stop.set()
        sweeper.join(timeout=5)
        beater.join(timeout=5)
    finally:
        queue.close()
