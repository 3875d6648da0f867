"""How many queued jobs wait ahead of a job (repository/jobs/records.py ``queued_ahead``), on SQLite and on
PostgreSQL: jobs of any user and kind created earlier and not started; none when the job itself is not queued."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from repository.jobs.records import JobRecords
from repository.state.db import State
from repository.state.tables import jobs as jobs_table


def test_queued_jobs_created_earlier_are_counted_and_nothing_else(state: State) -> None:
    records = JobRecords(state)
    start = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    made = {}
    for minute, (name, user) in enumerate((("running", "a"), ("done", "a"), ("failed", "b"), ("first", "b"),
                                           ("second", "a"), ("mine", "reader"), ("later", "a"))):
        job, _new = records.create("reindex", {"batch": 1}, username=user)
        made[name] = job.id
        with state.transaction(write=True) as conn:  # (minutes apart, whatever the clock's resolution)
            conn.execute(update(jobs_table).where(jobs_table.c.id == job.id)
                         .values(created_at=start + timedelta(minutes=minute)))
    for name in ("running", "done", "failed"):
        assert records.claim(made[name])
    assert records.finish(made["done"], {}) and records.fail(made["failed"], "X", "failed")
    assert records.queued_ahead([made["mine"]]) == 2  # first and second: queued before it, not started
    assert records.queued_ahead([made["first"]]) == 0
    assert records.queued_ahead([made["later"], made["second"]]) == 1  # ahead of the first of them still queued
    assert records.queued_ahead([made["running"]]) is None  # not queued: nothing is "ahead"
    assert records.queued_ahead([made["done"], "no-such-job"]) is None and records.queued_ahead([]) is None
    assert records.claim(made["first"])
    assert records.queued_ahead([made["mine"]]) == 1
    assert records.requeue(made["failed"])  # queued again: it keeps the time it was created
    assert records.queued_ahead([made["mine"]]) == 2
