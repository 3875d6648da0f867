"""``hsar audit``, ``hsar audit log``, ``hsar replicate`` and ``hsar scheduler``: thin adapters over
:mod:`repository.services.audit` and :mod:`repository.services.auditlog`.

Exit codes (:class:`.exits.Exit`): OK when everything checked is intact (replication: every replica up to
date; log: the chain verifies), BAD when anything is damaged, repaired, unrepairable or tampered with.
"""

from __future__ import annotations

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
from .base import Context, cli, emit_json, pass_ctx
from .exits import Exit
from .sip import render_issue

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

    from ..audit.result import AuditRun
    from ..audit.scheduler import JobRun
    from ..services.auditlog import LogLine

_RESULT = {"intact": ("完好", "intact"), "repaired": ("已修复", "repaired"), "failed": ("失败", "failed")}


class _Progress:
    """A progress bar on stderr (archives done, megabytes hashed), made when the run knows its length."""

    def __init__(self, c: Context, show: bool) -> None:
        self.c, self.show = c, show
        self.bar: ProgressBar[int] | None = None

    def __call__(self, done: int, total: int, hashed: int, object_id: str) -> None:
        if not self.show:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=max(total, 1), file=sys.stderr, show_pos=True)
            self.bar.__enter__()
        self.bar.label = self.c.t(f"审计 {hashed / 1e6:,.0f} MB", f"audit {hashed / 1e6:,.0f} MB")
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _render_run(c: Context, run: AuditRun) -> None:
    for archive in run.archives:
        if archive.result == "intact" and not archive.findings:
            continue
        label = _RESULT[archive.result][0 if c.lang == "zh" else 1]
        click.echo(f"{archive.archive_id} ({archive.head or '-'}): {label}")
        for finding in archive.findings:
            state = c.t("已修复", "repaired") if finding.repaired else c.t("未修复", "open")
            click.echo(f"  {finding.copy}: {render_issue(c, finding.issue)} [{state}]")
    for item in run.issues:
        click.echo(render_issue(c, item))
    for note in run.notes:
        click.echo(c.t(f"备注：{note}", f"note: {note}"))
    for alert in run.alerts:
        click.echo(c.t(f"告警 {alert.channel}：{'已发送' if alert.ok else '失败'} {alert.detail}",
                       f"alert {alert.channel}: {'sent' if alert.ok else 'FAILED'} {alert.detail}"))
    n, mb = run.counts(), run.bytes_checked / 1e6
    rate = mb / run.seconds if run.seconds else 0.0
    mark = "✔" if run.ok else "✘"
    click.echo(c.t(f"{mark} 检查 {len(run.archives)} 件档案：完好 {n['intact']}，已修复 {n['repaired']}，失败 {n['failed']}；"
                   f"{run.files_checked} 个文件，{mb:,.1f} MB，{rate:,.1f} MB/s",
                   f"{mark} {len(run.archives)} archives checked: {n['intact']} intact, {n['repaired']} repaired, "
                   f"{n['failed']} failed; {run.files_checked} files, {mb:,.1f} MB, {rate:,.1f} MB/s"))
    if run.stopped:
        click.echo(messages.text("faults.audit_stopped", c.lang, skipped=run.skipped))
    elif run.skipped:
        click.echo(c.t(f"预算用尽，{run.skipped} 件留待下次", f"budget reached: {run.skipped} left for the next run"))
    for path in run.reports:
        click.echo(c.t(f"报告：{path}", f"report: {path}"))


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
            raise UsageError(c.t(f"{names} 是 `hsar audit` 本身的选项，不能用于 `hsar audit {sub}`；"
                                 f"`{sub}` 的选项写在它后面，如 `hsar audit log --verify --json`",
                                 f"{names}: options of `hsar audit` itself, not of `hsar audit {sub}`; "
                                 f"put the options of `{sub}` after it, e.g. `hsar audit log --verify --json`"))
        return
    from ..services.audit import audit, selection

    chosen = selection([m for m, given in (("due", due), ("all", check_all)) if given], archives, sample,
                       repair=not no_repair)
    progress = _Progress(c, not as_json and sys.stderr.isatty())
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
    def handler(_signum: int, _frame: Any) -> None:  # noqa: ANN401
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

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
@click.option("--tail", default=10, show_default=True, type=click.IntRange(0), help="显示最后 N 条 Show the last N entries.")
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
                click.echo(c.t(f"{'✔ 日志完好' if result.ok else '✘ 日志被改动'}：{result.entries} 条",
                               f"{'✔ log intact' if result.ok else '✘ log tampered with'}: {result.entries} entries"))
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
        click.echo(f"#{entry.get('seq')} {event.get('datetime', '')} {entry.get('archive_id') or entry.get('object_id')} "
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
                click.echo(c.t(f"副本不可用 {replica.label}：{replica.error}", f"replica {replica.label} unusable: {replica.error}"))
        for item in result.copied:
            click.echo(c.t(f"已复制 {item.object_id} {', '.join(item.versions)} → {item.replica}",
                           f"copied {item.object_id} {', '.join(item.versions)} -> {item.replica}"))
        for item in result.errors:
            click.echo(c.t(f"失败 {item.object_id} → {item.replica}：{item.error}",
                           f"failed {item.object_id} -> {item.replica}: {item.error}"))
        unusable = sum(1 for r in result.replicas if r.error)
        mark = "✔" if result.ok else "✘"
        click.echo(c.t(f"{mark} 检查 {result.checked} 件，复制 {len(result.copied)} 件，失败 {len(result.errors)} 件"
                       + (f"；{unusable} 个副本不可用" if unusable else ""),
                       f"{mark} {result.checked} objects checked, {len(result.copied)} copied, {len(result.errors)} "
                       "failed" + (f"; {unusable} replicas unusable" if unusable else "")))
    raise SystemExit(Exit.of(result.ok))


@cli.command("scheduler")
@click.option("--list", "list_only", is_flag=True, help="只显示下次运行时间 Only show when each job runs next.")
@pass_ctx
def scheduler_cmd(c: Context, list_only: bool) -> None:
    """定时任务 Run the periodic jobs (scheduler.audit, scheduler.replicate) until SIGTERM or Ctrl-C.

    Instead of this process, cron or a systemd timer can run the same jobs:

    \b
    crontab:  0 2 * * *   hsar --home /srv/hsar audit --due
              30 1 * * *  hsar --home /srv/hsar replicate
    systemd:  hsar-audit.service  [Service] Type=oneshot
                                  ExecStart=/usr/local/bin/hsar --home /srv/hsar audit --due
              hsar-audit.timer    [Timer] OnCalendar=*-*-* 02:00:00  Persistent=true
                                  [Install] WantedBy=timers.target
    """
    from ..services.audit import scheduler as make_scheduler

    def report(run: JobRun) -> None:
        stopped = run.ok and getattr(run.result, "skipped", 0) > 0 and scheduler.stop_event.is_set()
        click.echo(f"{run.finished:%Y-%m-%d %H:%M} " + _job_line(c, run, stopped))
        sys.stdout.flush()

    # ConfigError (exit 2): not a home, a bad schedule, or nothing scheduled
    scheduler = make_scheduler(c.home, on_run=report)

    def announce(upcoming: dict[str, datetime]) -> None:
        for name, when in upcoming.items():
            click.echo(c.t(f"任务 {name} 下次运行 {when:%Y-%m-%d %H:%M %z}",
                           f"job {name} next runs {when:%Y-%m-%d %H:%M %z}"))
        sys.stdout.flush()

    if list_only:
        announce(scheduler.upcoming())
        return
    scheduler.run(on_start=announce)
    click.echo(c.t("定时任务已停止", "scheduler stopped"))


def _job_line(c: Context, run: JobRun, stopped: bool) -> str:
    """One line per job run; an audit's says what it checked (of what it selected), what it left, where the
    report is, and whether the scheduler stopped it early."""
    if not run.ok:
        return c.t(f"任务 {run.job}：出错 {run.error}", f"job {run.job}: error {run.error}")
    verdict = getattr(run.result, "ok", True)
    zh = ("已停止" if stopped else "完成") + ("" if verdict else "，发现问题")
    en = ("stopped" if stopped else "done") + ("" if verdict else ", problems found")
    if run.job != "audit" or run.result is None:
        return c.t(f"任务 {run.job}：{zh}", f"job {run.job}: {en}")
    result = run.result
    n, checked = result.counts(), len(result.archives)
    zh += (f"：检查 {checked}/{result.selected} 件档案，完好 {n['intact']}，已修复 {n['repaired']}，"
           f"失败 {n['failed']}")
    en += (f": {checked} of {result.selected} archives checked, {n['intact']} intact, {n['repaired']} repaired, "
           f"{n['failed']} failed")
    if result.skipped:
        zh += f"；{result.skipped} 件未检查，" + ("留待下次运行" if stopped else "预算用尽，留待下次")
        en += f"; {result.skipped} not checked, " + ("left for the next run" if stopped
                                                      else "budget reached, left for the next run")
    if result.reports:
        zh += f"；报告：{'、'.join(result.reports)}"
        en += f"; report: {', '.join(result.reports)}"
    return c.t(f"任务 {run.job}：{zh}", f"job {run.job}: {en}")
