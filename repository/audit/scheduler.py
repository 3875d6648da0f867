"""Periodic jobs (定期检查): a long-running loop with clean shutdown, on cron expressions (:mod:`repository.cron`).

:class:`Scheduler` runs :class:`Job` values when due, one at a time, skipping runs missed while a job ran or
the machine slept (as cron does). SIGTERM and SIGINT set a stop event: the loop ends after the running job,
and jobs get the event to stop early between archives. The clock is injectable, so tests run instantly.

Equivalent system schedules, for sites that prefer them to ``hsar scheduler``::

    # crontab -e (user hsar)
    0 2 * * *   hsar --home /srv/hsar audit --due
    30 1 * * *  hsar --home /srv/hsar replicate
    0 3 * * *   hsar --home /srv/hsar paper reconcile --store --when-changed

    # /etc/systemd/system/hsar-audit.service
    [Service]
    Type=oneshot
    User=hsar
    ExecStart=/usr/local/bin/hsar --home /srv/hsar audit --due
    # /etc/systemd/system/hsar-audit.timer
    [Timer]
    OnCalendar=*-*-* 02:00:00
    Persistent=true
    [Install]
    WantedBy=timers.target
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol

from ..cron import CronSchedule
from ..errors import ConfigError
from ..stopping import set_from_handler

if TYPE_CHECKING:
    from ..preservation.replica import ReplicationResult
    from .result import AuditRun

MAX_SLEEP = 60.0


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float, stop: threading.Event) -> None: ...


class SystemClock:
    """Local time; sleeping wakes early when ``stop`` is set."""

    def now(self) -> datetime:
        return datetime.now().astimezone()

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        stop.wait(seconds)


@dataclass(frozen=True)
class Job:
    """A named periodic job: ``run(scheduled time, stop event)``."""

    name: str
    schedule: CronSchedule
    run: Callable[[datetime, threading.Event], object]


@dataclass(frozen=True)
class JobRun:
    """One run of a job; ``error`` holds the exception text when it raised."""

    job: str
    scheduled: datetime
    started: datetime
    finished: datetime
    result: Any = None  # what the job returned: an AuditRun, a ReplicationResult, ... (read by name)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Scheduler:
    """Runs jobs on their schedules until :meth:`stop` (or SIGTERM/SIGINT)."""

    def __init__(self, jobs: list[Job], *, clock: Clock | None = None,
                 on_run: Callable[[JobRun], None] | None = None) -> None:
        self.jobs = {job.name: job for job in jobs}
        self.clock = clock or SystemClock()
        self.on_run = on_run
        self.stop_event = threading.Event()
        self.signal: int | None = None

    def stop(self, signum: int | None = None) -> None:
        self.signal = signum
        self.stop_event.set()

    def upcoming(self) -> dict[str, datetime]:
        now = self.clock.now()
        return {name: job.schedule.next_after(now) for name, job in self.jobs.items()}

    def _run_one(self, job: Job, scheduled: datetime) -> JobRun:
        started = self.clock.now()
        try:
            result, error = job.run(scheduled, self.stop_event), None
        except Exception as exc:  # noqa: BLE001 - a failing job is recorded; the scheduler keeps running
            result, error = None, f"{type(exc).__name__}: {exc}"
        run = JobRun(job.name, scheduled, started, self.clock.now(), result, error)
        if self.on_run is not None:
            self.on_run(run)
        return run

    def run(self, *, max_runs: int | None = None, install_signals: bool = True,
            on_start: Callable[[dict[str, datetime]], None] | None = None) -> list[JobRun]:
        """The loop; returns the runs made. Signal handlers are installed only in the main thread, before
        ``on_start`` is told when each job runs next."""
        previous = self._install() if install_signals else {}
        runs: list[JobRun] = []
        try:
            due = self.upcoming()
            if on_start is not None:
                on_start(dict(due))
            while due and not self.stop_event.is_set():
                name = min(due, key=lambda n: due[n])
                wait = (due[name] - self.clock.now()).total_seconds()
                if wait > 0:
                    self.clock.sleep(min(wait, MAX_SLEEP), self.stop_event)
                    continue
                runs.append(self._run_one(self.jobs[name], due[name]))
                due[name] = self.jobs[name].schedule.next_after(max(self.clock.now(), due[name]))
                if max_runs is not None and len(runs) >= max_runs:
                    break
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return runs

    def _install(self) -> dict[int, Callable[[int, FrameType | None], Any] | int | None]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, self._on_signal)
        return previous

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        """SIGTERM/SIGINT: stop. The handler runs in the main thread between two bytecodes, perhaps while that
        thread holds the stop event's own lock (inside ``Event.wait``, before it releases it to sleep); setting
        the event here would then wait for that lock forever. So another thread sets it: it gets the lock as
        soon as the main thread, back from the handler, lets go of it."""
        self.signal = signum
        set_from_handler(self.stop_event)


def standard_jobs(home: Path | str | None,
                  more: Sequence[tuple[str, str, Callable[[datetime, threading.Event], object]]] = ()) -> list[Job]:
    """The jobs ``hsar scheduler`` runs: ``audit --due`` on ``scheduler.audit``, replication on
    ``scheduler.replicate``, and ``more`` (name, schedule setting, run: the services layer adds the
    dual-track reconciliation on ``scheduler.paper``); an empty setting disables a job. Each run opens the
    home afresh.

    ConfigError when ``home`` is not a repository home (as for every command that opens one), when a schedule
    is not a cron expression, or when all are empty (a scheduler with nothing to run is a mistake). The
    audit job hands the scheduler's stop event to :func:`run_audit`, which stops between archives."""
    from ..home import Repository

    with Repository.open(home) as repo:  # checks that the home is one
        cfg = repo.cfg

    def audit_job(scheduled: datetime, stop: threading.Event) -> AuditRun:
        from .run import Selection, run_audit

        with Repository.open(home) as repo:
            return run_audit(repo, Selection("due"), now=scheduled, stop=stop)

    def replicate_job(scheduled: datetime, stop: threading.Event) -> ReplicationResult:
        from ..preservation.replica import replicate

        with Repository.open(home) as repo:
            return replicate(repo, now=scheduled)

    jobs = []
    for name, key, run in (("audit", "scheduler.audit", audit_job), ("replicate", "scheduler.replicate",
                                                                      replicate_job), *more):
        if str(cfg[key]).strip():
            jobs.append(Job(name, CronSchedule.parse(str(cfg[key])), run))
    if not jobs:
        raise ConfigError(msgid="scheduler.no_jobs", file=str(cfg.home / "hsar.toml"))
    return jobs
