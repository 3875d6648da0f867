"""Periodic jobs (定期检查): a 5-field cron parser and a long-running loop with clean shutdown.

Cron expressions follow Vixie cron / POSIX ``crontab(5)``: ``minute hour day-of-month month day-of-week``,
each field ``*``, a number, a range ``a-b``, a list ``a,b``, a step ``*/n`` or ``a-b/n``; months and weekdays
may be named (``jan``, ``mon``); Sunday is 0 or 7; when both day fields are restricted a day matching either
runs (cron's OR rule). ``@hourly``, ``@daily``/``@midnight``, ``@weekly``, ``@monthly``, ``@yearly``/
``@annually`` are accepted. Times are local wall-clock times of the clock's time zone.

:class:`Scheduler` runs :class:`Job` values when due, one at a time, skipping runs missed while a job ran or
the machine slept (as cron does). SIGTERM and SIGINT set a stop event: the loop ends after the running job,
and jobs get the event to stop early between archives. The clock is injectable, so tests run instantly.

Equivalent system schedules, for sites that prefer them to ``hsar scheduler``::

    # crontab -e (user hsar)
    0 2 * * *   hsar --home /srv/hsar audit --due
    30 1 * * *  hsar --home /srv/hsar replicate

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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from .errors import ConfigError

MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
          "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
MONTHS = {n: i for i, n in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                      "nov", "dec"), 1)}
WEEKDAYS = {n: i for i, n in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_FIELDS = (("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}), ("month", 1, 12, MONTHS),
           ("day of week", 0, 7, WEEKDAYS))
SEARCH_DAYS = 366 * 5  # the longest gap any satisfiable expression has is under four years (29 February)
MAX_SLEEP = 60.0


def _value(text: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    value = names.get(text.lower()) if not text.isdigit() else int(text)
    if value is None or not low <= value <= high:
        raise ConfigError(f"cron {name}: {text!r} is not in {low}-{high}")
    return value


def _field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = _value(step_text, name + " step", 1, high - low + 1, {}) if step_text else 1
        if span == "*":
            first, last = low, high
        elif "-" in span:
            a, _, b = span.partition("-")
            first, last = _value(a, name, low, high, names), _value(b, name, low, high, names)
            if first > last:
                raise ConfigError(f"cron {name}: range {span!r} runs backwards")
        else:
            first = _value(span, name, low, high, names)
            last = high if step_text else first
        values.update(range(first, last + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed cron expression."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # day-of-month field starts with '*'
    any_weekday: bool

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        """Parse ``expression``; ConfigError naming the bad field."""
        text = MACROS.get(expression.strip().lower(), expression.strip())
        parts = text.split()
        if len(parts) != 5:
            raise ConfigError(f"cron expression {expression!r} must have 5 fields: minute hour day month weekday")
        fields = [_field(p, *spec) for p, spec in zip(parts, _FIELDS, strict=True)]
        weekdays = frozenset(d % 7 for d in fields[4])
        return cls(expression, fields[0], fields[1], fields[2], fields[3], weekdays,
                   parts[2].startswith("*"), parts[4].startswith("*"))

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        dom, dow = day.day in self.days, day.isoweekday() % 7 in self.weekdays
        if self.any_day or self.any_weekday:
            return dom and dow
        return dom or dow

    def matches(self, moment: datetime) -> bool:
        return self._day_matches(moment.date()) and moment.hour in self.hours and moment.minute in self.minutes

    def next_after(self, moment: datetime) -> datetime:
        """The first matching minute strictly after ``moment`` (same time zone)."""
        start = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        times = sorted((h, m) for h in self.hours for m in self.minutes)
        for offset in range(SEARCH_DAYS):
            day = start.date() + timedelta(days=offset)
            if not self._day_matches(day):
                continue
            for hour, minute in times:
                candidate = start.replace(year=day.year, month=day.month, day=day.day, hour=hour, minute=minute)
                if candidate >= start:
                    return candidate
        raise ConfigError(f"cron expression {self.expression!r} never matches")

    def period(self, moment: datetime) -> timedelta:
        """Time between the next two runs after ``moment`` (how often the job runs, roughly)."""
        first = self.next_after(moment)
        return self.next_after(first) - first


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
    run: Callable[[datetime, threading.Event], Any]


@dataclass(frozen=True)
class JobRun:
    """One run of a job; ``error`` holds the exception text when it raised."""

    job: str
    scheduled: datetime
    started: datetime
    finished: datetime
    result: Any = None
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

    def _install(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda s, _frame: self.stop(s))
        return previous


def standard_jobs(home: Any) -> list[Job]:  # noqa: ANN401 - a home path
    """The jobs ``hsar scheduler`` runs: ``audit --due`` on ``scheduler.audit``, replication on
    ``scheduler.replicate`` (an empty setting disables a job). Each run opens the home afresh.

    ConfigError when ``home`` is not a repository home (as for every command that opens one), when a schedule
    is not a cron expression, or when both are empty (a scheduler with nothing to run is a mistake). The
    audit job hands the scheduler's stop event to :func:`run_audit`, which stops between archives."""
    from .home import Repository

    with Repository.open(home) as repo:  # checks that the home is one
        cfg = repo.cfg

    def audit_job(scheduled: datetime, stop: threading.Event) -> Any:  # noqa: ANN401
        from .preservation.audit import Selection, run_audit

        with Repository.open(home) as repo:
            return run_audit(repo, Selection("due"), now=scheduled, stop=stop)

    def replicate_job(scheduled: datetime, stop: threading.Event) -> Any:  # noqa: ANN401
        from .preservation.replica import replicate

        with Repository.open(home) as repo:
            return replicate(repo, now=scheduled)

    jobs = []
    for name, key, run in (("audit", "scheduler.audit", audit_job), ("replicate", "scheduler.replicate",
                                                                      replicate_job)):
        if str(cfg[key]).strip():
            jobs.append(Job(name, CronSchedule.parse(str(cfg[key])), run))
    if not jobs:
        raise ConfigError(f"{cfg.home / 'hsar.toml'}: scheduler.audit 与 scheduler.replicate 均为空，没有要运行的定时任务"
                          " / scheduler.audit and scheduler.replicate are both empty: there is no job to run")
    return jobs
