"""The audit of a large selection in worker processes, a shard of archives each (``audit.processes``).

Per archive the audit is Python work on one thread: the version locks checked with pyHanko, inventories,
repair planning, the BC report. On a store of many small archives that thread, not hashing, sets the pace
and the second core idles. With ``audit.processes`` > 1 and at least ``SHARD_MIN`` archives selected, the
run forks its workers before any thread of its own is running; each worker audits shards of ``SHARD_SIZE``
archives exactly as the in-process run does (scan, hash, judge, repair), one archive after another on one
thread, but records nothing. The parent appends every result to the hash-chained audit log and the
catalogue, shard by shard in the order of the selection (one log write and one transaction per shard), so
both keep a single writer. A time budget (``audit.budget_seconds``) or a stop request ends the run between
shards. Where ``fork`` is unavailable the run stays in-process.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # multiprocessing and the pool are imported when a run is sharded (not at every start)
    from concurrent.futures import Future

    from ..messages import Text
    from .result import ArchiveResult
    from .work import Run as _Run

SHARD_MIN = 64  # archives selected before workers pay for themselves (a fork and a pickled result each)
SHARD_SIZE = 16  # archives per task
_FORK = hasattr(os, "fork")  # multiprocessing offers the "fork" start method wherever os.fork exists

#: The parent's run while it is sharded; forked workers find it here (it holds copies, settings and the
#: run's time, none of which pickles well).
_RUN: _Run | None = None
#: The audit's per-archive pipeline (``repository.audit.run``), handed in by the run so that imports run one way.
_PIPELINE: Callable[..., list[ArchiveResult]] | None = None


def use_shards(processes: int, selected: int) -> bool:
    return _FORK and processes > 1 and selected >= SHARD_MIN


def _audit_shard(ids: list[str]) -> tuple[list[ArchiveResult], list[Text]]:
    """In a worker: audit ``ids`` like the in-process run, recording nothing; the results and notes."""
    run, pipeline = _RUN, _PIPELINE
    assert run is not None and pipeline is not None
    run.record, run.opener, run.stop, run.budget_seconds = False, None, None, 0.0
    run.hash_processes = False  # the shards are the parallelism: a pair of hash processes per shard costs more,
    run.workers, run.inline = 1, True  # and so do hashing and judging threads beside this one
    notes_before = len(run.notes)
    results = pipeline(run, list(ids), None)
    return results, run.notes[notes_before:]


def audit_in_shards(run: _Run, ids: list[str], progress: Callable[..., None] | None,
                    record: Callable[[_Run, list[ArchiveResult]], list[ArchiveResult]],
                    pipeline: Callable[..., list[ArchiveResult]]) -> list[ArchiveResult]:
    """Audit ``ids`` in ``run.processes`` forked workers; ``record`` each shard's results here (one log write
    and one catalogue transaction per shard), in selection order."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from .lifecycle import start_worker

    global _RUN, _PIPELINE
    shards = [ids[i:i + SHARD_SIZE] for i in range(0, len(ids), SHARD_SIZE)]
    results: list[ArchiveResult] = []
    hashed = submitted = 0
    pending: deque[Future[tuple[list[ArchiveResult], list[Text]]]] = deque()
    _RUN, _PIPELINE = run, pipeline
    pool = ProcessPoolExecutor(max_workers=run.processes, mp_context=mp.get_context("fork"),
                               initializer=start_worker, initargs=(os.getpid(),))  # they end with this process
    try:
        def submit() -> None:
            nonlocal submitted
            if submitted < len(shards) and not (submitted and run.should_stop()):
                pending.append(pool.submit(_audit_shard, shards[submitted]))
                submitted += 1

        for _ in range(2 * run.processes):
            submit()
        while pending:
            shard_results, notes = pending.popleft().result()
            run.notes.extend(n for n in notes if n not in run.notes)
            for result in record(run, shard_results):
                results.append(result)
                hashed += result.bytes_checked
                if progress is not None:
                    progress(len(results), len(ids), hashed, result.object_id)
            submit()
        run.skipped = sum(len(s) for s in shards[submitted:])
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _RUN = _PIPELINE = None
    return results
