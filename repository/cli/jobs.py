"""``hsar worker`` and ``hsar job list|show``: thin adapters over :mod:`repository.jobs`.

``hsar worker`` runs the home's jobs until SIGTERM or Ctrl-C (a second one stops at once); ``hsar job``
shows what was submitted, how far it got and how it ended. Texts come from ``data/messages/jobs.json``.
"""

from __future__ import annotations

import json
from typing import Any

import click

from .. import messages
from ..jobs.records import KINDS
from ..safeurl import safe_url
from .base import Context, cli, emit_json, pass_ctx


def _t(c: Context, key: str, **params: object) -> str:
    return messages.text(key, c.lang, **params)


@cli.command("worker")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="同时运行的作业数（线程）Jobs run at the same time (threads).")
@pass_ctx
def worker_cmd(c: Context, workers: int) -> None:
    """运行后台作业 Run background jobs until SIGTERM or Ctrl-C.

    \b
    Kinds: ingest, audit, reindex, export, OCR, paper (reconciliation),
    access-copy, research-copy, scan-proposal, scan-copy,
    lock-alert (the alert of a sign-in lock).

    The queue is SQLite in <home>/jobs/ unless jobs.url names a Redis server. On start the worker marks
    the jobs of workers that died as queued again (or failed, JOB-LOST, after jobs.attempts attempts).
    While the queue cannot be read (a Redis that is down or was never there) the worker keeps trying, every
    second, and says so once ([JOB-QUEUE] on stderr), and once more when it can read it again.
    """
    from ..home import Repository
    from ..jobs.worker import run_worker

    Repository.open(c.home).close()  # a home that is not one is a CONFIG error before anything is made

    url = c.cfg["jobs.url"]
    where = safe_url(url) if url else str(c.cfg.home.resolve() / "jobs" / "queue.sqlite")

    def started(queue: Any, swept: list[Any]) -> None:  # noqa: ANN401
        for job in swept:
            click.echo(_t(c, "jobs.worker-swept", job_id=job.id, kind=job.kind,
                          state=messages.label("job_state", job.state, c.lang)), err=True)
        click.echo(_t(c, "jobs.worker-started", workers=workers, queue=where), err=True)

    def queue_state(reachable: bool, reason: str) -> None:
        if reachable:
            click.echo(_t(c, "jobs.worker-queue-back", queue=where), err=True)
        else:
            click.echo(_t(c, "jobs.worker-queue-lost", queue=where, reason=reason), err=True)

    run_worker(c.home, workers=workers, started=started, queue_state=queue_state)
    click.echo(_t(c, "jobs.worker-stopped"), err=True)


@cli.group("job")
def job_group() -> None:
    """后台作业 Background jobs: list and show."""


def _progress(job: Any) -> str:  # noqa: ANN401 - Job
    return f"{job.progress_done}/{job.progress_total}" if job.progress_total is not None else str(job.progress_done)


@job_group.command("list")
@click.option("--state", type=click.Choice(["queued", "running", "done", "failed"]), help="只列此状态 Only this state.")
@click.option("--kind", type=click.Choice(list(KINDS)), help="只列此类型 Only this kind.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000), help="最多条数 At most.")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON Print JSON.")
@pass_ctx
def job_list_cmd(c: Context, state: str | None, kind: str | None, limit: int, as_json: bool) -> None:
    """列出作业（新的在前）List jobs, newest first."""
    from ..jobs import JobQueue

    with JobQueue.open(c.home) as queue:
        jobs = queue.list(state=state, kind=kind, limit=limit)
    if as_json:
        emit_json([j.to_dict() for j in jobs])
        return
    if not jobs:
        click.echo(_t(c, "jobs.none"))
    for job in jobs:
        code = f" [{job.error_code}]" if job.error_code else ""
        click.echo(f"{job.id}  {messages.label('job_kind', job.kind, c.lang)}  "
                   f"{messages.label('job_state', job.state, c.lang)}{code}  {_progress(job)}  "
                   f"{messages.local_stamp(job.created_at)}")  # Beijing time, with its offset


@job_group.command("show")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON Print JSON.")
@pass_ctx
def job_show_cmd(c: Context, job_id: str, as_json: bool) -> None:
    """查看作业 Show one job: state, progress, parameters, result or error."""
    from ..errors import HsarError
    from ..jobs import JobQueue

    with JobQueue.open(c.home) as queue:
        job = queue.get(job_id)
    if job is None:
        raise HsarError(_t(c, "jobs.not-found", job_id=job_id), "NOT-FOUND")
    if as_json:
        emit_json(job.to_dict())
        return
    rows = [("kind", messages.label("job_kind", job.kind, c.lang)),
            ("state", messages.label("job_state", job.state, c.lang)), ("user", job.username),
            ("progress", _progress(job)), ("attempts", job.attempts),
            *((name, messages.local_stamp(at)) for name, at in
              (("created", job.created_at), ("started", job.started_at), ("finished", job.finished_at))),
            ("message", _message(c, job)),
            ("error", job.error_code), ("params", json.dumps(dict(job.params), ensure_ascii=False)),
            ("result", json.dumps(job.result, ensure_ascii=False) if job.result is not None else None)]
    click.echo(job.id)
    for key, value in rows:
        if value not in (None, ""):
            click.echo(f"  {_t(c, 'jobs.field.' + key)}: {value}")


def _message(c: Context, job: Any) -> str | None:  # noqa: ANN401 - Job
    """A failed job's error in the reader's language when it was raised by message key."""
    error = job.result.get("error") if isinstance(job.result, dict) else None
    if isinstance(error, dict) and error.get("msgid") and messages.has(error["msgid"]):
        return messages.text(error["msgid"], c.lang, **(error.get("params") or {}))
    return job.message
