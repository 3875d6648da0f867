"""Job records (作业记录): the ``jobs`` table of the state database, read and written through SQLAlchemy Core.

The queue (Huey) only carries a job's id; what a person sees of a job (its kind, state, progress, result,
error code) lives here, so it survives the queue being emptied, restarted or replaced. States:
``queued`` -> ``running`` -> ``done`` | ``failed``; a running job whose worker died goes back to ``queued``
(another attempt) or ends ``failed`` with ``JOB-LOST``.

Idempotence: a job submitted with a ``dedupe_key`` already recorded is that earlier job, never a second one
(the key is unique in the table, so two submissions racing each other still make one row). A *failed* job
submitted again is queued again, under the same id.

Values are returned as frozen :class:`Job` dataclasses; rows are never handed out.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..state.db import State
from ..state.tables import jobs as jobs_table

STATES = ("queued", "running", "done", "failed")
KINDS = ("ingest", "audit", "reindex", "export", "ocr", "paper", "access-copy", "research-copy", "scan-proposal",
         "scan-copy", "lock-alert")


@dataclass(frozen=True)
class Job:
    """One background job as recorded."""

    id: str
    kind: str
    state: str
    username: str | None
    params: Mapping[str, Any]
    dedupe_key: str | None
    progress_done: int
    progress_total: int | None
    message: str | None
    result: Any
    error_code: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    lease_host: str | None = None  # the worker running it (while it runs): its host, pid and last heartbeat
    lease_pid: int | None = None
    lease_beat: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    def failed_within(self, seconds: float) -> bool:
        """Whether it failed less than ``seconds`` ago (a failure that stands a while, not retried on every ask)."""
        return self.state == "failed" and self.finished_at is not None and \
            datetime.now(UTC) - self.finished_at < timedelta(seconds=seconds)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "state": self.state, "username": self.username,
                "params": dict(self.params), "dedupe_key": self.dedupe_key,
                "progress": {"done": self.progress_done, "total": self.progress_total},
                "message": self.message, "result": self.result, "error_code": self.error_code,
                "attempts": self.attempts, "created_at": _iso(self.created_at),
                "started_at": _iso(self.started_at), "finished_at": _iso(self.finished_at)}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _utc(value: datetime | None) -> datetime | None:
    """SQLite gives datetimes back naive, meaning UTC (see repository/state/tables.py)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


_NO_LEASE: dict[str, Any] = {"lease_host": None, "lease_pid": None, "lease_beat": None}


def _job(row: Any) -> Job:  # noqa: ANN401 - a SQLAlchemy Row
    m = row._mapping
    return Job(id=m["id"], kind=m["kind"], state=m["state"], username=m["username"], params=m["params"] or {},
               dedupe_key=m["dedupe_key"], progress_done=m["progress_done"] or 0,
               progress_total=m["progress_total"], message=m["message"], result=m["result"],
               error_code=m["error_code"], attempts=m["attempts"] or 0, created_at=_utc(m["created_at"]) or datetime.now(UTC),
               started_at=_utc(m["started_at"]), finished_at=_utc(m["finished_at"]),
               lease_host=m["lease_host"], lease_pid=m["lease_pid"], lease_beat=_utc(m["lease_beat"]))


