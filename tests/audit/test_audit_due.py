"""``--due`` spreads the work over the interval: with a fake clock, repeated daily runs check every archive
once per interval, within the byte budget; archives left past their interval are reported (AUD023)."""

from __future__ import annotations

import shutil
import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from repository.audit.run import DueCandidate, Selection, due_selection, run_audit
from repository.audit.scheduler import Scheduler, standard_jobs
from repository.home import Repository
from repository.preservation.ocfl import OcflStore

START = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
NAMES = [f"urn:hsar:archive:HH-{n:03d}" for n in range(1, 7)]


@pytest.fixture
def six(tmp_path, pki_homes, factory, toml_writer):
    """A home of six archives of equal size, no replica."""
    home = tmp_path / "six"
    home.mkdir()
    shutil.copytree(pki_homes[0] / "keys", home / "keys")
    toml_writer(home, replicas=(), audit={"interval_days": 6}, scheduler={"audit": "0 2 * * *"})
    store = OcflStore.init(home / "storage")
    for n, name in enumerate(NAMES):
        factory.add(store, home / "staging", name, {"data/a.pdf": bytes([n]) * 4000, "data/b.pdf": bytes([n]) * 9000})
    with Repository.open(home) as repo:
        repo.create_catalog()  # as `hsar init` does: opening a home never creates its catalogue
    return home


def rewrite_budget(home, **audit) -> None:
    lines = ["[storage]", "replicas = []", "[scheduler]", 'audit = "0 2 * * *"', "[audit]"]
    lines += [f"{k} = {v}" for k, v in {"interval_days": 6, **audit}.items()]
    (home / "hsar.toml").write_text("\n".join(lines) + "\n", "utf-8")


def daily_runs(home, days: int) -> list[list[str]]:
    checked = []
    for day in range(days):
        with Repository.open(home) as repo:
            run = run_audit(repo, Selection("due"), now=START + timedelta(days=day), alert=False, report=False)
        assert run.ok
        checked.append([a.object_id for a in run.archives])
    return checked


def check_once_per_interval(checked: list[list[str]], interval: int = 6) -> None:
    when = defaultdict(list)
    for day, ids in enumerate(checked):
        for object_id in ids:
            when[object_id].append(day)
    assert set(when) == set(NAMES)
    for days in when.values():
        assert days[0] < interval and all(b - a == interval for a, b in zip(days, days[1:], strict=False)), when
        assert len(days) == len(checked) // interval
    for start in range(0, len(checked) - interval + 1):
        window = [i for ids in checked[start:start + interval] for i in ids]
        assert sorted(window) == sorted(NAMES)  # every archive exactly once in any interval-long span


def test_even_share_checks_each_archive_once_per_interval(six):
    checked = daily_runs(six, 18)
    assert [len(ids) for ids in checked] == [1] * 18  # the store's bytes spread evenly over the interval
    check_once_per_interval(checked)


def content_bytes(home) -> int:
    root = OcflStore(home / "storage").object_root(NAMES[0])
    return sum(p.stat().st_size for p in root.glob("v*/content/**/*") if p.is_file())


def test_byte_budget_is_respected_and_nothing_is_checked_twice(six):
    rewrite_budget(six, budget_bytes=int(content_bytes(six) * 2.5))
    checked = daily_runs(six, 12)
    assert [len(ids) for ids in checked[:6]] == [2, 2, 2, 0, 0, 0]
    check_once_per_interval(checked)


def test_a_budget_too_small_reports_overdue_archives(six):
    rewrite_budget(six, interval_days=2, budget_bytes=1)
    with Repository.open(six) as repo:
        runs = [run_audit(repo, Selection("due"), now=START + timedelta(days=d), alert=False, report=False)
                for d in range(4)]
    assert [len(r.archives) for r in runs] == [1, 1, 1, 1]
    issues = [[(i.code, dict(i.params)["count"]) for i in r.issues] for r in runs]
    assert issues[:3] == [[("AUD027", "5")], [("AUD027", "4")], [("AUD027", "4")]]  # due, left for later runs
    assert issues[3] == [("AUD023", "1"), ("AUD027", "3")] and runs[3].ok  # a warning: what was checked is intact


def test_due_selection_orders_oldest_first_and_always_takes_one():
    now = START
    cands = [DueCandidate("a", 100, now - timedelta(days=100)), DueCandidate("b", 100, None),
             DueCandidate("c", 100, now - timedelta(days=95)), DueCandidate("d", 100, now - timedelta(days=1))]
    chosen = due_selection(cands, now=now, interval=timedelta(days=90), period=timedelta(days=1), budget_bytes=250)
    assert chosen.object_ids == ("b", "a") and chosen.eligible == 3 and chosen.overdue == 1
    huge = due_selection([DueCandidate("x", 10**12, None)], now=now, interval=timedelta(days=90),
                         period=timedelta(days=1), budget_bytes=1)
    assert huge.object_ids == ("x",)


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.moment = start

    def now(self) -> datetime:
        return self.moment

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        self.moment += timedelta(seconds=seconds)


def test_the_scheduler_runs_the_due_audit_on_its_schedule(six):
    rewrite_budget(six)
    clock = FakeClock(datetime(2025, 3, 1, 0, 0, tzinfo=UTC))
    runs = Scheduler(standard_jobs(six), clock=clock).run(max_runs=4, install_signals=False)
    assert [(r.job, r.scheduled.strftime("%d %H:%M")) for r in runs] == [
        ("replicate", "01 01:30"), ("audit", "01 02:00"), ("replicate", "02 01:30"), ("audit", "02 02:00")]
    assert all(r.ok for r in runs), [r.error for r in runs]
    audits = [r.result for r in runs if r.job == "audit"]
    assert [a.archives[0].object_id for a in audits] == NAMES[:2]
