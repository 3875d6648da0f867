"""``hsar worker`` as a real process on both queues: jobs run to the end, run once, and survive a SIGKILL."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from repository.home import Repository
from repository.jobs import JobQueue
from repository.preservation.ocfl_validate import validate_with_ocfl_py

Worker = Any  # conftest's Worker (conftest modules are not importable by name: the ``jh`` fixture has them)


def _objects(home: Path) -> int:
    with Repository.open(home) as repo:
        return sum(1 for _ in repo.store.iter_object_roots())


def _assert_store_valid(home: Path) -> None:
    with Repository.open(home) as repo:
        assert validate_with_ocfl_py(repo.store.root) == []


def test_ingest_job_runs_once_and_the_archive_is_catalogued(home: Path, queue: JobQueue, sips: list[Path],
                                                           start_worker: Callable[..., Worker], jh: ModuleType) -> None:
    job = queue.submit("ingest", {"paths": [str(sips[0])]}, user="alice", dedupe_key="ingest:sha256:one")
    assert queue.submit("ingest", {"paths": [str(sips[0])]}, dedupe_key="ingest:sha256:one").id == job.id  # 2nd click
    worker = start_worker("--workers", "2")
    done = jh.wait_for(queue, job.id, lambda j: j.finished, worker=worker)
    assert (done.state, done.error_code, done.attempts) == ("done", None, 1), done.to_dict()
    [row] = done.result["sips"]
    assert row["status"] == "ingested" and row["version"] == "v1"
    assert (done.progress_done, done.progress_total) == (1, 1)
    with Repository.open(home) as repo:
        view = repo.catalog.show(row["archive_id"])
        assert view is not None and [v["number"] for v in view.to_dict()["versions"]] == ["v1"]
    # a reload after it finished: the same job, nothing run again
    assert queue.submit("ingest", {"paths": [str(sips[0])]}, dedupe_key="ingest:sha256:one") == done
    assert worker.stop() == 0
    assert queue.get(job.id) == done and len(queue.list()) == 1
    assert "worker stopped" in worker.output()


def test_audit_and_reindex_jobs_record_their_results(home: Path, queue: JobQueue, sips: list[Path],
                                                    start_worker: Callable[..., Worker], jh: ModuleType) -> None:
    ingest = queue.submit("ingest", {"paths": [str(sips[1])]})
    audit = queue.submit("audit", {"mode": "all"})
    reindex = queue.submit("reindex", {"batch": 10})
    missing = queue.submit("audit", {"mode": "archive", "archives": ["hh-no-such-archive"]})
    worker = start_worker()
    for job in (ingest, audit, reindex, missing):
        jh.wait_for(queue, job.id, lambda j: j.finished, worker=worker)
    audit, reindex, missing = (queue.get(j.id) for j in (audit, reindex, missing))
    assert audit.state == "done" and audit.result["ok"] is True and audit.result["verdict"] == "intact"
    assert audit.result["archives_checked"] == 1 and all(Path(p).is_file() for p in audit.result["reports"])
    assert reindex.state == "done" and reindex.result == {"reindexed": 1}
    assert missing.state == "failed" and missing.error_code not in (None, "INTERNAL"), missing.to_dict()
    assert worker.stop() == 0
    hsar = str(jh.hsar_command())
    shown = subprocess.run([hsar, "--home", str(home), "--lang", "en", "job", "show", missing.id], text=True,
                           capture_output=True, check=False)
    assert shown.returncode == 0 and missing.error_code in shown.stdout
    listed = subprocess.run([hsar, "--home", str(home), "job", "list", "--json", "--state", "done"], text=True,
                            capture_output=True, check=True)
    assert listed.stdout.count('"state": "done"') == 3
    unknown = subprocess.run([hsar, "--home", str(home), "job", "show", "nope"], text=True, capture_output=True,
                             check=False)
    assert unknown.returncode == 1 and "[NOT-FOUND]" in unknown.stderr and "Traceback" not in unknown.stderr


def _kill_mid_ingest(jh: ModuleType, queue: JobQueue, sips: list[Path], start_worker: Callable[..., Worker],
                     env: dict[str, str] | None = None) -> str:
    """Submit an ingest of every SIP, SIGKILL the worker once the first is in, return the job id."""
    job = queue.submit("ingest", {"paths": [str(s) for s in sips]}, dedupe_key="ingest:batch")
    worker = start_worker(env=env)
    jh.wait_for(queue, job.id, lambda j: j.state == "running" and j.progress_done >= 1, worker=worker)
    worker.kill()
    killed = queue.get(job.id)
    assert killed.state == "running" and killed.progress_done < len(sips), killed.to_dict()
    return job.id


def test_a_worker_killed_mid_job_leaves_the_store_valid_and_the_job_is_retried(
        home: Path, queue: JobQueue, sips: list[Path], start_worker: Callable[..., Worker], jh: ModuleType) -> None:
    job_id = _kill_mid_ingest(jh, queue, sips, start_worker)
    _assert_store_valid(home)
    worker = start_worker()  # its first sweep finds the dead worker's job and queues it again
    done = jh.wait_for(queue, job_id, lambda j: j.finished, worker=worker)
    assert (done.state, done.attempts) == ("done", 2), done.to_dict()
    assert {r["status"] for r in done.result["sips"]} <= {"ingested", "duplicate"}
    assert "lost its worker" in worker.output()
    assert worker.stop() == 0
    _assert_store_valid(home)
    assert _objects(home) == len(sips)


def test_a_job_lost_too_often_fails_and_a_later_submission_completes(
        home: Path, sips: list[Path], start_worker: Callable[..., Worker], jh: ModuleType,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """(The embedded queue only: the retry path above runs on both.)"""
    monkeypatch.delenv("HSAR_JOBS_URL", raising=False)
    with JobQueue.open(home) as queue:
        job_id = _kill_mid_ingest(jh, queue, sips, start_worker, env={"HSAR_JOBS_ATTEMPTS": "1"})
        worker = start_worker(env={"HSAR_JOBS_ATTEMPTS": "1"})
        failed = jh.wait_for(queue, job_id, lambda j: j.finished, worker=worker)
        assert (failed.state, failed.error_code) == ("failed", "JOB-LOST")
        _assert_store_valid(home)
        again = queue.submit("ingest", {"paths": [str(s) for s in sips]}, dedupe_key="ingest:batch")
        assert again.id == job_id and again.state == "queued"
        done = jh.wait_for(queue, job_id, lambda j: j.finished, worker=worker)
        assert done.state == "done", done.to_dict()
        assert worker.stop() == 0
    _assert_store_valid(home)
    assert _objects(home) == len(sips)


def test_worker_refuses_a_home_that_is_not_one(tmp_path: Path, jh: ModuleType) -> None:
    done = subprocess.run([str(jh.hsar_command()), "--home", str(tmp_path / "none"), "worker"], text=True,
                          capture_output=True, check=False, timeout=60)
    assert done.returncode == 2 and "[CONFIG]" in done.stderr and not (tmp_path / "none" / "jobs").exists()


def test_the_worker_names_its_queue_without_the_password(home: Path, start_worker: Callable[..., Worker],
                                                           free_port: Callable[[], int]) -> None:
    """The start line goes to a log (journald): a Redis password in ``jobs.url`` is not written there."""
    port = free_port()
    worker = start_worker(env={"HSAR_JOBS_URL": f"redis://:s3cret@127.0.0.1:{port}/0"})
    deadline = time.monotonic() + 60
    while "worker started" not in worker.output() and time.monotonic() < deadline and worker.proc.poll() is None:
        time.sleep(0.1)
    assert worker.stop() == 0
    assert f"queue redis://:***@127.0.0.1:{port}/0" in worker.output() and "s3cret" not in worker.output()


def test_a_worker_says_once_when_its_queue_cannot_be_read_and_when_it_can_again(
        home: Path, start_worker: Callable[..., Worker], free_port: Callable[[], int],
        start_redis: Callable[[int], Any], jh: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker started while its Redis is down runs no job and says why, once, even when its first sweep
    finds a running job whose worker died (which it cannot queue again yet: the job is left as it is); when
    the Redis comes up it says so and runs the jobs queued there."""
    import socket
    import sys

    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    monkeypatch.setenv("HSAR_JOBS_URL", url)
    first = start_redis(port)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with JobQueue.open(home) as queue:  # a job left running by a worker that died
        left = queue.submit("audit", {"mode": "all"})
        queue.huey.flush()
        assert queue.records.claim(left.id)
        queue.records.lease(left.id, socket.gethostname(), dead.pid)
    first.terminate()
    first.wait(timeout=10)
    worker = start_worker(env={"HSAR_JOBS_URL": url})

    def said(text: str) -> bool:
        deadline = time.monotonic() + 60
        while text not in worker.output() and time.monotonic() < deadline and worker.proc.poll() is None:
            time.sleep(0.1)
        return text in worker.output()

    assert said(f"[JOB-QUEUE] the job queue {url} cannot be read (ConnectionError"), worker.output()
    time.sleep(3)  # tried again every second: said once all the same
    assert worker.proc.poll() is None  # the sweep that could not queue the job again did not end the worker
    with JobQueue.open(home) as queue:
        assert queue.get(left.id).state == "running"  # left for a sweep that can queue it again
    start_redis(port)  # a new, empty one
    assert said(f"the job queue {url} can be read again: jobs run"), worker.output()
    with JobQueue.open(home) as queue:
        job = queue.submit("reindex", {"batch": 10})
        done = jh.wait_for(queue, job.id, lambda j: j.finished, worker=worker)
    assert done.state == "done", done.to_dict()
    assert worker.stop() == 0
    assert worker.output().count("cannot be read") == 1 and worker.output().count("can be read again") == 1
