"""The statistics page's counts, kept per process and recounted in the background: a page never waits for
a count longer than :data:`WAIT_SECONDS`.

One census of the catalogue (:func:`repository.catalog.statistics.census`) and one count of the dual-track
coverage (:func:`repository.services.paper.coverage_counts`), both by division, serve every user and scope.
They are reused while the marks of the catalogue and of the paper register are unchanged. When a mark has
moved (an ingest, a disposal, a register import), the first request starts a recount in a background thread
(one per catalogue at a time) and waits for it at most ``wait`` seconds; if the recount is not done by then
it gets the previous counts, marked not fresh, with the time they were counted (the page says so), or
nothing when there are none yet (the first count after ``hsar serve`` starts, which the server begins at
once). At 200,000 archives a count takes seconds: paying it inside a request would break the page's goal.

A count is shared by every process of the home (:mod:`.censusfile`): the first to need one at the current
marks counts it, under a file lock, and writes it to the home's cache folder; the others read it from there.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from ..catalog import statistics as figures_of
from ..home import Repository
from ..state.db import State, open_state
from ..state.paper import register_mark
from .censusfile import shared_count
from .paper import CoverageCounts, coverage_counts

#: how long a page waits for a recount before it shows the previous counts
WAIT_SECONDS = 0.15


@dataclass(frozen=True)
class Counted:
    census: figures_of.Census
    coverage: CoverageCounts
    marks: tuple[object, ...]  # the catalogue's and the register's marks when counting began
    at: datetime  # when counting began


@dataclass(frozen=True)
class Answer:
    counted: Counted | None  # None: nothing counted yet
    fresh: bool  # counted at the current marks


_DONE: dict[str, Counted] = {}  # catalogue URL -> the newest count
_RUNNING: dict[str, threading.Thread] = {}
_FAILED: dict[str, BaseException] = {}
_LOCK = threading.Lock()


_STATES: dict[str, State] = {}  # state URL -> the database, opened once per process (opening checks its schema)


def marks(repo: Repository) -> tuple[object, ...]:
    url = repo.cfg.state_url
    state = _STATES.get(url)
    if state is None:
        with _LOCK:
            state = _STATES.get(url) or _STATES.setdefault(url, open_state(url))
    return (*figures_of.change_mark(repo.catalog), *register_mark(state))


def _counted_now(repo: Repository) -> tuple[figures_of.Census, CoverageCounts, tuple[object, ...], datetime]:
    at, before = datetime.now(UTC), marks(repo)
    return figures_of.census(repo.catalog), coverage_counts(repo), before, at


def _count(repo: Repository, url: str) -> None:
    try:
        found = shared_count(repo, lambda: marks(repo), lambda: _counted_now(repo))
        found.census.scoped(None)  # its per-division sums made here, not by the first page that asks (0.25 s)
        counted = Counted(found.census, found.coverage, found.marks, found.at)
        with _LOCK:  # kept with the marks from before counting: a change meanwhile makes it stale at once
            _DONE[url] = counted
            _FAILED.pop(url, None)
    except BaseException as exc:  # noqa: BLE001 - reported to whoever waits for this count
        with _LOCK:
            _FAILED[url] = exc
    finally:
        with _LOCK:
            _RUNNING.pop(url, None)


def latest(repo: Repository, wait: float | None = WAIT_SECONDS) -> Answer:
    """The counts for ``repo``'s catalogue now: fresh if they are at the current marks (after waiting at
    most ``wait`` seconds, None: until done, for a recount); else the previous ones, or none."""
    url = repo.catalog.url
    now = marks(repo)
    found = _DONE.get(url)
    if found is not None and found.marks == now:
        return Answer(found, True)
    with _LOCK:
        thread = _RUNNING.get(url)
        if thread is None:
            thread = _RUNNING[url] = threading.Thread(target=_count, args=(repo, url), name="hsar-census",
                                                      daemon=True)
            thread.start()
    thread.join(wait)
    found = _DONE.get(url)
    if found is None and not thread.is_alive() and url in _FAILED:
        raise _FAILED[url]
    return Answer(found, found is not None and found.marks == now)
