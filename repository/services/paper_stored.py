"""Use-cases of the stored reconciliation (双轨制核对结果): start the ``paper`` job, and read the result it
stored within a user's division scope, one page of findings at a time, or all of them as CSV, streamed.

The job reconciles the whole repository once (:func:`repository.paper.stored.reconcile_and_store`); every
reader's scope is a filter of that one result (``prefixes`` of :func:`repository.access.scope_prefixes`): a
finding outside it is neither shown nor counted, and a register row whose archive the catalogue does not
know belongs to no division (the national scope alone sees it). A second start while a reconciliation is
queued or running is that job, not another.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..catalog.statistics import change_mark
from ..cells import safe_row
from ..config import Config
from ..divisions import DivisionTree
from ..home import Repository
from ..jobs import Job, JobQueue
from ..paper.compute import CODES, in_scope
from ..paper.stored import Made, open_stored, reconcile_and_store
from ..state.db import open_state
from ..state.paper import register_mark
from .paper import CSV_FIELDS, DivisionCounts, rolled_up_counts

KIND = "paper"
PER_PAGE = 100


@dataclass(frozen=True)
class StoredPage:
    """What the ``/paper`` page shows of the latest stored result within one scope."""

    made: Made
    stale_since: datetime | None  # the register's import after the result was made (None: not stale)
    catalogue_changed: bool  # archives recorded, supplemented or removed since the result was made
    divisions: tuple[DivisionCounts, ...]  # rolled up the division tree, within the scope
    totals: dict[str, int]  # per code, within the scope
    register_rows: int
    electronic_items: int
    findings: list[dict[str, Any]]  # this page's rows, messages in the reader's language
    count: int  # findings within the scope (and the division filter)
    page: int
    pages: int

    @property
    def clean(self) -> bool:
        return not any(self.totals.values())


def _marks_now(repo: Repository) -> tuple[tuple[object, ...], tuple[int, ...]]:
    """The register's and the catalogue's change marks now, to hold against those a stored result read."""
    with open_state(repo.cfg.state_url) as state:
        mark = register_mark(state)
    return tuple(mark), tuple(change_mark(repo.catalog))


def _imported_at(mark: tuple[object, ...]) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(mark[2]))
    except (IndexError, ValueError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def narrowed(prefixes: Sequence[str], division: str | None) -> list[str]:
    """The scope ``prefixes`` narrowed to ``division`` (a filter of the page) when it lies within them;
    the scope itself otherwise."""
    from ..access import scope_prefix

    if not division:
        return list(prefixes)
    prefix = scope_prefix(division)
    if prefix is None or not prefix or not in_scope(division, prefixes):
        return list(prefixes)
    return [prefix]


def stored_page(repo: Repository, prefixes: Sequence[str], tree: DivisionTree, *, page: int = 1,
                per_page: int = PER_PAGE, division: str | None = None, lang: str = "zh") -> StoredPage | None:
    """Page ``page`` of the latest stored result within ``prefixes`` (narrowed to ``division`` for the list,
    the counts stay the scope's); None when no result is stored yet."""
    stored = open_stored(repo.paths.paper_report)
    if stored is None:
        return None
    with stored:
        by_division = stored.counts(prefixes)
        register_rows, electronic_items = stored.tallies(prefixes)
        listed = narrowed(prefixes, division)
        count = sum(sum(v) for d, v in by_division.items() if in_scope(d, listed))
        pages = max(1, -(-count // per_page))
        page = min(max(1, page), pages)
        rows = [f.to_dict(lang) for f in stored.findings(listed, offset=(page - 1) * per_page, limit=per_page)]
        made = stored.made
    mark, catalogued = _marks_now(repo)
    stale = (_imported_at(mark) or made.made_at) if mark != tuple(made.register_mark) else None
    moved = bool(made.catalog_mark) and catalogued != tuple(made.catalog_mark)
    totals = {code: sum(v[n] for v in by_division.values()) for n, code in enumerate(CODES)}
    return StoredPage(made, stale, moved,
                      rolled_up_counts(by_division, tree, prefixes), totals, register_rows, electronic_items, rows,
                      count, page, pages)


def stored_csv(repo: Repository, prefixes: Sequence[str], tree: DivisionTree, lang: str = "zh"
               ) -> Iterator[str] | None:
    """Every finding of the stored result within ``prefixes`` as CSV text (a header first), a batch of lines
    at a time, read from the stored file as it is sent; None when no result is stored yet."""
    path = repo.paths.paper_report
    first = open_stored(path)
    if first is None:
        return None
    first.close()

    def lines() -> Iterator[str]:
        stored = open_stored(path)
        if stored is None:  # removed meanwhile
            return
        with stored:
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
            writer.writeheader()
            names: dict[str, str] = {}
            for n, found in enumerate(stored.findings(prefixes), 1):
                d = found.division
                if d not in names:
                    known = tree.get(d) if d else None
                    names[d] = known.name if known else ""
                writer.writerow(safe_row(found.to_dict(lang) | {"division_name": names[d]}))
                if n % 1000 == 0:
                    yield out.getvalue()
                    out.seek(0)
                    out.truncate()
            yield out.getvalue()
    return lines()


def store_now(repo: Repository, started_by: str) -> Made:
    """Reconcile and store the result now, in this process (``hsar paper reconcile --store``)."""
    return reconcile_and_store(repo, started_by=started_by)


#: why a stored result no longer answers for the repository (:func:`out_of_date`)
MISSING, REGISTER, CATALOGUE = "missing", "register", "catalogue"


def out_of_date(repo: Repository) -> str | None:
    """Why the stored result is out of date: :data:`MISSING` (none stored, or none this hsar can read),
    :data:`REGISTER` (the paper register imported again since), :data:`CATALOGUE` (archives ingested,
    supplemented or disposed of since, or a result that did not record the catalogue it read); None when it
    is current."""
    stored = open_stored(repo.paths.paper_report)
    if stored is None:
        return MISSING
    with stored:
        made = stored.made
    mark, catalogued = _marks_now(repo)
    if mark != tuple(made.register_mark):
        return REGISTER
    if not made.catalog_mark or catalogued != tuple(made.catalog_mark):
        return CATALOGUE
    return None


@dataclass(frozen=True)
class Refreshed:
    """What :func:`refresh` did: ``made`` again for ``reason``, or nothing (both None: it was current)."""

    reason: str | None
    made: Made | None

    def to_dict(self) -> dict[str, Any]:
        made = self.made
        return {"reconciled": made is not None, "reason": self.reason,
                "made_at": made.made_at.isoformat() if made else None,
                "register_rows": made.register_rows if made else None,
                "electronic_items": made.electronic_items if made else None}


def refresh(repo: Repository, started_by: str) -> Refreshed:
    """Reconcile and store the result again when it is out of date (:func:`out_of_date`); otherwise nothing
    (``hsar paper reconcile --store --when-changed``, and the scheduler's ``paper`` job)."""
    reason = out_of_date(repo)
    if reason is None:
        return Refreshed(None, None)
    return Refreshed(reason, reconcile_and_store(repo, started_by=started_by))


def scheduled_refresh(home: Path | str | None) -> Callable[[datetime, threading.Event], Refreshed]:
    """The scheduler's ``paper`` job (``scheduler.paper``): :func:`refresh` in a child process forked for the
    run (:func:`repository.jobs.forked.in_child`), the home opened afresh, so the long-running scheduler does
    not keep a large reconciliation's memory (1.7 GB at its peak at 200,000 archives, 0.5 GB kept after it in
    one process). What the child raised, or its death, is raised here (the scheduler records it as the run's
    error)."""
    from ..jobs.forked import in_child

    def work(_step: Callable[[int, int], None]) -> Refreshed:
        with Repository.open(home) as repo:
            return refresh(repo, "scheduler")

    def run(scheduled: datetime, stop: threading.Event) -> Refreshed:
        return in_child(work, name="hsar-paper-refresh")
    return run


# ------------------------------------------------------------------------------------------ the job


def latest_job(cfg: Config) -> Job | None:
    """The newest reconciliation job, whatever its state."""
    with JobQueue(cfg) as queue:
        found = queue.list(kind=KIND, limit=1)
    return found[0] if found else None


def start_job(cfg: Config, username: str) -> tuple[Job, bool]:
    """Queue a reconciliation of the whole repository: (the job, True); or, while one is queued or running,
    (that job, False). Two starts at once make one job: both carry the key of the newest job before them."""
    with JobQueue(cfg) as queue:
        found = queue.list(kind=KIND, limit=1)
        newest = found[0] if found else None
        if newest is not None and not newest.finished:
            return newest, False
        job = queue.submit(KIND, {}, user=username, dedupe_key=f"paper-after-{newest.id if newest else 'none'}")
    return job, newest is None or job.id != newest.id
