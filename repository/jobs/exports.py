"""How long the outputs of export jobs are kept (导出包保留期限): ``exports/<job id>/`` of the home.

An export job of the web (移交, :func:`repository.jobs.tasks.run_export`) leaves its transfer packages, their
zips and the transfer list under ``exports/<job id>/`` for download, and an access-copy job (利用副本,
:func:`repository.jobs.tasks.run_access_copy`) its zip. They are copies of what the store holds, of archives of
households: kept ``transfer.keep_exports_days`` days after the job ended (0 keeps them for
ever), then removed by :func:`prune_exports`, which the worker runs when it starts, at every sweep, and each
export job before it starts.

Only what can be attributed is removed: a folder named by the id of an export job recorded in the state
database whose job has ended (``done`` or ``failed``) before the cut-off. A queued or running job's folder
(one submitted again is queued again under its id) and a folder no job record names are never touched. A
folder is first renamed out of the way (``exports/.expired-<id>``) and then deleted, so the job's own path
is free at once and a removal cut short is finished by the next pass.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

from ..config import Config
from ..home.layout import HomePaths
from .records import JobRecords

EXPIRED = ".expired-"
OUTPUT_KINDS = ("export", "access-copy")  # the kinds of job that leave files under exports/<job id>/


def _expired(records: JobRecords, name: str, cutoff: datetime) -> bool:
    job = records.get(name)
    return (job is not None and job.kind in OUTPUT_KINDS and job.finished and job.finished_at is not None
            and job.finished_at < cutoff)


def prune_exports(cfg: Config, records: JobRecords, *, now: datetime | None = None) -> list[str]:
    """Remove the outputs of export jobs ended more than ``transfer.keep_exports_days`` days before ``now``;
    the ids of the jobs whose output was removed."""
    days = int(cfg["transfer.keep_exports_days"])
    root = HomePaths.of(cfg.home, cfg).exports
    if not root.is_dir():
        return []
    for left in root.glob(f"{EXPIRED}*"):  # a removal cut short
        shutil.rmtree(left, ignore_errors=True)
    if days == 0:
        return []
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    removed = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not _expired(records, folder.name, cutoff):
            continue
        aside = folder.with_name(f"{EXPIRED}{folder.name}")
        try:
            folder.rename(aside)
        except OSError:
            continue
        if not _expired(records, folder.name, cutoff):  # submitted again meanwhile: its output stays
            try:
                aside.rename(folder)
            except OSError:  # the new run has made its folder again: this older output goes
                shutil.rmtree(aside, ignore_errors=True)
            continue
        shutil.rmtree(aside, ignore_errors=True)
        removed.append(folder.name)
    return removed

