"""Use-cases of regular inspection (定期检查): an audit run, replication to the replicas, the scheduler.

An audit re-hashes every copy, verifies version signatures and repairs from good copies
(:mod:`repository.audit.run`); replication copies new versions to every replica root
(:mod:`repository.preservation.replica`); the scheduler runs both on their cron schedules
(:mod:`repository.audit.scheduler`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..audit.result import AuditRun
from ..audit.run import Progress, Selection, run_audit
from ..errors import UsageError
from ..home import Repository
from ..preservation.replica import ReplicationResult
from ..preservation.replica import replicate as replicate_copies

if TYPE_CHECKING:  # the scheduler (with the cron parser) is imported by the scheduler's use-cases only
    from ..audit.scheduler import JobRun, Scheduler

MODES = ("due", "all", "archive", "sample")


def selection(modes: Sequence[str], archives: Sequence[str] = (), sample: int | None = None, *,
              repair: bool = True) -> Selection:
    """The one selection asked for (``due`` when none is); UsageError when two are given.

    ``modes`` names the flag-like modes given (``due``, ``all``); ``archives`` and ``sample`` add theirs.
    """
    chosen = [*modes, *(["archive"] if archives else []), *(["sample"] if sample is not None else [])]
    if len(chosen) > 1:
        given = " ".join(f"--{m}" for m in chosen)
        raise UsageError(msgid="services.one_selection", given=given)
    return Selection(chosen[0] if chosen else "due", tuple(archives), sample or 0, repair=repair)


def audit(repo: Repository, chosen: Selection, *, now: datetime | None = None, progress: Progress | None = None,
          stop: threading.Event | None = None) -> AuditRun:
    """Check (and repair) the selected archives; alerts and the JSON and HTML reports follow a run."""
    return run_audit(repo, chosen, now=now or datetime.now(UTC), progress=progress, stop=stop)


def replicate(repo: Repository, *, now: datetime | None = None) -> ReplicationResult:
    """Copy new versions to every replica (``storage.replicas``)."""
    return replicate_copies(repo, now=now or datetime.now(UTC))


def scheduler(home: Path, *, on_run: Callable[[JobRun], None] | None = None) -> Scheduler:
    """The scheduler of the home's periodic jobs (ConfigError: not a home, a bad schedule, nothing scheduled).

    Its ``upcoming()`` says when each job runs next; ``run(on_start=...)`` runs them until stopped.
    """
    from ..audit import scheduler as scheduling
    from .paper_stored import scheduled_refresh

    more = (("paper", "scheduler.paper", scheduled_refresh(home)),)
    return scheduling.Scheduler(scheduling.standard_jobs(home, more), on_run=on_run)  # looked up when called: tests replace it


def next_runs(home: Path) -> dict[str, datetime]:
    """When each scheduled job of the home runs next."""
    return scheduler(home).upcoming()
