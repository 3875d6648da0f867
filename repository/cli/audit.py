"""``hsar audit``, ``hsar audit log``, ``hsar replicate`` and ``hsar scheduler``: thin adapters over
:mod:`repository.services.audit` and :mod:`repository.services.auditlog`.

Exit codes (:class:`.exits.Exit`): OK when everything checked is intact (replication: every replica up to
date; log: the chain verifies), BAD when anything is damaged, repaired, unrepairable or tampered with.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from .. import messages
from ..errors import UsageError
from .base import Context, cli, emit_json, emit_result, json_option, pass_ctx
from .exits import Exit
from .progress import Bar
from .sip import render_issue

MAX_TAIL = 1_000_000_000  # --tail beyond this is a usage error (Python's deque cannot hold more than 2**63 - 1)

if TYPE_CHECKING:

    from ..audit.result import AuditRun
    from ..audit.scheduler import JobRun
    from ..services.auditlog import LogLine

class _Progress(Bar):
    """The audit's bar on stderr (archives done, megabytes hashed), made when the run knows its length."""

    def __init__(self, c: Context, show: bool) -> None:
        super().__init__(show and c.verbosity >= 0)
        self.c = c

    def __call__(self, done: int, total: int, hashed: int, object_id: str) -> None:
        self.start(total)
        self.update(1, self.c.text("cli.audit.bar", mb=f"{hashed / 1e6:,.0f}"))


def _render_run(c: Context, run: AuditRun) -> None:
    """The run's result lines: archives not intact with their findings (with -v every archive; with -q none),
    run issues, notes, alerts, the summary and the reports."""
    for archive in run.archives:
        if c.verbosity < 0 or (archive.result == "intact" and not archive.findings and c.verbosity < 1):
            continue
        label = messages.label("verdict", archive.result, c.lang)
        click.echo(f"{archive.archive_id} ({archive.head or '-'}): {label}")
        for finding in archive.findings:
            state = messages.label("verdict", "repaired" if finding.repaired else "open", c.lang)
            click.echo(f"  {finding.copy}: {render_issue(c, finding.issue)} [{state}]")
    for item in run.issues:
        click.echo(render_issue(c, item))
    for note in run.notes:
        click.echo(c.text("cli.audit.note", note=note))
    for alert in run.alerts:
        click.echo(c.text("cli.audit.alert_sent" if alert.ok else "cli.audit.alert_failed", channel=alert.channel,
                          detail=alert.detail))
    n, mb = run.counts(), run.bytes_checked / 1e6
    rate = mb / run.seconds if run.seconds else 0.0
    mark = "✔" if run.ok else "✘"
    click.echo(c.text("cli.audit.summary", mark=mark, count=len(run.archives), **n, files=run.files_checked,
                      mb=f"{mb:,.1f}", rate=f"{rate:,.1f}"))
    if run.stopped:
        click.echo(c.text("faults.audit_stopped", skipped=run.skipped))
    elif run.skipped:
        click.echo(c.text("cli.audit.budget", count=run.skipped))
    for path in run.reports:
        click.echo(c.text("cli.report", path=path))


@cli.group("audit", invoke_without_command=True)
@click.option("--due", is_flag=True, help="按计划检查到期的一份（默认）Check this run's due share (default).")
@click.option("--all", "check_all", is_flag=True, help="检查全部档案 Check every archive.")
@click.option("--archive", "archives", multiple=True, metavar="ID", help="检查指定档案（可重复）Check this archive (repeatable).")
@click.option("--sample", type=click.IntRange(1), default=None, metavar="N", help="随机抽查 N 件 Check N random archives.")
@click.option("--no-repair", is_flag=True, help="只检查不修复 Check only, repair nothing.")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON 摘要 Print the run summary as JSON.")
@click.pass_context
def audit_cmd(ctx: click.Context, due: bool, check_all: bool, archives: tuple[str, ...], sample: int | None,
              no_repair: bool, as_json: bool) -> None:
    """定期检查 Audit: re-hash every copy, verify version signatures, repair from good copies.

    Writes a JSON and an HTML report to <home>/reports/, records every result in the catalogue and the
    hash-chained audit log, and alerts (alerts.*) when anything is not intact. Exit 0 when everything
    checked is intact, 1 otherwise.
    """
    c = ctx.find_object(Context)
    if c is None:  # the group always makes one; a programming error otherwise
        raise RuntimeError("hsar audit needs the hsar command group's context")
    if ctx.invoked_subcommand is not None:
        given = [name for name, value in (("--due", due), ("--all", check_all), ("--archive", archives),
                                          ("--sample", sample is not None), ("--no-repair", no_repair),
                                          ("--json", as_json)) if value]
        if given:
            sub, names = ctx.invoked_subcommand, " ".join(given)
            raise UsageError(msgid="cli.audit.misplaced_options", names=names, sub=sub)
        return
    from ..services.audit import audit, selection

    chosen = selection([m for m, given in (("due", due), ("all", check_all)) if given], archives, sample,
                       repair=not no_repair)
    progress = _Progress(c, not as_json)
    stop = threading.Event()
    with c.repo() as repo, _stop_on_sigterm(stop):
        try:
            run = audit(repo, chosen, now=datetime.now(UTC), progress=progress, stop=stop)
        finally:
            progress.close()
    if as_json:
        data = run.summary(c.lang)
        data["archives"] = [{"archive_id": a.archive_id, "object_id": a.object_id, "head": a.head,
                             "result": a.result, "findings": [f.to_dict(c.lang) for f in a.findings]}
                            for a in run.archives]
        data["alerts"] = [a.to_dict() for a in run.alerts]
        emit_json(data)
    else:
        _render_run(c, run)
    raise SystemExit(Exit.STOPPED if run.stopped else Exit.of(run.ok))


