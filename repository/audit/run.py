"""The scheduled audit (定期检查, DA/T 70-2018 stage BC): re-hash every stored byte of every copy, verify every
version lock, repair from copies that verify, record PREMIS events, report and alert.

Per archive (one OCFL 1.1 object, https://ocfl.io/1.1/spec/) and per copy (the primary storage root and each
``storage.replicas`` root): the object declaration, root and version inventories and their sidecars, every
content file's sha512 against the inventory, missing and unexpected files, each version's lock (pyHanko
against ``signing.trust_roots``; the signed ``manifest-sha512.txt`` must equal the version state), and the
format policy for the PUIDs recorded in PREMIS. See :mod:`repository.preservation.copies` (what is trusted),
:mod:`.repair` (how copies are repaired) and :mod:`.replica` (catching a copy up).

Throughput: files of all selected archives stream through one pool of ``audit.workers`` hash worker
processes (``audit.hashing``; :func:`repository.fixity.iter_hash_jobs` and :mod:`repository.hashprocs`:
small files in batches, no wait for this interpreter's lock), so both cores stay busy hashing across
archive boundaries and while this process checks signatures and writes records; an archive is judged,
repaired and recorded as soon as its last file is hashed while the pool hashes the next ones. Memory is
bounded by the files in flight and one archive's listing. A large selection (many small archives: the
per-archive Python work, not hashing, sets the pace) is audited in shards by ``audit.processes`` forked
workers, recorded here (:mod:`.shards`).

``--due`` (:func:`due_selection`) spreads the work over ``audit.interval_days``: oldest-checked first, each
archive when it is within half a run of its interval, up to ``audit.budget_bytes`` per run (0: the store's
size divided evenly over the interval, with 10 % headroom) and ``audit.budget_seconds``.

Results go to the hash-chained audit log (:mod:`.auditlog`), the catalogue (:mod:`repository.catalog.audits`)
and, with :func:`run_audit`, a JSON and an HTML report in ``<home>/reports/`` and alerts
(:mod:`repository.audit.alerts`). No OCFL version is created for an audit. Nothing here prints.
"""

from __future__ import annotations

import fcntl
import os
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..codes import issue
from ..errors import PreservationError, UsageError
from ..fixity import iter_hash_jobs
from ..home import HomePaths
from ..home.disposal import pending_objects
from ..messages import Text, langs_for
from ..preservation import signing  # noqa: F401 - see below
from ..preservation.copies import (
    scan_copy,
)
from ..preservation.ocfl_layout import is_storage_root
from ..preservation.replica import open_copies
from .logcheck import verify_log
from .record import record_results
from .result import ArchiveResult, AuditRun
from .select import (
    CatalogOpener,
    DueCandidate,
    DueSelection,
    Selection,
    catalogued_only,
    due_selection,
    run_scope,
    select,
)
from .shards import audit_in_shards, use_shards
from .tombstones import tombstone_issues, without_disposed
from .work import Run, Work, finish, warm_signer_cache

if TYPE_CHECKING:
    from ..home import Repository

# ``signing`` (pyHanko, about half a second to import) is loaded with this module although only
# preservation.copies calls it: shard workers fork from this process and share it instead of each importing it,
# and the first lock check of a run does not wait for the import.

Progress = Callable[[int, int, int, str], None]  # (archives done, archives selected, bytes hashed, object id)
__all__ = ["ArchiveResult", "AuditRun", "DueCandidate", "DueSelection", "Progress", "Selection", "audit",
           "due_selection", "run_audit", "verify_log"]


