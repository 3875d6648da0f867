"""Cron expressions and the scheduler loop (fake clock: no test waits)."""

from __future__ import annotations

import os
import signal
import threading
from datetime import datetime, timedelta, timezone

import pytest

from repository.audit.scheduler import Job, Scheduler, standard_jobs
from repository.cron import CronSchedule
from repository.errors import ConfigError

CST = timezone(timedelta(hours=8))  # 北京时间
T0 = datetime(2025, 3, 1, 0, 0, tzinfo=CST)  # a Saturday


def nxt(expr: str, after: datetime = T0, n: int = 1) -> list[str]:
    schedule, out, moment = CronSchedule.parse(expr), [], after
    for _ in range(n):
        moment = schedule.next_after(moment)
        out.append(moment.strftime("%Y-%m-%d %a %H:%M"))
    return out


@pytest.mark.parametrize("expr, expected", [
    ("0 2 * * *", ["2025-03-01 Sat 02:00", "2025-03-02 Sun 02:00"]),
    ("*/20 * * * *", ["2025-03-01 Sat 00:20", "2025-03-01 Sat 00:40"]),
    ("30 1 * * mon-fri", ["2025-03-03 Mon 01:30", "2025-03-04 Tue 01:30"]),
    ("0 0 29 feb *", ["2028-02-29 Tue 00:00", "2032-02-29 Sun 00:00"]),
    ("0 12 1 * sun", ["2025-03-01 Sat 12:00", "2025-03-02 Sun 12:00"]),  # both day fields: either matches
    ("0 0 * * 7", ["2025-03-02 Sun 00:00", "2025-03-09 Sun 00:00"]),
    ("@monthly", ["2025-04-01 Tue 00:00", "2025-05-01 Thu 00:00"]),
    ("15 3-5/2 * JAN,mar *", ["2025-03-01 Sat 03:15", "2025-03-01 Sat 05:15"]),
])
def test_next_runs(expr, expected):
    assert nxt(expr, n=2) == expected


def test_time_zone_and_period():
    moment = CronSchedule.parse("0 2 * * *").next_after(T0)
    assert moment.tzinfo is CST and moment.hour == 2
    assert CronSchedule.parse("0 */6 * * *").period(T0) == timedelta(hours=6)
    assert CronSchedule.parse("@weekly").period(T0) == timedelta(days=7)


@pytest.mark.parametrize("expr", ["", "* * * *", "61 * * * *", "0 0 0 * *", "0 0 * 13 *", "0 0 * * funday",
                                  "5-1 * * * *", "*/0 * * * *", "0 0 30 2 *"])
def test_bad_expressions_are_refused(expr):
    with pytest.raises(ConfigError):
        CronSchedule.parse(expr).next_after(T0)


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.moment, self.slept = start, 0.0

    def now(self) -> datetime:
        return self.moment

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        self.slept += seconds
        self.moment += timedelta(seconds=seconds)


def test_jobs_run_in_order_and_failures_do_not_stop_the_loop():
    clock, seen = FakeClock(T0), []

    def hourly(when, stop):
        seen.append(("hourly", when.strftime("%H:%M")))
        clock.moment += timedelta(minutes=90)  # a long job: the runs it overlaps are skipped, as cron does
        return "done"

    def broken(when, stop):
        raise RuntimeError("disk on fire")

    jobs = [Job("hourly", CronSchedule.parse("0 * * * *"), hourly), Job("daily", CronSchedule.parse("30 2 * * *"), broken)]
    runs = Scheduler(jobs, clock=clock).run(max_runs=4, install_signals=False)
    assert [(r.job, r.scheduled.strftime("%H:%M")) for r in runs] == [
        ("hourly", "01:00"), ("daily", "02:30"), ("hourly", "03:00"), ("hourly", "05:00")]  # 02:00, 04:00 skipped
    assert runs[0].result == "done" and runs[1].error == "RuntimeError: disk on fire" and not runs[1].ok


def test_sigterm_stops_cleanly_after_the_running_job():
    clock = FakeClock(T0)
    previous = signal.getsignal(signal.SIGTERM)
    finished = []

    def job(when, stop):
        os.kill(os.getpid(), signal.SIGTERM)
        finished.append(stop.wait(5))  # set by the handler's helper thread, at once
        return "finished"

    scheduler = Scheduler([Job("audit", CronSchedule.parse("*/5 * * * *"), job)], clock=clock)
    runs = scheduler.run()
    assert [r.result for r in runs] == ["finished"] and finished == [True]
    assert scheduler.signal == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is previous  # handlers restored


def test_a_signal_while_the_main_thread_holds_the_stop_events_lock_stops_instead_of_hanging():
    """The handler runs in the main thread between bytecodes, maybe inside ``Event.wait`` before that lets go
    of the event's lock: an ``Event.set`` in the handler then waited for that lock forever (a scheduler once
    ignored SIGTERM this way). Run in a child process, so a hang is a failed test, not a stuck suite."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import os, signal\n"
        "from repository.audit.scheduler import Scheduler\n"
        "s = Scheduler([])\n"
        "s._install()\n"
        "with s.stop_event._cond:  # held, as inside Event.wait before it sleeps\n"
        "    os.kill(os.getpid(), signal.SIGTERM)  # the handler runs in this thread, the lock held\n"
        "    sum(range(100_000))\n"
        "assert s.stop_event.wait(10) and s.signal == signal.SIGTERM\n"
        "print('stopped')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0 and done.stdout.strip() == "stopped", done.stderr


def test_stop_from_another_thread_wakes_the_sleeping_loop():
    from repository.audit.scheduler import SystemClock

    scheduler = Scheduler([Job("never", CronSchedule.parse("0 0 1 1 *"), lambda w, s: None)], clock=SystemClock())
    timer = threading.Timer(0.05, scheduler.stop)
    timer.start()
    assert scheduler.run(install_signals=False) == []


def test_the_standard_jobs_need_a_repository_home(tmp_path):
    with pytest.raises(ConfigError, match="is not a repository home"):
        standard_jobs(tmp_path / "nowhere")


def test_a_scheduler_with_nothing_scheduled_is_refused(tmp_path):
    (tmp_path / "hsar.toml").write_text('[scheduler]\naudit = ""\nreplicate = " "\n', "utf-8")
    with pytest.raises(ConfigError) as raised:
        standard_jobs(tmp_path)
    assert raised.value.code == "CONFIG"
    assert "没有要运行的定时任务" in raised.value.render("zh") and "all empty: there is no job to run" in str(raised.value)
    (tmp_path / "hsar.toml").write_text('[scheduler]\naudit = ""\n', "utf-8")
    assert [job.name for job in standard_jobs(tmp_path)] == ["replicate"]
