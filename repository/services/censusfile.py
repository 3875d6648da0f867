"""The statistics census shared by every process of a home: a result file in the home's cache folder.

Each ``hsar serve`` process used to count the census itself (:mod:`.census`; seconds of CPU at 200,000
archives, each process competing with the searches after a start). Now the first process to need a count at
the current marks of the catalogue and the paper register counts it and writes it to ``cache/census.json``
(:data:`~repository.home.layout.LAYOUT`), atomically (a temporary file renamed over it); the others read it.
An exclusive ``flock`` on ``cache/.census.lock`` is held while counting, so one process counts while the
others' background threads wait for it (their pages meanwhile show the previous figures, as before) and then
find the file at the marks they want.

The file is a cache like the catalogue itself: it is used only when it names this catalogue (its URL, without
a password) and the marks read now; a missing, damaged, foreign or stale file is counted again and replaced;
deleting it loses nothing. A file that cannot be written (a read-only cache folder) leaves the count to this
process alone.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..catalog.statistics import Census
from ..home import Repository
from ..preservation.ocfl_layout import replace_atomic
from ..safeurl import safe_url
from .paper import CoverageCounts

FORMAT = 1  # the file's layout; a file of another is counted again


@dataclass(frozen=True)
class Shared:
    """A census with what it was counted at: read from the file, or counted here (and written)."""

    census: Census
    coverage: CoverageCounts
    marks: tuple[object, ...]
    at: datetime
    counted_here: bool  # False: read from the file another process (or an earlier count) wrote


def _plain(value: object) -> object:
    if isinstance(value, Decimal):  # PostgreSQL's sums: whole numbers
        return int(value)
    return value


def _rows(rows: list[tuple[Any, ...]]) -> list[list[object]]:
    return [[_plain(v) for v in row] for row in rows]


def _marks(value: object) -> tuple[object, ...]:
    return tuple(value) if isinstance(value, list) else ()


def _read(path: Path, catalog: str, marks: tuple[object, ...]) -> Shared | None:
    """The file's census if it is whole, of this catalogue and at ``marks``; else None."""
    try:
        data = json.loads(path.read_text("utf-8"))
        if data.get("format") != FORMAT or data.get("catalog") != catalog or _marks(data.get("marks")) != marks:
            return None
        census = Census([tuple(r) for r in data["archive_rows"]], [tuple(r) for r in data["item_rows"]],
                        [tuple(r) for r in data["format_rows"]])
        coverage = CoverageCounts({d: (int(n), int(k)) for d, (n, k) in data["paper"].items()},
                                  {d: (int(n), int(k)) for d, (n, k) in data["electronic"].items()})
        return Shared(census, coverage, marks, datetime.fromisoformat(data["at"]), counted_here=False)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):  # missing or damaged: count again
        return None


def _write(path: Path, catalog: str, found: Shared) -> None:
    """Replace the file with ``found`` (a temporary file beside it, renamed over it); a failure is ignored."""
    data = {"format": FORMAT, "catalog": catalog, "marks": list(found.marks), "at": found.at.isoformat(),
            "archive_rows": _rows(found.census.archive_rows), "item_rows": _rows(found.census.item_rows),
            "format_rows": _rows(found.census.format_rows),
            "paper": {d: list(v) for d, v in found.coverage.paper.items()},
            "electronic": {d: list(v) for d, v in found.coverage.electronic.items()}}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_atomic(path, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    except (OSError, TypeError, ValueError):  # a cache that cannot be written: this process keeps its count
        return


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """The census lock, waited for (held by a process counting); without one when it cannot be made."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+b")  # noqa: SIM115 - held until the count is written
    except OSError:
        yield
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        handle.close()  # releases the lock


def shared_count(repo: Repository, marks: Callable[[], tuple[object, ...]],
                 count: Callable[[], tuple[Census, CoverageCounts, tuple[object, ...], datetime]]) -> Shared:
    """The census at the current marks: from the file when it is there (after waiting for a process that is
    counting), else ``count()`` (which returns the census, the coverage, the marks read before counting and
    when it began), written to the file for the other processes."""
    paths = repo.paths
    catalog = safe_url(repo.catalog.url)
    found = _read(paths.census_cache, catalog, marks())
    if found is not None:
        return found
    with _locked(paths.census_lock):
        found = _read(paths.census_cache, catalog, marks())  # counted by another process while we waited
        if found is not None:
            return found
        census, coverage, before, at = count()
        counted = Shared(census, coverage, before, at, counted_here=True)
        _write(paths.census_cache, catalog, counted)
        return counted