class _Judge(threading.Thread):
    """Judges, repairs and records finished archives one by one while the main thread keeps the hashing
    workers fed, so signature checks and repairs never leave them idle."""

    def __init__(self, run: Run, progress: Progress | None, ids: list[str]) -> None:
        super().__init__(name="hsar-audit-judge", daemon=True)
        self.audit_run, self.progress, self.ids = run, progress, ids  # ids may still grow (see _pipeline)
        self.queue: queue.Queue[tuple[Work, int] | None] = queue.Queue(maxsize=32)
        self.results: list[ArchiveResult] = []
        self.error: BaseException | None = None
        self.abort = False

    def run(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is not None or self.abort:
                continue  # drain
            work, hashed = item
            try:
                self.results.append(finish(self.audit_run, work))
                if self.progress is not None:
                    self.progress(len(self.results), len(self.ids), hashed, work.object_id)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                self.error = exc

    def put(self, work: Work, hashed: int) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put((work, hashed))

    def finish(self, *, abort: bool = False) -> list[ArchiveResult]:
        self.abort = abort
        self.queue.put(None)
        self.join()
        if self.error is not None and not abort:
            raise self.error
        return self.results


class _Inline:
    """The judge of a shard worker: in the thread that hashes, one archive after the other. The shards are the
    parallelism there; a judging thread and hashing threads beside it only pass the interpreter lock about."""

    def __init__(self, run: Run, progress: Progress | None, ids: list[str]) -> None:
        self.audit_run, self.progress, self.ids = run, progress, ids
        self.results: list[ArchiveResult] = []

    def start(self) -> None:
        pass

    def put(self, work: Work, hashed: int) -> None:
        self.results.append(finish(self.audit_run, work))
        if self.progress is not None:
            self.progress(len(self.results), len(self.ids), hashed, work.object_id)

    def finish(self, *, abort: bool = False) -> list[ArchiveResult]:
        return self.results


def _pipeline(run: Run, ids: list[str], progress: Progress | None,
              later: Callable[[], list[str]] | None = None) -> list[ArchiveResult]:
    """Hash, judge and record the archives ``ids``, then those ``later`` returns (appended to ``ids``)."""
    works: dict[str, Work] = {}
    index: dict[Path, tuple[str, str, str]] = {}
    ready: list[str] = []

    rest = [later]  # archives only the catalogue knows, asked for once

    def take_rest() -> list[str]:
        more = rest[0]() if rest[0] is not None else []
        rest[0] = None
        ids.extend(more)
        return more

    def selected() -> Iterator[str]:
        yield from ids
        yield from take_rest()

    def jobs() -> Iterator[tuple[Path, tuple[str, ...], int]]:
        for number, oid in enumerate(selected()):
            if number and run.should_stop():
                take_rest()  # selected too, though not reached: they count as skipped
                run.skipped = len(ids) - number
                return
            scans = {label: scan_copy(label, c.store.object_root(oid)) for label, c in run.copies.items()
                     if c.store is not None}  # all of them: audit() keeps the copies that have a store
            work = works[oid] = Work(oid, scans, started=run.at())
            paths = [(scan.object_root / rel, label, rel, size) for label, scan in scans.items()
                     for rel, size in scan.content_files()]
            index.update((path, (oid, label, rel)) for path, label, rel, _size in paths)
            work.pending = len(paths)
            if not paths:
                ready.append(oid)
            yield from ((path, ("sha512",), size) for path, _label, _rel, size in paths)

    judge: _Judge | _Inline = _Inline(run, progress, ids) if run.inline else _Judge(run, progress, ids)
    hashed = 0
    judge.start()
    try:
        for path, outcome in iter_hash_jobs(jobs(), run.workers, processes=run.hash_processes):
            oid, label, rel = index.pop(path)
            work = works[oid]
            work.hashes[(label, rel)] = outcome if isinstance(outcome, OSError) else outcome[1]["sha512"]
            if not isinstance(outcome, OSError):
                work.sizes += outcome[0]
                hashed += outcome[0]
            work.pending -= 1
            if work.pending == 0:
                ready.append(oid)
            while ready:
                judge.put(works.pop(ready.pop(0)), hashed)
        for oid in ready:
            judge.put(works.pop(oid), hashed)
    except BaseException:
        judge.finish(abort=True)
        raise
    return judge.finish()


_LOCKS: list[TextIO] = []  # the open lock files of runs in this process (guarded by _LOCKS_GUARD)
_LOCKS_GUARD = threading.Lock()


def _drop_inherited_locks() -> None:
    """In a forked child (a shard worker): close the parent's lock file. flock belongs to the open file,
    which the child shares: a worker left behind by a killed audit would otherwise keep every later audit
    out (AUDIT-BUSY) until it ended. The guard is made anew: a thread of the parent may have held it."""
    global _LOCKS_GUARD
    _LOCKS_GUARD = threading.Lock()
    while _LOCKS:
        _LOCKS.pop().close()


os.register_at_fork(after_in_child=_drop_inherited_locks)


@contextmanager
def _exclusive(home: Path) -> Iterator[None]:
    lock_file = HomePaths.of(home).audit_lock
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PreservationError(code="AUDIT-BUSY", msgid="audit.busy") from None
        with _LOCKS_GUARD:
            _LOCKS.append(handle)
        try:
            yield
        finally:
            with _LOCKS_GUARD:
                if handle in _LOCKS:
                    _LOCKS.remove(handle)


def audit(repo: Repository, selection: Selection, *, now: datetime, progress: Progress | None = None,
          stop: threading.Event | None = None) -> AuditRun:
    """Check (and repair, unless ``selection.repair`` is False) the selected archives of ``repo``."""
    if now.tzinfo is None:
        raise UsageError("audit time must carry a time zone")
    with _exclusive(repo.home):
        copies = open_copies(repo)
        usable = {c.label: c for c in copies if c.store is not None}
        run = Run(repo, usable, now, now.strftime("%Y%m%dT%H%M%S%fZ"), selection.repair,
                   max(1, int(repo.cfg["audit.workers"])),
                   float(repo.cfg["audit.budget_seconds"]) if selection.mode == "due" else 0.0, stop)
        run.processes = max(1, int(repo.cfg["audit.processes"]))
        run.max_inventory = int(repo.cfg["audit.max_inventory_bytes"])
        run.hash_processes = repo.cfg["audit.hashing"] == "processes"
        run.opener = CatalogOpener(repo)
        issues = [issue("AUD017", str(c.root), copy=c.label, detail=c.error) for c in copies if c.error]
        pending = pending_objects(repo)  # disposals cut short: DSP006 until recovery finishes them
        try:
            if selection.mode == "all":  # start on what storage holds; then what only the catalogue knows
                ids, more = select(selection, usable, None, repo.cfg, now)
                later = lambda: [i for i in catalogued_only(run.catalog, ids) if i not in pending]  # noqa: E731
            else:
                ids, more = select(selection, usable, run.catalog, repo.cfg, now)
                later = None
            named = list(ids) if selection.mode == "archive" else None  # a run confined to the archives named
            ids = without_disposed(ids, usable, pending)  # a disposed object back in a copy: DSP002, never repaired
            if use_shards(run.processes, len(ids)):
                if later is not None:
                    ids += later()  # waits for the catalogue: no thread of this run is left when workers fork
                run.known_heads()  # read here: shard workers have no catalogue
                warm_signer_cache(run, ids[0])  # the workers inherit the signer's validated path
                archives = tuple(audit_in_shards(run, ids, progress, record_results, _pipeline))
            else:
                archives = tuple(_pipeline(run, ids, progress, later=later))
            scope = run_scope(selection, named or (), run.catalog)  # what its report records (who may read it)
        finally:
            run.opener.close()  # never left running or open past the run
        issues += [issue("AUD029", detail=why) for why in run.opener.failures]
        issues += tombstone_issues(usable, repo.trust_roots, pending, only=named)  # tombstones, not objects
        issues += [issue("AUD017", str(c.root), copy=c.label, detail=Text.of("audit.root_vanished")) for c in usable.values()
                   if not is_storage_root(c.root)]
    return AuditRun(run.run_id, selection.mode, now, run.at(),
                    tuple((c.label, str(c.root), c.error) for c in copies), archives, tuple(issues + more),
                    tuple(run.notes), len(ids), run.skipped, run.log.head(),
                    repository=repo.cfg["repository.name"], scope=scope,
                    stopped=bool(run.skipped and stop is not None and stop.is_set()))


def run_audit(repo: Repository, selection: Selection, *, now: datetime, progress: Progress | None = None,
              stop: threading.Event | None = None, alert: bool = True, report: bool = True) -> AuditRun:
    """:func:`audit`, then alerts when anything is not intact, then the JSON and HTML reports of the run."""
    from .alerts import send_alerts
    from .report import report_paths, write_reports

    result = audit(repo, selection, now=now, progress=progress, stop=stop)
    paths = report_paths(repo.paths.reports, result) if report else ()
    result = replace(result, reports=tuple(str(p) for p in paths))
    if alert and not result.ok:
        result = replace(result, alerts=send_alerts(repo.cfg, result.summary(), stop=stop))
    if report:
        write_reports(paths, result, langs_for(repo.cfg["repository.language"]))
    return result
