"""The job queue (作业队列): Huey, with its SQLite storage in the home by default, Redis when ``jobs.url`` is set.

Long work (ingest of uploaded SIPs, audits started from a page, reindex) never runs inside a request: a
request calls :meth:`JobQueue.submit`, which records the job in the state database (:mod:`.records`) and puts
its id on the queue; ``hsar worker`` (:mod:`.worker`) takes it off and runs it (:mod:`.tasks`).

There is no module-level Huey instance: the home is known only at run time, so :func:`make_huey` builds one
per home and registers the one task (``hsar.run_job``) on it, the same way in the process that submits and in
the worker. Where ``<home>/jobs/`` lies is computed here from the home (it belongs in the Repository's path
table, :mod:`repository.home`, once that is open to change).

A worker records a lease for the job it runs (host, pid, heartbeat) in the job's record in the state
database, not in the queue's storage: a Redis that restarts without persistence loses messages (the sweep
sends them again) but no lease. :meth:`JobQueue.sweep` finds running jobs whose worker died (its pid gone on
this host, or no heartbeat for :data:`LEASE_TIMEOUT` seconds) and queues them again, or marks them failed
(``JOB-LOST``) after ``jobs.attempts`` attempts. Every kind of job here is idempotent (an ingest run again
completes or finds a duplicate; an audit or a reindex run again redoes its work), so queueing again is safe.

A worker also beats for itself, running a job or not, every :data:`WORKER_BEAT` seconds in the queue's own
storage (:meth:`JobQueue.worker_beat`: SQLite's key-value table, or the Redis database), so a page following a job
queued for a while can say that no worker seems to run (:meth:`JobQueue.no_worker`), and a page following a queued
job says how many queued jobs wait ahead of it (:meth:`JobQueue.queued_ahead`: a count of the job records, so the
same on either storage, and nothing of other users' jobs but that count).
"""

from __future__ import annotations

import builtins  # JobQueue.list shadows the name inside the class
import os
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from huey.api import TaskWrapper

from .. import messages
from ..config import Config
from ..errors import HsarError
from ..safeurl import safe_url
from ..state.db import open_state
from .params import JobParamsError, check_params
from .records import KINDS, STATES, Job, JobRecords

TASK_NAME = "hsar.run_job"
LEASE_BEAT = 2.0  # seconds between two heartbeats of a running job
LEASE_TIMEOUT = 60.0  # a running job without a heartbeat for this long has lost its worker
ORPHAN_AGE = 120.0  # a queued job older than this with no queue message gets one again
WORKER_BEAT = 10.0  # seconds between two heartbeats of a running `hsar worker` (whether it runs a job or not)
WORKER_SILENT = 30.0  # a queued job this old, and no worker heartbeat this recent: no worker seems to run
_WORKER_KEY = "hsar.worker-beat"  # where the heartbeat is kept: the queue's own key-value store


class JobError(HsarError):
    code = "JOB"


class JobQueueError(JobError):
    """The queue's storage (the SQLite file, the Redis server) cannot be used."""

    code = "JOB-QUEUE"


