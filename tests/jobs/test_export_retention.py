"""The outputs of export jobs (``exports/<job id>/``) are kept ``transfer.keep_exports_days`` days after the job
ended, then removed by the worker; never a queued or running job's, never a folder no export job names."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from repository.config import load
from repository.jobs import JobQueue
from repository.jobs.exports import prune_exports
from repository.jobs.records import JobRecords
from repository.state.tables import jobs as jobs_table

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
PARAMS = {"archives": ["A1"], "user": "u", "role": "archivist", "division": "320105"}


def _job(records: JobRecords, exports: Path, kind: str, state: str, ended_days_ago: float | None,
         now: datetime = NOW) -> str:
    job, _ = records.create(kind, PARAMS if kind == "export" else {"mode": "due"})
    ended = now - timedelta(days=ended_days_ago) if ended_days_ago is not None else None
    with records.state.transaction(write=True) as conn:
        conn.execute(update(jobs_table).where(jobs_table.c.id == job.id).values(state=state, finished_at=ended))
    (exports / job.id).mkdir(parents=True)
    (exports / job.id / "transfer-list.csv").write_text("x", "utf-8")
    return job.id


def test_only_ended_export_jobs_older_than_the_setting_lose_their_output(home: Path) -> None:
    cfg = load(home)
    exports = home / "exports"
    with JobQueue.open(home) as queue:
        records = queue.records
        old_done = _job(records, exports, "export", "done", 15)
        old_failed = _job(records, exports, "export", "failed", 30)
        recent = _job(records, exports, "export", "done", 13)
        running = _job(records, exports, "export", "running", None)
        queued_again = _job(records, exports, "export", "queued", 40)  # a failed job submitted again
        not_export = _job(records, exports, "audit", "done", 90)
        (exports / "kept-by-hand").mkdir()
        (exports / ".expired-leftover").mkdir()  # a removal cut short: finished now

        assert cfg["transfer.keep_exports_days"] == 14  # the default
        removed = prune_exports(cfg, records, now=NOW)
        assert sorted(removed) == sorted([old_done, old_failed])
        left = {p.name for p in exports.iterdir()}
        assert left == {recent, running, queued_again, not_export, "kept-by-hand"}
        assert prune_exports(cfg, records, now=NOW) == []  # nothing more to do

        later = NOW + timedelta(days=2)
        assert prune_exports(cfg, records, now=later) == [recent]


def test_zero_keeps_outputs_for_ever(home: Path) -> None:
    cfg = load(home, environ={"HSAR_TRANSFER_KEEP_EXPORTS_DAYS": "0"})
    with JobQueue.open(home) as queue:
        ancient = _job(queue.records, home / "exports", "export", "done", 10_000)
        assert prune_exports(cfg, queue.records, now=NOW) == []
    assert (home / "exports" / ancient).is_dir()


def test_an_export_job_removes_older_outputs_before_it_runs(home: Path) -> None:
    """The worker's export runner prunes first: an old job's output goes, the new job's is written."""
    from repository.jobs.tasks import execute

    with JobQueue.open(home) as queue:
        old = _job(queue.records, home / "exports", "export", "done", 100, datetime.now(UTC))
        job = queue.submit("export", {**PARAMS, "archives": ["NOT-THERE"]}, user="u")
        execute(queue, job.id, threading.Event())  # fails (no such archive), but pruned first
        assert queue.get(job.id).state == "failed"
    assert not (home / "exports" / old).exists()
