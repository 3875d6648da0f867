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
import hashlib
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..codes import issue
from ..errors import HsarError, PreservationError, UsageError
from ..fixity import iter_hash_jobs
from ..preservation import signing  # noqa: F401 - see below
from ..preservation.auditlog import AuditLog
from ..preservation.copies import (
    Copy,
    CopyScan,
    Evidence,
    Finding,
    candidates,
    choose_reference,
    found,
    lock_findings,
    scan_copy,
    state_of,
)
from ..preservation.ids import archive_key
from ..preservation.ocfl_inventory import INVENTORY
from ..preservation.ocfl_layout import is_storage_root
from ..preservation.replica import open_copies
from .logcheck import verify_log
from .record import record_results
from .repair import Repair, apply_repairs, catch_up, plan_copy
from .result import ArchiveResult, AuditRun, archive_events, bc_report, resolve, verdict
from .select import (
    CatalogOpener,
    DueCandidate,
    DueSelection,
    Selection,
    catalogued_only,
    due_selection,
    select,
)
from .shards import audit_in_shards, use_shards

# ``signing`` (pyHanko, about half a second to import) is loaded with this module although only
# preservation.copies calls it: shard workers fork from this process and share it instead of each importing it,
# and the first lock check of a run does not wait for the import.

Progress = Callable[[int, int, int, str], None]  # (archives done, archives selected, bytes hashed, object id)
PREMIS_PATH = "metadata/premis.xml"
__all__ = ["ArchiveResult", "AuditRun", "DueCandidate", "DueSelection", "Progress", "Selection", "audit",
           "due_selection", "run_audit", "verify_log"]


# ---------------------------------------------------------------------------------------- the run


@dataclass
class _Run:
    repo: Any
    copies: dict[str, Copy]
    now: datetime
    run_id: str
    repair: bool
    workers: int
    budget_seconds: float
    stop: threading.Event | None
    opener: CatalogOpener | None = None  # opens the catalogue in the background (None: no catalogue)
    processes: int = 1  # audit.processes: worker processes for a large selection (see .shards)
    hash_processes: bool = False  # audit.hashing = "processes": hash in worker processes (repository.hashprocs)
    record: bool = True  # False in a shard worker: the parent records every result
    _policy: Any = False  # False: not loaded yet (loading imports the identification stack: do it lazily)
    notes: list[str] = field(default_factory=list)
    skipped: int = 0
    heads: dict[str, int] | None = None  # newest version the catalogue saw, per archive (see known_heads)
    clock_start: float = field(default_factory=lambda: time.monotonic())

    @property
    def catalog(self) -> Any:  # noqa: ANN401 - repository.catalog.store.Catalog or None
        """The catalogue once it is open (waits for the opening thread); None when it is unavailable."""
        return self.opener.result() if self.opener is not None else None

    @property
    def log(self) -> AuditLog:
        return AuditLog(self.repo.paths.audit)

    @property
    def policy(self) -> Any:  # noqa: ANN401 - repository.formats.policy.FormatPolicy or None
        if self._policy is False:
            self._policy = _open_policy(self.repo, self.notes)
        return self._policy

    def known_heads(self) -> dict[str, int]:
        """:func:`repository.catalog.audits.known_heads`, read once per run ({} without a catalogue)."""
        if self.heads is None:
            self.heads = {}
            catalog = self.catalog
            if catalog is not None:
                from ..catalog.audits import known_heads

                try:
                    self.heads = known_heads(catalog)
                except HsarError as exc:
                    self.notes.append(f"versions known to the catalogue not compared: {exc}")
        return self.heads

    def at(self) -> datetime:
        """The injected start time plus the time this run has taken so far."""
        return self.now + timedelta(seconds=time.monotonic() - self.clock_start)

    def should_stop(self) -> bool:
        if self.stop is not None and self.stop.is_set():
            return True
        return self.budget_seconds > 0 and time.monotonic() - self.clock_start >= self.budget_seconds


@dataclass
class _Work:
    object_id: str
    scans: dict[str, CopyScan]
    hashes: dict[tuple[str, str], str | OSError] = field(default_factory=dict)
    sizes: int = 0
    pending: int = 0
    started: datetime | None = None


# ------------------------------------------------------------------------------------- one archive


def _format_findings(run: _Run, ref: Any, evidence: Evidence) -> list[Finding]:  # noqa: ANN401
    """AUD016 for payload files whose recorded PUID the format policy now refuses (BC-3-2)."""
    digest = state_of(ref.inventory, ref.inventory["head"]).get(PREMIS_PATH) if ref is not None else None
    data = evidence.read_verified(digest) if digest else None
    if data is None or run.policy is None:
        return []
    from ..preservation.premis import parse_premis_objects

    try:
        objects = parse_premis_objects(data)
    except PreservationError:
        return []
    return [Finding(found("AUD016", o.identifier, puid=o.puid), "*") for o in objects
            if o.identifier.startswith("data/") and o.puid and run.policy.level_of(o.puid) == "refused"]


