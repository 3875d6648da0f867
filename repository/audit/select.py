"""Which archives an audit checks: all, by id, a random sample, or the share that is due (``--due``).

``--due`` spreads the audit over ``audit.interval_days`` (DA/T 70-2018 stage BC: archived material is
inspected on a schedule): an archive is *eligible* once it is within half a scheduler period of its interval
(never-checked archives first, then oldest-checked), and a run takes eligible archives in that order up to
``audit.budget_bytes`` (0: the whole store's bytes times period / interval, plus 10 % headroom), always at
least one. Run on the ``scheduler.audit`` schedule, every archive is then checked once per interval, the
work is spread evenly, and archives left past their interval are counted (AUD023) so the budget can be raised.
When an archive was last checked, and how many bytes that read, comes from the catalogue (a cache: without
it every archive looks never-checked and the cycle simply starts again).

The catalogue is opened on a thread (:class:`CatalogOpener`) while storage is listed and hashed; it also
names archives no copy holds any more (:func:`catalogued_only`), which the audit then reports missing.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ..codes import Issue, issue
from ..divisions import NATIONAL
from ..errors import HsarError, UsageError
from ..messages import Text
from ..preservation.copies import Copy, printable, read_small
from ..preservation.ids import archive_key, object_id
from ..preservation.ocfl_inventory import INVENTORY
from ..preservation.ocfl_layout import walk

if TYPE_CHECKING:
    from ..catalog.audits_sqlite import AuditCatalogue
    from ..config import Config
    from ..home import Repository

_CONTENT = re.compile(r"v[1-9][0-9]*/content/")
MODES = ("due", "all", "archive", "sample")
HEADROOM = 1.1


@dataclass(frozen=True)
class Selection:
    """Which archives to check: ``due`` (scheduled share), ``all``, ``archive`` (by id) or ``sample`` (N random)."""

    mode: str = "due"
    archives: tuple[str, ...] = ()
    sample: int = 0
    seed: int | None = None
    repair: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UsageError(f"unknown audit selection {self.mode!r} (one of {', '.join(MODES)})")


@dataclass(frozen=True)
class DueCandidate:
    object_id: str
    size: int  # bytes a check reads (every copy)
    last_checked: datetime | None


@dataclass(frozen=True)
class DueSelection:
    object_ids: tuple[str, ...]
    budget_bytes: int
    planned_bytes: int
    eligible: int
    overdue: int  # past the interval and left for a later run


def due_selection(candidates: Iterable[DueCandidate], *, now: datetime, interval: timedelta, period: timedelta,
                  budget_bytes: int = 0) -> DueSelection:
    """This run's share of the interval: archives within half a run of their interval (never-checked ones
    first, then oldest-checked), up to the byte budget; a run always takes at least one due archive."""
    cands = list(candidates)
    period = min(max(period, timedelta(minutes=1)), interval)
    total = sum(c.size for c in cands)
    cap = budget_bytes if budget_bytes > 0 else math.ceil(total * (period / interval) * HEADROOM)
    threshold = interval - period / 2
    eligible = sorted((c for c in cands if c.last_checked is None or now - c.last_checked >= threshold),
                      key=lambda c: (c.last_checked is not None, c.last_checked or now, c.object_id))
    chosen: list[DueCandidate] = []
    used = 0
    for cand in eligible:
        if chosen and used + cand.size > cap:
            break
        chosen.append(cand)
        used += cand.size
    overdue = sum(1 for c in eligible[len(chosen):] if c.last_checked is not None and now - c.last_checked >= interval)
    return DueSelection(tuple(c.object_id for c in chosen), cap, used, len(eligible), overdue)


HIERARCHY_LIMIT = 100  # hierarchy issues listed per copy; the rest are counted in one more


def _stored_id(object_root: Path) -> str | None:
    """The id in the root inventory, else in the newest version inventory that can be read."""
    def names() -> Iterator[str]:
        yield INVENTORY
        yield from sorted((p.relative_to(object_root).as_posix() for p in object_root.glob("v*/" + INVENTORY)),
                          reverse=True)  # only when the root inventory does not name the object

    for rel in names():
        try:
            value = json.loads(read_small(object_root / rel) or b"null")["id"]
        except (ValueError, TypeError, KeyError, RecursionError):
            continue
        if isinstance(value, str):
            return value
    return None


def object_ids(copies: Iterable[Copy], catalog: AuditCatalogue | None, problems: list[Issue] | None = None
               ) -> list[str]:
    """Every object id held by any copy (read from any readable inventory) or known to the catalogue; with
    ``problems``, AUD028 for what the storage hierarchy must not hold, and for objects not where the storage
    layout puts their id."""
    ids: set[str] = set()
    for copy in copies:
        assert copy.store is not None
        found: list[Issue] = []
        for kind, path in copy.store.walk_hierarchy():
            where = printable(os.path.relpath(path, copy.store.root))
            if kind != "object":
                found.append(issue("AUD028", where, copy=copy.label, file=where, detail=Text.of(f"audit.hierarchy.{kind}")))
                continue
            oid = _stored_id(path)
            if oid is None:
                continue  # an object whose inventories are all unreadable: its own audit reports them
            ids.add(oid)
            expected = copy.store.object_root(oid)
            if expected != path:
                detail = Text.of("audit.hierarchy.misplaced", object=oid,
                                 expected=os.path.relpath(expected, copy.store.root))
                found.append(issue("AUD028", where, copy=copy.label, file=where, detail=detail))
        if problems is not None:
            problems += found[:HIERARCHY_LIMIT]
            if len(found) > HIERARCHY_LIMIT:
                more = Text.of("audit.hierarchy.more", count=len(found) - HIERARCHY_LIMIT)
                problems.append(issue("AUD028", "", copy=copy.label, file="…", detail=more))
    if catalog is not None:
        try:
            ids.update(object_id(a) for a in catalog.archive_ids())
        except HsarError:
            pass
    return sorted(ids)


def _stored_size(copies: dict[str, Copy], object_id: str) -> int:
    """Bytes of content files of one object in the first copy holding it (what one copy's check hashes)."""
    for copy in copies.values():
        assert copy.store is not None
        root = copy.store.object_root(object_id)
        if root.is_dir():
            return sum(os.lstat(os.path.join(d, f)).st_size for d, _dirs, files in walk(root) for f in files
                       if _CONTENT.match(os.path.relpath(os.path.join(d, f), root)))
    return 0


def _due(ids: list[str], copies: dict[str, Copy], catalog: AuditCatalogue | None, cfg: Config, now: datetime
         ) -> tuple[list[str], list[Issue]]:
    from ..cron import CronSchedule

    seen = catalog.last_checked() if catalog is not None else {}
    cands = []
    for oid in ids:
        when, size = seen.get(archive_key(oid), (None, 0))
        cands.append(DueCandidate(oid, size or _stored_size(copies, oid) * len(copies), when))
    schedule = str(cfg["scheduler.audit"]).strip()
    period = CronSchedule.parse(schedule).period(now) if schedule else timedelta(days=1)
    chosen = due_selection(cands, now=now, interval=timedelta(days=cfg["audit.interval_days"]),
                           period=period, budget_bytes=cfg["audit.budget_bytes"])
    issues = [issue("AUD023", count=chosen.overdue)] if chosen.overdue else []
    deferred = chosen.eligible - len(chosen.object_ids) - chosen.overdue
    if deferred > 0:
        issues.append(issue("AUD027", count=deferred))
    return list(chosen.object_ids), issues


def select(selection: Selection, copies: dict[str, Copy], catalog: AuditCatalogue | None, cfg: Config, now: datetime
           ) -> tuple[list[str], list[Issue]]:
    """The object ids to check, in order, and run-level issues (AUD023, AUD027; AUD028 when the whole store is
    in view: ``all`` and ``due``)."""
    hierarchy: list[Issue] = []
    ids = object_ids(copies.values(), catalog, hierarchy)
    if selection.mode == "all":
        return ids, hierarchy
    if selection.mode == "sample":
        return sorted(random.Random(selection.seed).sample(ids, min(selection.sample, len(ids)))), []
    if selection.mode == "archive":
        known, chosen = set(ids), []
        for name in selection.archives:
            hit = name if name in known else object_id(name) if object_id(name) in known else None
            if hit is None:
                raise UsageError(msgid="audit.no_such_archive", name=repr(name))
            if hit not in chosen:  # named twice, or by its id and by its object id
                chosen.append(hit)
        return chosen, []
    due, issues = _due(ids, copies, catalog, cfg, now)
    return due, hierarchy + issues


def run_scope(selection: Selection, ids: Iterable[str], catalog: AuditCatalogue | None) -> str:
    """The division a run of ``selection`` over the object ids ``ids`` is confined to, which its report records
    (:func:`repository.access.may_read_report`): for archives named (``archive``: ``hsar audit --archive``, the
    audit page's job), the narrowest division covering them all; :data:`NATIONAL` for a run over the whole store
    (``due``, ``all``: its run-level issues count and name archives of every division) or a random sample, and
    whenever a division cannot be read (no catalogue, an archive it does not know)."""
    if selection.mode != "archive" or catalog is None:
        return NATIONAL
    from ..access import covering_scope  # (not at hsar audit's start: it imports repository.model)

    keys = [archive_key(i) for i in ids]
    try:
        divisions = catalog.divisions_of(keys)
    except HsarError:
        return NATIONAL
    if not keys or any(k not in divisions for k in keys):
        return NATIONAL
    return covering_scope(divisions[k] for k in keys)


def open_catalog(repo: Repository, failures: list[str]) -> AuditCatalogue | None:
    """The repository's catalogue as the audit asks it (:mod:`repository.catalog.audits_sqlite`), or None with
    the reason in ``failures`` when it cannot be opened (results then go to the audit log only, and the run
    reports AUD029). The home's own SQLite file is asked with ``sqlite3`` (no SQLAlchemy import at every audit
    start); any other catalogue, or a read-only home's, through :attr:`Repository.catalog`. Close it after use."""
    try:
        if not repo.cfg["catalog.url"] and not repo.read_only:
            from ..catalog.audits_sqlite import open_sqlite

            return open_sqlite(repo.cfg.catalog_url, repo.home)
        from ..catalog.audits import CatalogAudits

        return CatalogAudits(repo.catalog)
    except HsarError as exc:
        failures.append(str(exc))
        return None


def catalogued_only(catalog: AuditCatalogue | None, held: list[str]) -> list[str]:
    """Archives the catalogue knows that no copy holds (each is then reported missing), sorted."""
    known = set(held)
    return [oid for oid in object_ids((), catalog) if oid not in known]


class CatalogOpener(threading.Thread):
    """Opens the catalogue (:func:`open_catalog`; through SQLAlchemy, whose import takes a quarter of a
    second, unless it is the home's own SQLite file) while the store is listed and the first files are
    hashed; :meth:`result` waits for it and re-raises what it could not handle."""

    def __init__(self, repo: Repository) -> None:
        super().__init__(name="hsar-audit-catalog", daemon=True)
        self.repo = repo
        self.failures: list[str] = []  # why the catalogue could not be opened
        self._value: AuditCatalogue | None = None
        self._error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self._value = open_catalog(self.repo, self.failures)
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that asks for the catalogue
            self._error = exc

    def result(self) -> AuditCatalogue | None:
        self.join()
        if self._error is not None:
            raise self._error
        return self._value

    def close(self) -> None:
        """Wait for the opening, then close what it opened (nothing to close when it failed)."""
        self.join()
        if self._value is not None:
            self._value.close()
            self._value = None