@contextmanager
def _stop_on_sigterm(stop: threading.Event) -> Iterator[None]:
    """SIGTERM (systemd stopping a unit, ``timeout``) ends the run like the scheduler's stop: after the
    archives being checked, with their results recorded and the report written; a second SIGTERM interrupts
    at once (exit 130), as Ctrl-C does."""
    from ..stopping import set_from_handler

    def handler(_signum: int, _frame: Any) -> None:  # noqa: ANN401
        if stop.is_set():
            raise KeyboardInterrupt
        set_from_handler(stop)  # not stop.set() here: see set_from_handler

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@audit_cmd.command("log")
@click.option("--verify", is_flag=True, help="校验哈希链 Verify the hash chain, its head and the report anchors.")
@click.option("--tail", default=10, show_default=True, type=click.IntRange(0, MAX_TAIL),
              help="显示最后 N 条 Show the last N entries.")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON Print JSON.")
@pass_ctx
def log_cmd(c: Context, verify: bool, tail: int, as_json: bool) -> None:
    """审计日志 The append-only, hash-chained audit log (<home>/audit/log.jsonl).

    With --verify: exit 0 when every line, the chain and its recorded head are intact, 1 when an entry was
    altered, inserted or deleted (including the last one).
    """
    from ..services.auditlog import tail as log_tail
    from ..services.auditlog import verify as verify_log

    with c.repo() as repo:
        if verify:
            result = verify_log(repo)
            if as_json:
                emit_json(result.to_dict(c.lang))
            else:
                for item in result.issues:
                    click.echo(render_issue(c, item))
                click.echo(c.text("cli.log.intact" if result.ok else "cli.log.tampered", count=result.entries))
            raise SystemExit(Exit.of(result.ok))
        lines = log_tail(repo, tail)
    _print_tail(lines, as_json)


def _print_tail(lines: tuple[LogLine, ...], as_json: bool) -> None:
    for line in lines:
        if as_json:
            click.echo(line.raw)
            continue
        entry = line.entry
        event = entry.get("event", {})
        assert isinstance(event, dict)
        when = messages.local_stamp(str(event.get("datetime", "")))
        click.echo(f"#{entry.get('seq')} {when} {entry.get('archive_id') or entry.get('object_id')} "
                   f"{event.get('type')} {event.get('outcome')}: {event.get('detail', '')}")


@cli.command("replicate")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON Print JSON.")
@pass_ctx
def replicate_cmd(c: Context, as_json: bool) -> None:
    """同步副本 Copy new versions to every replica (storage.replicas); exit 1 if any could not be copied."""
    from ..services.audit import replicate

    with c.repo() as repo:
        result = replicate(repo, now=datetime.now(UTC))
    if as_json:
        emit_json(result.to_dict())
    else:
        for replica in result.replicas:
            if replica.error:
                click.echo(c.text("cli.replicate.unusable", label=replica.label, error=replica.error))
        for item in result.copied:
            click.echo(c.text("cli.replicate.copied", object=item.object_id, versions=", ".join(item.versions),
                              replica=item.replica))
        for item in result.errors:
            click.echo(c.text("cli.replicate.failed", object=item.object_id, replica=item.replica, error=item.error))
        unusable = sum(1 for r in result.replicas if r.error)
        click.echo(c.text("cli.replicate.summary_unusable" if unusable else "cli.replicate.summary",
                          mark="✔" if result.ok else "✘", checked=result.checked, copied=len(result.copied),
                          failed=len(result.errors), unusable=unusable))
    raise SystemExit(Exit.of(result.ok))


