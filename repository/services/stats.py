"""Use-cases: the statistics of the catalogue as tables (divisions named and rolled up the division tree) and
the audit overview (recent runs, failures, what is due, the log's state, reports), within a division scope.

``prefixes`` are :func:`repository.access.scope_prefixes` of the user: nothing outside them is ever counted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from pathlib import Path

from .. import access
from ..catalog import statistics as figures_of
from ..catalog.statistics import AuditRun
from ..divisions import DivisionTree, tree_for
from ..home import Repository
from ..preservation.auditlog import LogVerification
from . import auditlog
from . import census as counts
from .replicas import ReplicaState, replica_states

#: the tables of the statistics page, in page order
TABLES = ("division", "type", "security", "status", "year", "class", "paper", "digitised", "formats")
REPORT_SUFFIXES = (".json", ".html")


@dataclass(frozen=True)
class StatRow:
    value: str  # the raw value (a division code, a type code, a PUID ...)
    name: str  # a division's name or a format's name; '' otherwise (the page labels the value)
    numbers: tuple[int, ...]
    depth: int = 0  # a division's depth below the top shown


@dataclass(frozen=True)
class StatTable:
    key: str  # one of TABLES
    columns: tuple[str, ...]  # what the numbers are: archives, items, files, bytes
    rows: tuple[StatRow, ...]


def _simple(key: str, archives: dict[str, int], items: dict[str, int]) -> StatTable:
    values = sorted(set(archives) | set(items))
    return StatTable(key, ("archives", "items"),
                     tuple(StatRow(v, "", (archives.get(v, 0), items.get(v, 0))) for v in values))


def rolled_up(counts: dict[str, int], tree: DivisionTree, prefixes: Sequence[str]) -> dict[str, int]:
    """Each division's count with everything below it; only divisions inside the scope's prefixes."""
    total: dict[str, int] = {}
    for code, n in counts.items():
        for node in tree.ancestors(code) or [code]:
            if any(node.startswith(p) for p in prefixes):
                total[node] = total.get(node, 0) + n
    return total


def _divisions(archives: dict[str, int], items: dict[str, int], tree: DivisionTree,
               prefixes: Sequence[str]) -> StatTable:
    up_a, up_i = rolled_up(archives, tree, prefixes), rolled_up(items, tree, prefixes)
    codes = sorted(set(up_a) | set(up_i), key=lambda c: tree.ancestors(c) or [c])
    top = min((len(tree.ancestors(c)) for c in codes), default=0)
    rows = []
    for code in codes:
        known = tree.get(code)
        rows.append(StatRow(code, known.name if known else code, (up_a.get(code, 0), up_i.get(code, 0)),
                            max(0, len(tree.ancestors(code)) - top)))
    return StatTable("division", ("archives", "items"), tuple(rows))


def census(repo: Repository) -> figures_of.Census:
    """The catalogue's census, counted again only when the catalogue (or the paper register) has changed
    since: one census per process serves every user and scope (:mod:`.census`); waits for a recount."""
    counted = counts.latest(repo, wait=None).counted
    assert counted is not None  # noqa: S101 - latest(wait=None) returns a count or raises
    return counted.census


def statistics(repo: Repository, prefixes: Sequence[str],
               found_census: figures_of.Census | None = None) -> dict[str, StatTable]:
    """Every table of :data:`TABLES` within ``prefixes`` (an empty list counts nothing), from
    ``found_census`` (default: :func:`census`, waiting for a recount)."""
    found = (found_census or census(repo)).scoped(prefixes)
    tree = tree_for(repo.cfg)
    by = found.by
    tables = {"division": _divisions(by["division"].archives, by["division"].items, tree, prefixes)}
    for key in ("type", "security", "status", "year"):
        tables[key] = _simple(key, by[key].archives, by[key].items)
    tables["class"] = StatTable("class", ("items",),
                                tuple(StatRow(k, "", (n,)) for k, n in sorted(found.classes.items())))
    for key in ("paper", "digitised"):
        yes, no = found.coverage[key]
        tables[key] = StatTable(key, ("items",), (StatRow("with", "", (yes,)), StatRow("without", "", (no,))))
    tables["formats"] = StatTable("formats", ("files", "bytes"),
                                  tuple(StatRow(f.puid, f.name, (f.files, f.bytes)) for f in found.formats))
    return tables


@dataclass(frozen=True)
class DueArchive:
    archive_id: str
    last_checked: datetime | None  # None: never audited


@dataclass(frozen=True)
class AuditOverview:
    runs: list[AuditRun]
    failures: list[AuditRun]  # failed (or could not finish): the newest, in scope
    repairs: list[AuditRun]  # repaired from a replica (or its damage quarantined): the newest, in scope
    due: list[DueArchive]  # the first ``due_shown``: never audited, then the longest unchecked
    due_total: int
    interval_days: int
    log: LogVerification
    reports: list[str]  # report file names in reports/, newest first
    replicas: list[ReplicaState]  # storage.replicas, read only
    national: bool = True  # False: the reader is below the national scope, and is shown no count of the whole
    # repository (the log's entries, a replica's copies)


def _due(repo: Repository, prefixes: Sequence[str], now: datetime, limit: int) -> tuple[int, list[DueArchive], int]:
    days = int(repo.cfg["audit.interval_days"])
    total, shown = figures_of.due_archives(repo.catalog, prefixes, now - timedelta(days=days), limit=limit)
    return total, [DueArchive(i, when) for i, when in shown], days


def report_scope(path: Path) -> str | None:
    """The division the run of the report ``path`` (``.json`` or ``.html``) recorded as its scope, read from
    the JSON twin (``scope``, :attr:`repository.audit.result.AuditRun.scope`); None when it records none (a
    report written before runs recorded it) or cannot be read."""
    twin = path.with_suffix(".json")
    try:
        stat = twin.stat()
    except OSError:
        return None
    return _scope_of(str(twin), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4096)
def _scope_of(twin: str, _mtime_ns: int, _size: int) -> str | None:
    """:func:`report_scope` of the JSON file ``twin`` as it is (a report is written once: read once per process)."""
    try:
        data = json.loads(Path(twin).read_text("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    scope = data.get("scope") if isinstance(data, dict) else None
    return scope if isinstance(scope, str) else None


def report_names(repo: Repository, reader: access.Principal) -> list[str]:
    """The audit report files (``audit-*.json`` / ``.html``) in the home's reports/ that are for ``reader``
    (:func:`repository.access.may_read_report`: below the national scope, those of runs confined to a division
    within it), newest first."""
    folder: Path = repo.paths.reports
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_file() and p.name.startswith("audit-")
             and p.suffix in REPORT_SUFFIXES and access.may_read_report(reader, partial(report_scope, p))]
    return [p.name for p in sorted(found, key=lambda p: (p.stat().st_mtime, p.name), reverse=True)]


def report_file(repo: Repository, name: str, reader: access.Principal) -> Path | None:
    """The report ``name`` of reports/ if it is listed for ``reader`` (a bare listed name only)."""
    return repo.paths.reports / name if name in report_names(repo, reader) else None


def audit_overview(repo: Repository, reader: access.Principal, *, due_shown: int,
                   now: datetime | None = None) -> AuditOverview:
    """The audit page's figures for ``reader``, within their division scope; ``due`` lists the first
    ``due_shown`` archives due, ``due_total`` counts all; ``reports`` those :func:`report_names` gives them."""
    prefixes = access.scope_prefixes(reader)
    due_total, due, days = _due(repo, prefixes, now or datetime.now(UTC), due_shown)
    runs = partial(figures_of.recent_runs, repo.catalog, prefixes, limit=30)
    return AuditOverview(runs(), runs(results=figures_of.FAILED_RESULTS), runs(results=figures_of.REPAIRED_RESULTS),
                         due, due_total, days, auditlog.verified(repo), report_names(repo, reader),
                         replica_states(repo), access.national(reader))
