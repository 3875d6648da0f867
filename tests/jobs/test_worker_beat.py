"""A running ``hsar worker`` says it is alive in the queue's own storage (SQLite's key-value table, a Redis hash):
a job queued for a while with no heartbeat that recent waits for a worker that does not run
(:meth:`JobQueue.no_worker`, the notice of the job pages)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from repository.jobs import JobQueue
from repository.jobs.queue import WORKER_SILENT


def test_a_queued_job_without_a_worker_heartbeat_waits_for_no_worker(queue: JobQueue) -> None:
    job = queue.submit("reindex", {})
    later = job.created_at.timestamp() + WORKER_SILENT + 1
    assert not queue.no_worker(job, now=job.created_at.timestamp() + 1)  # just queued: not yet
    assert queue.worker_seen() is None and queue.no_worker(job, now=later)
    queue.worker_beat(at=later - 5)
    assert queue.worker_seen() == later - 5 and not queue.no_worker(job, now=later)
    assert queue.no_worker(job, now=later + WORKER_SILENT)  # the worker stopped beating since


def test_a_running_worker_beats_in_the_queue(home: Path, queue: JobQueue, start_worker: Callable[..., Any]) -> None:
    before = time.time()
    assert queue.worker_seen() is None
    worker = start_worker()
    deadline = time.monotonic() + 60
    while queue.worker_seen() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    seen = queue.worker_seen()
    assert seen is not None and seen >= before - 1, worker.output()
    assert worker.stop() == 0