def jobs_dir(cfg: Config) -> Path:
    """``<home>/jobs/``: the embedded queue and uploaded SIPs (to move into the Repository's path table)."""
    path = cfg.home.resolve() / "jobs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def make_huey(cfg: Config, run: Any = None) -> tuple[Huey, TaskWrapper]:  # noqa: ANN401 - callable(job_id)
    """The home's Huey (Redis at ``jobs.url``, else SQLite at ``<home>/jobs/queue.sqlite``) and its one task,
    ``hsar.run_job``, whose body is ``run`` (called with a job id); without ``run``, a submitting process
    registers a stub of the same name (only the worker runs jobs)."""
    url = cfg["jobs.url"]
    if url:
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise JobQueueError(msgid="jobs.url-invalid", url=safe_url(url))
        huey: Huey = RedisHuey("hsar", url=url, results=False)
    else:
        huey = SqliteHuey("hsar", filename=str(jobs_dir(cfg) / "queue.sqlite"), results=False, timeout=30)

    def run_job(job_id: str) -> None:
        if run is None:
            raise RuntimeError("jobs run in `hsar worker`, not in the process that submits them")
        run(job_id)

    return huey, huey.task(name=TASK_NAME)(run_job)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobQueue:
    """The home's queue and job records: submit, read, list, and recover jobs whose worker died."""

    def __init__(self, cfg: Config, run: Any = None) -> None:  # noqa: ANN401
        self.cfg = cfg
        self.records = JobRecords(open_state(cfg.state_url))
        try:
            self.huey, self._task = make_huey(cfg, run)
        except BaseException:
            self.records.close()
            raise

    @classmethod
    def open(cls, home: Path | str | None = None, run: Any = None) -> JobQueue:  # noqa: ANN401
        from .. import config

        return cls(config.load(home), run)

    def close(self) -> None:
        self.huey.storage.close()
        self.records.close()

    def __enter__(self) -> JobQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------------------------------- submitting

    def submit(self, kind: str, params: Mapping[str, Any], *, user: str | None = None,
               dedupe_key: str | None = None) -> Job:
        """Record and enqueue a job; the same ``dedupe_key`` again returns the job recorded first (queued
        again, under the same id, when it had failed), so a page reload or a second click never runs twice."""

        if kind not in KINDS:
            raise JobParamsError(msgid="jobs.kind-unknown", kind=kind, kinds=", ".join(KINDS))
        clean = check_params(kind, params)
        job, new = self.records.create(kind, clean, username=user, dedupe_key=dedupe_key)
        if not new and not (job.state == "failed" and self.records.requeue(job.id)):
            return job
        self.enqueue(job.id)
        fresh = self.records.get(job.id)
        assert fresh is not None
        return fresh

    def enqueue(self, job_id: str, delay: float | None = None) -> None:
        """Put a recorded job's id on the queue; a queue that cannot be reached fails the job (JOB-QUEUE)."""
        try:
            timing = {"delay": delay} if delay else {}
            self.huey.enqueue(self._task.s(job_id, id=job_id, **timing))
        except Exception as exc:  # noqa: BLE001 - sqlite3 / redis errors: the queue is unusable
            text = f"{type(exc).__name__}: {exc}"
            self.records.fail(job_id, JobQueueError.code, text, from_states=("queued",))
            raise JobQueueError(msgid="jobs.queue-unavailable", detail=text) from exc

    # ------------------------------------------------------------------------------------------- reading

    def get(self, job_id: str) -> Job | None:
        return self.records.get(job_id)

    def list(self, *, state: str | None = None, kind: str | None = None, user: str | None = None,
             limit: int = 50, offset: int = 0) -> list[Job]:
        if state is not None and state not in STATES:
            raise JobParamsError(msgid="jobs.state-unknown", state=state, states=", ".join(STATES))
        return self.records.list(state=state, kind=kind, username=user, limit=limit, offset=offset)

    # ---------------------------------------------------------------------------------- leases and sweeps

    def beat(self, job_id: str) -> None:
        """This process runs ``job_id`` and is alive."""
        self.records.lease(job_id, socket.gethostname(), os.getpid())

    def release(self, job_id: str) -> None:
        self.records.unlease(job_id)

    def worker_beat(self, at: float | None = None) -> None:
        """A worker of this queue is alive (at ``at``, default now): kept in the queue's own storage (the SQLite
        file's key-value table, a Redis hash), where every worker of the home writes and every page can read."""
        self.huey.storage.put_data(_WORKER_KEY, repr(time.time() if at is None else at).encode())

    def worker_seen(self) -> float | None:
        """When a worker of this queue last said it was alive (a Unix time), or None (never, or not readable)."""
        from huey.constants import EmptyData

        try:
            value = self.huey.storage.peek_data(_WORKER_KEY)
            return None if value is EmptyData else float(value)
        except Exception:  # noqa: BLE001 - a queue that cannot be read (sqlite3 / redis errors): nobody seen
            return None

    def no_worker(self, job: Job, now: float | None = None) -> bool:
        """Whether ``job`` waits for a worker that does not seem to run: queued for more than
        :data:`WORKER_SILENT` seconds and no worker heartbeat in as long."""
        now = time.time() if now is None else now
        if job.state != "queued" or now - job.created_at.timestamp() <= WORKER_SILENT:
            return False
        seen = self.worker_seen()
        return seen is None or now - seen > WORKER_SILENT

    def queued_ahead(self, job: Job) -> int | None:
        """How many queued jobs wait ahead of ``job`` (queued earlier, not started: :meth:`JobRecords.queued_ahead`,
        read from the state database whichever storage the queue uses); None when ``job`` is not queued."""
        return self.records.queued_ahead([job.id]) if job.state == "queued" else None

    def _lost(self, job: Job, now: float) -> bool:
        if job.lease_beat is None:  # claimed, then died before its first heartbeat
            started = job.started_at.timestamp() if job.started_at else 0.0
            return now - started > LEASE_TIMEOUT
        if job.lease_host == socket.gethostname() and not _pid_alive(int(job.lease_pid or 0)):
            return True
        return now - job.lease_beat.timestamp() > LEASE_TIMEOUT

    def sweep(self) -> builtins.list[Job]:
        """Running jobs whose worker died: queued again (up to ``jobs.attempts`` attempts) or failed with
        ``JOB-LOST``; queued jobs that lost their queue message get one again. Returns the jobs changed."""
        now = time.time()
        changed: list[Job] = []
        lost = [job for job in self.records.list(state="running", limit=10_000) if self._lost(job, now)]
        if lost:  # they go back on the queue: while it cannot be reached, this raises and nothing changes
            self.huey.pending_count()
        for job in lost:
            self.release(job.id)
            note = messages.text("jobs.lost", "en", attempts=job.attempts)
            if job.attempts < self.cfg["jobs.attempts"]:
                if self.records.requeue(job.id, from_states=("running",), message=note):
                    self.enqueue(job.id)
            else:
                self.records.fail(job.id, "JOB-LOST", note, {"error": {"code": "JOB-LOST", "msgid": "jobs.lost",
                                                                      "params": {"attempts": job.attempts}}})
            changed.append(self.records.get(job.id) or job)
        changed += self._requeue_orphans(now)
        return changed

    def _requeue_orphans(self, now: float) -> builtins.list[Job]:
        queued = [j for j in self.records.list(state="queued", limit=10_000)
                  if now - j.created_at.timestamp() > ORPHAN_AGE]
        if not queued:
            return []
        waiting = {t.id for t in self.huey.pending()} | {t.id for t in self.huey.scheduled()}
        orphans = [j for j in queued if j.id not in waiting]
        for job in orphans:  # a second message is harmless: only the first claims the job
            self.enqueue(job.id)
        return orphans

