"""The queue and its records without a worker: submit, dedupe, restart, parameter checks, sweeps."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from repository.jobs import JobParamsError, JobQueue, JobQueueError
from repository.jobs.uploads import ingest_key, owner_tag, receive_upload


def test_submit_records_and_queues_once_per_dedupe_key(queue: JobQueue, sips: list[Path]) -> None:
    first = queue.submit("ingest", {"paths": [str(sips[0])]}, user="alice", dedupe_key="ingest:sha256:aa")
    again = queue.submit("ingest", {"paths": [str(sips[0])]}, user="bob", dedupe_key="ingest:sha256:aa")
    other = queue.submit("ingest", {"paths": [str(sips[1])]}, user="alice", dedupe_key="ingest:sha256:bb")
    assert again == first
    assert first.state == "queued" and first.username == "alice" and first.attempts == 0
    assert first.params == {"paths": [str(sips[0].resolve())]}
    assert other.id != first.id
    assert sorted(t.id for t in queue.huey.pending()) == sorted([first.id, other.id])
    assert [j.id for j in queue.list(state="queued")] == [other.id, first.id]  # newest first
    assert queue.list(state="done") == []


def test_a_job_survives_closing_and_reopening_the_queue(home: Path, backend: str, sips: list[Path]) -> None:
    with JobQueue.open(home) as q:
        job = q.submit("ingest", {"paths": [str(sips[0])]}, dedupe_key="k")
    # another process (a restarted server) sees the same record and the same queue message
    code = ("import sys; from repository.jobs import JobQueue\n"
            "with JobQueue.open(sys.argv[1]) as q:\n"
            "    print(q.get(sys.argv[2]).state, [t.id for t in q.huey.pending()] == [sys.argv[2]])")
    out = subprocess.run([sys.executable, "-c", code, str(home), job.id], capture_output=True, text=True,
                         check=True, env=os.environ.copy())
    assert out.stdout.split() == ["queued", "True"]
    with JobQueue.open(home) as q:
        assert q.get(job.id) == job
        assert q.submit("ingest", {"paths": [str(sips[0])]}, dedupe_key="k") == job
        assert q.huey.pending_count() == 1


def test_bad_parameters_are_refused_before_anything_is_recorded(queue: JobQueue, tmp_path: Path) -> None:
    cases = [("export", {}), ("ingest", {}), ("ingest", {"paths": [str(tmp_path / "nothing.zip")]}),
             ("audit", {"mode": "archive"}), ("audit", {"mode": "sometimes"}), ("reindex", {"batch": 0}),
             ("ingest", ["not", "a", "mapping"])]
    for kind, params in cases:
        with pytest.raises(JobParamsError) as caught:
            queue.submit(kind, params)  # type: ignore[arg-type]
        assert caught.value.code == "JOB-PARAMS"
        assert caught.value.render("zh") != caught.value.render("en")
    assert queue.list() == [] and queue.huey.pending_count() == 0
    with pytest.raises(JobParamsError):
        queue.list(state="sleeping")


def test_a_failed_job_submitted_again_is_queued_again_under_its_id(queue: JobQueue, sips: list[Path]) -> None:
    job = queue.submit("ingest", {"paths": [str(sips[0])]}, dedupe_key="k")
    queue.huey.flush()
    assert queue.records.claim(job.id) and not queue.records.claim(job.id)  # only one claim wins
    assert queue.records.fail(job.id, "INTERNAL", "boom")
    again = queue.submit("ingest", {"paths": [str(sips[0])]}, dedupe_key="k")
    assert (again.id, again.state, again.error_code, again.attempts) == (job.id, "queued", None, 1)
    assert [t.id for t in queue.huey.pending()] == [job.id]


def test_sweep_requeues_a_job_of_a_dead_worker_then_fails_it(home: Path, backend: str, sips: list[Path],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HSAR_JOBS_ATTEMPTS", "2")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with JobQueue.open(home) as q:
        job = q.submit("ingest", {"paths": [str(sips[0])]})
        alive = q.submit("audit", {"mode": "all"})
        q.huey.flush()
        for attempt in (1, 2):
            assert q.records.claim(job.id) and q.records.claim(alive.id) is (attempt == 1)
            import socket

            q.records.lease(job.id, socket.gethostname(), dead.pid)  # a beating lease, of a process now gone
            q.beat(alive.id)  # this process: alive
            swept = q.sweep()
            assert [j.id for j in swept] == [job.id]
            after = q.get(job.id)
            if attempt == 1:
                assert (after.state, after.attempts) == ("queued", 1)
                assert [t.id for t in q.huey.pending()] == [job.id]
                q.huey.flush()
            else:
                assert (after.state, after.error_code, after.attempts) == ("failed", "JOB-LOST", 2)
                assert after.result["error"]["msgid"] == "jobs.lost"
        assert q.get(alive.id).state == "running"


def test_a_queue_that_cannot_be_reached_fails_the_job(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                      sips: list[Path]) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HSAR_JOBS_URL", f"redis://127.0.0.1:{port}/0")
    with JobQueue.open(home) as q:
        with pytest.raises(JobQueueError) as caught:
            q.submit("ingest", {"paths": [str(sips[0])]})
        assert caught.value.code == "JOB-QUEUE"
        [job] = q.list()
        assert (job.state, job.error_code) == ("failed", "JOB-QUEUE")
    monkeypatch.setenv("HSAR_JOBS_URL", "http://queue:s3cret@example.org/")
    with pytest.raises(JobQueueError) as refused:
        JobQueue.open(home)
    assert "http://queue:***@example.org/" in refused.value.render("en") and "s3cret" not in refused.value.render("zh")


def test_the_same_upload_twice_has_one_place_and_one_key(home: Path) -> None:
    from repository import config

    cfg = config.load(home)
    one = receive_upload(cfg, io.BytesIO(b"PK\x03\x04 bytes of a package"), "../../申请.zip", "wang")
    two = receive_upload(cfg, io.BytesIO(b"PK\x03\x04 bytes of a package"), "other-name.zip", "wang")
    assert one == two
    assert one.path.name == "申请.zip" and one.path.parent.parent == home.resolve() / "jobs" / "uploads"
    assert one.path.read_bytes() == b"PK\x03\x04 bytes of a package"
    assert one.dedupe_key == ingest_key(one.sha256, owner_tag("wang")) and len(one.sha256) == 64
    other = receive_upload(cfg, io.BytesIO(b"PK\x03\x04 bytes of a package"), "申请.zip", "li")  # another user
    assert other.sha256 == one.sha256 and other.path != one.path and other.dedupe_key != one.dedupe_key
    assert [p.name for p in one.path.parent.parent.iterdir() if p.name.startswith(".")] == []


def test_a_redis_that_restarts_empty_loses_no_lease(home: Path, redis_url: str, sips: list[Path],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A lease is kept in the job's record, not in the queue's storage: a Redis without persistence that
    restarts (here: flushed) while a job runs does not make a sweep take the job for lost and queue it again."""
    import redis
    from sqlalchemy import update

    from repository.state import tables as t

    monkeypatch.setenv("HSAR_JOBS_URL", redis_url)
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    with JobQueue.open(home) as q:
        job = q.submit("ingest", {"paths": [str(sips[0])]})
        q.huey.flush()
        assert q.records.claim(job.id)
        q.beat(job.id)  # this process runs it, and beats
        with q.records.state.transaction(write=True) as conn:  # it started long before the lease timeout
            conn.execute(update(t.jobs).where(t.jobs.c.id == job.id).values(
                started_at=datetime.now(UTC) - timedelta(minutes=10)))
        client.flushdb()  # the restart: every key gone
        assert q.sweep() == [] and q.get(job.id).state == "running"
        q.release(job.id)
        assert q.get(job.id).lease_beat is None
    client.close()



def test_a_queued_job_says_how_many_wait_ahead_of_it_on_either_queue(queue: JobQueue) -> None:
    """Counted from the job records, so the SQLite queue and Redis give the same answer; a job that has started
    has none ahead (None)."""
    first, second, third = (queue.submit("reindex", {"batch": n}, user=u) for n, u in ((1, "a"), (2, "b"), (3, "a")))
    assert [queue.queued_ahead(j) for j in (first, second, third)] == [0, 1, 2]
    assert queue.records.claim(first.id)
    started = queue.get(first.id)
    assert started is not None and queue.queued_ahead(started) is None
    assert queue.queued_ahead(third) == 1