@cli.command("scheduler")
@click.option("--list", "list_only", is_flag=True, help="只显示下次运行时间 Only show when each job runs next.")
@json_option("With --list: the next run of each job; else one envelope per job run (JSON Lines).")
@pass_ctx
def scheduler_cmd(c: Context, list_only: bool, as_json: bool) -> None:
    """定时任务 Run the periodic jobs (scheduler.audit, scheduler.replicate, scheduler.paper) until SIGTERM or
    Ctrl-C. The paper job reconciles the paper register with the archives again only when the stored result
    is out of date.

    Instead of this process, cron or a systemd timer can run the same jobs:

    \b
    crontab:  0 2 * * *   hsar --home /srv/hsar audit --due
              30 1 * * *  hsar --home /srv/hsar replicate
              0 3 * * *   hsar --home /srv/hsar paper reconcile --store --when-changed
    systemd:  hsar-audit.service  [Service] Type=oneshot
                                  ExecStart=/usr/local/bin/hsar --home /srv/hsar audit --due
              hsar-audit.timer    [Timer] OnCalendar=*-*-* 02:00:00  Persistent=true
                                  [Install] WantedBy=timers.target
    """
    from ..services.audit import scheduler as make_scheduler

    def report(run: JobRun) -> None:
        stopped = run.ok and getattr(run.result, "skipped", 0) > 0 and scheduler.stop_event.is_set()
        if as_json:
            detail = (run.result.summary(c.lang) if hasattr(run.result, "summary") else
                      run.result.to_dict() if hasattr(run.result, "to_dict") else None)
            click.echo(json.dumps({"schema": "hsar/scheduler-run/1", "ok": bool(run.ok and getattr(
                run.result, "ok", True)), "result": {"job": run.job, "finished": run.finished.isoformat(),
                                                     "stopped": stopped, "error": run.error or None,
                                                     "detail": detail}}, ensure_ascii=False, default=str))
        else:
            click.echo(f"{run.finished:%Y-%m-%d %H:%M} " + _job_line(c, run, stopped))
        sys.stdout.flush()

    # ConfigError (exit 2): not a home, a bad schedule, or nothing scheduled
    scheduler = make_scheduler(c.home, on_run=report)

    def announce(upcoming: dict[str, datetime]) -> None:
        for name, when in upcoming.items():
            click.echo(c.text("cli.scheduler.next", name=name, when=f"{when:%Y-%m-%d %H:%M %z}"))
        sys.stdout.flush()

    if list_only and as_json:
        emit_result("scheduler-list", {"jobs": [{"name": name, "next": when.isoformat()}
                                                for name, when in scheduler.upcoming().items()]})
        return
    if list_only:
        announce(scheduler.upcoming())
        return
    scheduler.run(on_start=None if as_json else announce)
    if not as_json:
        click.echo(c.text("cli.scheduler.stopped"))


def _job_line(c: Context, run: JobRun, stopped: bool) -> str:
    """One line per job run; an audit's says what it checked (of what it selected), what it left, where the
    report is, and whether the scheduler stopped it early."""
    if not run.ok:
        return c.text("cli.job.error", job=run.job, error=run.error)
    state = c.text("cli.job.stopped" if stopped else "cli.job.done")
    if not getattr(run.result, "ok", True):
        state = c.text("cli.job.problems", state=state)
    if run.job == "paper" and run.result is not None:
        made = run.result.made
        if made is None:
            state = c.text("cli.job.paper_current", state=state)
        else:
            state = c.text("cli.job.paper_made", state=state, why=c.text(f"cli.job.paper_why.{run.result.reason}"),
                           register=made.register_rows, electronic=made.electronic_items)
    if run.job == "audit" and run.result is not None:
        result = run.result
        state = c.text("cli.job.audit", state=state, checked=len(result.archives), selected=result.selected,
                       **result.counts())
        if result.skipped:
            state = c.text("cli.job.left_stopped" if stopped else "cli.job.left_budget", state=state,
                           count=result.skipped)
        if result.reports:
            state = c.text("cli.job.reports", state=state,
                           paths=c.text("cli.list_separator").join(result.reports))
    return c.text("cli.job.line", job=run.job, state=state)