def _safe_name(object_id: str) -> str:
    """A readable, safe directory name for an object id (quarantine folders)."""
    digest = hashlib.sha256(object_id.encode("utf-8")).hexdigest()[:12]
    return f"{re.sub(r'[^0-9A-Za-z._-]+', '_', object_id).strip('._')[:80] or 'object'}-{digest}"


def _changed_since_scan(work: _Work) -> bool:
    """Did any copy's root inventory change after it was scanned (an ingest or replication meanwhile)?"""
    return any(scan.changed() for scan in work.scans.values())


def _lost_versions(run: _Run, work: _Work, ref: Any) -> list[Finding]:  # noqa: ANN401
    """AUD025 when the best verified inventory of every copy has fewer versions than the catalogue has seen:
    a deleted version, or an older signed inventory put back (a rollback), which signatures alone cannot
    reveal. A copy changed since its scan gets AUD018 instead (ingest commits storage before the catalogue)."""
    if ref is None:
        return []
    want = run.known_heads().get(archive_key(work.object_id), 0)
    if want <= len(ref.inventory["versions"]):
        return []
    if _changed_since_scan(work):
        return [Finding(issue("AUD018", INVENTORY, detail="inventory.json changed"), "*")]
    return [Finding(issue("AUD025", INVENTORY, want=f"v{want}", have=ref.inventory["head"]), "*")]


def _judge(run: _Run, work: _Work) -> tuple[list[Finding], list[Repair], Any]:
    evidence = Evidence(work.scans, work.hashes, run.repo.trust_roots)
    cands = candidates(work.object_id, evidence)
    ref = choose_reference(cands, evidence)
    findings = [] if ref is not None else [Finding(issue("AUD015", INVENTORY), "*")]
    findings += lock_findings(cands) + _lost_versions(run, work, ref)
    by_bytes = {c.data: c for c in cands}
    plans = {}
    for label, scan in work.scans.items():
        plans[label], of_copy = plan_copy(scan, ref, by_bytes, evidence, work.object_id)
        findings += of_copy
    findings += _format_findings(run, ref, evidence)
    repairs: list[Repair] = []
    if run.repair and ref is not None:
        quarantine = run.repo.paths.quarantine / run.run_id / _safe_name(work.object_id)
        repairs, more = apply_repairs(plans, evidence, run.copies, quarantine)
        findings += more
        repairs += catch_up(plans, ref, work.object_id, run.copies, repairs)
    return resolve(findings, repairs), repairs, ref


def _finish(run: _Run, work: _Work) -> ArchiveResult:
    findings, repairs, ref = _judge(run, work)
    head = ref.inventory["head"] if ref is not None else None
    versions = list(ref.inventory["versions"]) if ref is not None else []
    labels = tuple(work.scans)
    files = sum(1 for v in work.hashes.values() if isinstance(v, str))
    signature_ok = ref is not None if any(s.present for s in work.scans.values()) else None
    finished = run.at()
    events = archive_events(findings, repairs, files=files, size=work.sizes, copies=labels,
                            signature_ok=signature_ok, versions=versions, when=finished)
    evidence = {"BC-1-1": {"files": files, "bytes": work.sizes, "algorithm": "sha512"},
                "BC-1-2": {"versions": versions, "verified": bool(signature_ok)},
                "BC-3-2": {"policy": getattr(run._policy or None, "source", None)}, "BC-4-1": {"copies": list(labels)}}
    subject = {"object_id": work.object_id, "archive_id": archive_key(work.object_id), "version": head}
    result = ArchiveResult(
        work.object_id, archive_key(work.object_id), head, verdict(findings, repairs), tuple(findings),
        tuple(repairs), labels, files, work.sizes, signature_ok, bc_report(findings, evidence, subject, run.now),
        tuple(events), work.started or run.now, finished)
    return record_results(run, [result])[0] if run.record else result