class JobRecords:
    """The ``jobs`` table of one state database."""

    def __init__(self, state: State) -> None:
        self.state = state  # opened and checked to be at this hsar's schema (hsar init migrates it)

    def close(self) -> None:
        self.state.close()

    # ------------------------------------------------------------------------------------------ reading

    def get(self, job_id: str) -> Job | None:
        with self.state.transaction() as conn:
            row = conn.execute(select(jobs_table).where(jobs_table.c.id == job_id)).first()
        return _job(row) if row is not None else None

    def by_dedupe_key(self, key: str) -> Job | None:
        with self.state.transaction() as conn:
            row = conn.execute(select(jobs_table).where(jobs_table.c.dedupe_key == key)).first()
        return _job(row) if row is not None else None

    def chained(self, base: str) -> tuple[str, Job | None]:
        """The dedupe key to submit work named ``base`` under now, and the job recorded under it (None: none
        yet). A done job's work may be gone again since (a copy removed from the cache, a proposal superseded):
        after it comes the next key of its chain, ``<base>:<job id>``, as often as that happens."""
        key, job = base, self.by_dedupe_key(base)
        while job is not None and job.state == "done":
            key = f"{base}:{job.id}"
            job = self.by_dedupe_key(key)
        return key, job

    def queued_ahead(self, job_ids: Iterable[str]) -> int | None:
        """How many jobs wait ahead of the first of ``job_ids`` still queued (not started): jobs of any user and
        kind, queued before it (created earlier) and not started either; None when none of ``job_ids`` is queued.
        A count only: nothing else of those jobs is read. (A job queued again after it failed or lost its worker
        keeps the time it was created, so it counts as ahead of jobs created after it.)"""
        wanted = sorted(set(job_ids))
        if not wanted:
            return None
        queued = jobs_table.c.state == "queued"
        first = select(func.min(jobs_table.c.created_at)).where(jobs_table.c.id.in_(wanted), queued)
        with self.state.transaction() as conn:  # (one snapshot: the index on state and created_at answers both)
            if conn.execute(first).scalar() is None:  # none of them is queued
                return None
            return int(conn.execute(select(func.count()).select_from(jobs_table).where(
                queued, jobs_table.c.created_at < first.scalar_subquery())).scalar() or 0)

    def list(self, *, state: str | None = None, kind: str | None = None, username: str | None = None,
             limit: int = 50, offset: int = 0) -> list[Job]:
        """Newest first."""
        query = select(jobs_table)
        for column, value in (("state", state), ("kind", kind), ("username", username)):
            if value is not None:
                query = query.where(jobs_table.c[column] == value)
        query = query.order_by(jobs_table.c.created_at.desc(), jobs_table.c.id).limit(limit).offset(offset)
        with self.state.transaction() as conn:
            return [_job(row) for row in conn.execute(query)]

    # ------------------------------------------------------------------------------------------ writing

    def create(self, kind: str, params: Mapping[str, Any], *, username: str | None = None,
               dedupe_key: str | None = None) -> tuple[Job, bool]:
        """(the job, True) for a new row; (the recorded job, False) when ``dedupe_key`` is already taken."""
        job_id = str(uuid.uuid4())
        values = {"id": job_id, "kind": kind, "state": "queued", "username": username, "params": dict(params),
                  "dedupe_key": dedupe_key, "progress_done": 0, "attempts": 0, "created_at": _now()}
        try:
            with self.state.transaction(write=True) as conn:
                conn.execute(insert(jobs_table).values(**values))
        except IntegrityError:
            existing = self.by_dedupe_key(dedupe_key) if dedupe_key is not None else None
            if existing is None:
                raise
            return existing, False
        job = self.get(job_id)
        assert job is not None
        return job, True

    def _update(self, job_id: str, *conditions: Any, **values: Any) -> bool:  # noqa: ANN401
        with self.state.transaction(write=True) as conn:
            result = conn.execute(update(jobs_table).where(jobs_table.c.id == job_id, *conditions).values(**values))
        return result.rowcount == 1

    def claim(self, job_id: str) -> bool:
        """queued -> running, one more attempt; False when the job is not queued (a second copy of its queue
        message, or a job already finished): the caller must not run it."""
        return self._update(job_id, jobs_table.c.state == "queued", state="running", started_at=_now(),
                            finished_at=None, attempts=jobs_table.c.attempts + 1, message=None, **_NO_LEASE)

    def lease(self, job_id: str, host: str, pid: int, at: datetime | None = None) -> bool:
        """The running job ``job_id`` is run by process ``pid`` on ``host``, alive at ``at`` (default: now);
        False when it is not running."""
        return self._update(job_id, jobs_table.c.state == "running", lease_host=host, lease_pid=pid,
                            lease_beat=at or _now())

    def unlease(self, job_id: str) -> None:
        """No process holds ``job_id`` any more (its worker ended it, or died)."""
        self._update(job_id, **_NO_LEASE)

    def unclaim(self, job_id: str, message: str | None = None) -> bool:
        """running -> queued without counting the attempt (the job could not start: the home was busy)."""
        return self._update(job_id, jobs_table.c.state == "running", state="queued", started_at=None,
                            attempts=jobs_table.c.attempts - 1,
                            message=message)

    def requeue(self, job_id: str, *, from_states: tuple[str, ...] = ("failed",), message: str | None = None
                ) -> bool:
        """Back to ``queued`` (a failed job submitted again, or a running job whose worker died)."""
        return self._update(job_id, jobs_table.c.state.in_(from_states), state="queued", finished_at=None,
                            error_code=None, result=None, message=message)

    def progress(self, job_id: str, done: int, total: int | None = None, message: str | None = None) -> None:
        values: dict[str, Any] = {"progress_done": done}
        if total is not None:
            values["progress_total"] = total
        if message is not None:
            values["message"] = message
        self._update(job_id, jobs_table.c.state == "running", **values)

    def finish(self, job_id: str, result: Any, message: str | None = None) -> bool:  # noqa: ANN401
        return self._update(job_id, jobs_table.c.state == "running", state="done", result=result,
                            message=message, error_code=None, finished_at=_now())

    def fail(self, job_id: str, code: str, message: str, result: Any = None, *,  # noqa: ANN401
             from_states: tuple[str, ...] = ("running",)) -> bool:
        return self._update(job_id, jobs_table.c.state.in_(from_states), state="failed", error_code=code[:32],
                            message=message, result=result, finished_at=_now())