class _Judge(threading.Thread):
    """Judges, repairs and records finished archives one by one while the main thread keeps the hashing
    workers fed, so signature checks and repairs never leave them idle."""

    def __init__(self, run: _Run, progress: Progress | None, ids: list[str]) -> None:
        super().__init__(name="hsar-audit-judge", daemon=True)
        self.audit_run, self.progress, self.ids = run, progress, ids  # ids may still grow (see _pipeline)
        self.queue: queue.Queue[tuple[_Work, int] | None] = queue.Queue(maxsize=32)
        self.results: list[ArchiveResult] = []
        self.error: BaseException | None = None
        self.abort = False

    def run(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is not None or self.abort:
                continue  # drain
            work, hashed = item
            try:
                self.results.append(_finish(self.audit_run, work))
                if self.progress is not None:
                    self.progress(len(self.results), len(self.ids), hashed, work.object_id)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                self.error = exc

    def put(self, work: _Work, hashed: int) -> None:
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


def _pipeline(run: _Run, ids: list[str], progress: Progress | None,
              later: Callable[[], list[str]] | None = None) -> list[ArchiveResult]:
    """Hash, judge and record the archives ``ids``, then those ``later`` returns (appended to ``ids``)."""
    works: dict[str, _Work] = {}
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
            scans = {label: scan_copy(label, c.store.object_root(oid)) for label, c in run.copies.items()}
            work = works[oid] = _Work(oid, scans, started=run.at())
            paths = [(scan.object_root / rel, label, rel, size) for label, scan in scans.items()
                     for rel, size in scan.content_files()]
            index.update((path, (oid, label, rel)) for path, label, rel, _size in paths)
            work.pending = len(paths)
            if not paths:
                ready.append(oid)
            yield from ((path, ("sha512",), size) for path, _label, _rel, size in paths)

    judge, hashed = _Judge(run, progress, ids), 0
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


_LOCKS: list[Any] = []  # the open lock files of runs in this process (guarded by _LOCKS_GUARD)
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
def _exclusive(lock_file: Path) -> Iterator[None]:
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PreservationError("本库另有审计正在运行 / another audit is running in this home",
                                    "AUDIT-BUSY") from None
        with _LOCKS_GUARD:
            _LOCKS.append(handle)
        try:
            yield
        finally:
            with _LOCKS_GUARD:
                if handle in _LOCKS:
                    _LOCKS.remove(handle)


def _open_policy(repo: Any, notes: list[str]) -> Any:  # noqa: ANN401
    try:
        from ..formats.policy import FormatPolicy

        return FormatPolicy.from_config(repo.cfg)
    except (HsarError, ImportError) as exc:
        notes.append(f"format policy not evaluated: {exc}")
        return None


def audit(repo: Any, selection: Selection, *, now: datetime, progress: Progress | None = None,  # noqa: ANN401
          stop: threading.Event | None = None) -> AuditRun:
    """Check (and repair, unless ``selection.repair`` is False) the selected archives of ``repo``."""
    if now.tzinfo is None:
        raise UsageError("audit time must carry a time zone")
    with _exclusive(repo.paths.audit_lock):
        copies = open_copies(repo)
        usable = {c.label: c for c in copies if c.store is not None}
        run = _Run(repo, usable, now, now.strftime("%Y%m%dT%H%M%S%fZ"), selection.repair,
                   max(1, int(repo.cfg["audit.workers"])),
                   float(repo.cfg["audit.budget_seconds"]) if selection.mode == "due" else 0.0, stop)
        run.processes = max(1, int(repo.cfg["audit.processes"]))
        run.hash_processes = repo.cfg["audit.hashing"] == "processes"
        run.opener = CatalogOpener(repo)
        issues = [issue("AUD017", str(c.root), copy=c.label, detail=c.error) for c in copies if c.error]
        try:
            if selection.mode == "all":  # start on what storage holds; then what only the catalogue knows
                ids, more = select(selection, usable, None, repo.cfg, now)
                later = lambda: catalogued_only(run.catalog, ids)  # noqa: E731
            else:
                ids, more = select(selection, usable, run.catalog, repo.cfg, now)
                later = None
            if use_shards(run.processes, len(ids)):
                if later is not None:
                    ids += later()  # waits for the catalogue: no thread of this run is left when workers fork
                run.known_heads()  # read here: shard workers have no catalogue
                archives = tuple(audit_in_shards(run, ids, progress, record_results, _pipeline))
            else:
                archives = tuple(_pipeline(run, ids, progress, later=later))
        finally:
            run.opener.join()  # never left running past the run (it sets the repository's catalogue)
        issues += [issue("AUD029", detail=why) for why in run.opener.failures]
        issues += [issue("AUD017", str(c.root), copy=c.label, detail="存储根在审计期间消失 / the storage root "
                         "disappeared during the audit") for c in usable.values()
                   if not is_storage_root(c.root)]
    return AuditRun(run.run_id, selection.mode, now, run.at(),
                    tuple((c.label, str(c.root), c.error) for c in copies), archives, tuple(issues + more),
                    tuple(run.notes), len(ids), run.skipped, run.log.head(),
                    repository=repo.cfg["repository.name"])


def run_audit(repo: Any, selection: Selection, *, now: datetime, progress: Progress | None = None,  # noqa: ANN401
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
        write_reports(paths, result)
    return result
