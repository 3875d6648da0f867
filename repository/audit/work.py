"""One audit run's state and the judgement of one archive (定期检查, DA/T 70-2018 stage BC): which copy to trust,
what is lost or changed, what to repair, and the archive's result with its PREMIS events.

:mod:`.run` drives it: scans and hashes every copy, then hands each finished archive to :func:`finish`.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from ..codes import issue
from ..errors import HsarError, PreservationError
from ..messages import Text
from ..preservation import signing  # noqa: F401 - see below
from ..preservation.aip_layout import premis_documents
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
    state_of,
)
from ..preservation.ids import archive_key
from ..preservation.ocfl_inventory import INVENTORY
from ..preservation.ocfl_txn import objects_being_written
from .record import record_results
from .repair import Repair, apply_repairs, catch_up, plan_copy
from .result import ArchiveResult, archive_events, bc_report, resolve, verdict
from .select import (
    CatalogOpener,
)

if TYPE_CHECKING:
    from ..catalog.audits_sqlite import AuditCatalogue
    from ..formats.policy import FormatPolicy
    from ..home import Repository
    from ..preservation.copies import Candidate



def _open_policy(repo: Repository, notes: list[Text]) -> FormatPolicy | None:
    try:
        from ..formats.policy import FormatPolicy

        return FormatPolicy.from_config(repo.cfg)
    except (HsarError, ImportError) as exc:
        notes.append(Text.of("audit.note.policy", detail=exc.as_text() if isinstance(exc, HsarError) else str(exc)))
        return None


@dataclass
class Run:
    repo: Repository
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
    inline: bool = False  # True in a shard worker: archives are hashed and judged on one thread
    max_inventory: int = 0  # audit.max_inventory_bytes: a larger inventory.json is not parsed (AUD040; 0: no limit)
    _policy: FormatPolicy | None | Literal[False] = False  # False: not loaded yet
    _refused: frozenset[str] | None = None  # the policy's refused PUIDs (see refused)
    notes: list[Text] = field(default_factory=list)
    skipped: int = 0
    heads: dict[str, int] | None = None  # newest version the catalogue saw, per archive (see known_heads)
    log_heads: dict[str, int] = field(default_factory=dict)  # newest version the audit log says was verified
    clock_start: float = field(default_factory=lambda: time.monotonic())

    @property
    def catalog(self) -> AuditCatalogue | None:
        """The catalogue once it is open (waits for the opening thread); None when it is unavailable."""
        return self.opener.result() if self.opener is not None else None

    @property
    def log(self) -> AuditLog:
        return AuditLog(self.repo.paths.audit)

    @property
    def policy(self) -> FormatPolicy | None:
        if self._policy is False:
            self._policy = _open_policy(self.repo, self.notes)
        return self._policy

    @property
    def refused(self) -> frozenset[str]:
        """The PUIDs the format policy refuses (none without a policy)."""
        if self._refused is None:
            policy = self.policy
            self._refused = frozenset(p for p, (level, _why) in policy.classes.items()
                                      if level == "refused") if policy is not None else frozenset()
        return self._refused

    def known_heads(self) -> dict[str, int]:
        """The catalogue's ``known_heads`` (:mod:`repository.catalog.audits_sqlite`), read once per run ({}
        without a catalogue)."""
        if self.heads is None:
            self.heads = {}
            self.log_heads = self.log.verified_heads()  # evidence that outlives a lost catalogue (AUD031)
            catalog = self.catalog
            if catalog is not None:
                try:
                    self.heads = catalog.known_heads()
                except HsarError as exc:
                    self.notes.append(Text.of("audit.note.heads", detail=exc.as_text()))
        return self.heads

    def at(self) -> datetime:
        """The injected start time plus the time this run has taken so far."""
        return self.now + timedelta(seconds=time.monotonic() - self.clock_start)

    def should_stop(self) -> bool:
        if self.stop is not None and self.stop.is_set():
            return True
        return self.budget_seconds > 0 and time.monotonic() - self.clock_start >= self.budget_seconds


@dataclass
class Work:
    object_id: str
    scans: dict[str, CopyScan]
    hashes: dict[tuple[str, str], str | OSError] = field(default_factory=dict)
    sizes: int = 0
    pending: int = 0
    started: datetime | None = None


# ------------------------------------------------------------------------------------- one archive


def format_findings(run: Run, ref: Candidate | None, evidence: Evidence) -> list[Finding]:
    """AUD016 for payload files whose current PREMIS object records a PUID the format policy now refuses
    (BC-3-2), from the head's PREMIS documents (:mod:`repository.preservation.premis_history`)."""
    if ref is None or ref.inventory is None or run.policy is None or not run.refused:
        return []  # no refused format: nothing to find, no document read (may_name would say so of each)
    state = state_of(ref.inventory, ref.inventory["head"])
    documents = [evidence.read_verified(state[path]) for path in premis_documents(state)]
    read = [data for data in documents if data is not None]
    if not read or not any(may_name(data, run.refused) for data in read):
        return []
    from ..preservation.premis_history import current_objects

    try:
        objects = current_objects(read, state)
    except PreservationError:
        return []
    return [Finding(found("AUD016", o.identifier, puid=o.puid), "*") for o in objects
            if o.puid and o.identifier.startswith("data/") and run.policy.level_of(o.puid) == "refused"]


_PLAIN_PUID = re.compile(r"[A-Za-z0-9/._-]+")
_ENCODING = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)[\"']")


@functools.lru_cache(maxsize=8)
def _naming(puids: frozenset[str]) -> re.Pattern[bytes] | None:
    """``>PUID<`` for any of ``puids`` (longest first): one scan of a document for all of them; None when a
    PUID holds a character XML may write otherwise (only letters, digits and ``/._-`` are searched for)."""
    if not all(_PLAIN_PUID.fullmatch(p) for p in puids):
        return None
    names = sorted((p.encode("ascii") for p in puids), key=len, reverse=True)
    return re.compile(b">(?:" + b"|".join(re.escape(n) for n in names) + b")<")


def may_name(premis: bytes, puids: frozenset[str]) -> bool:
    """Can the PREMIS document ``premis`` record one of ``puids``? False only when it certainly does not: a
    UTF-8 or ASCII document (it starts with ``<``) without character references or CDATA, in which no
    ``>PUID<`` occurs (a PUID is the whole of a text node, and every text node of such a document stands
    between ``>`` and ``<``). Parsing a document costs several times more than this scan, and nearly every
    archive names no refused format."""
    if not puids:
        return False
    if not premis.startswith(b"<") or b"&#" in premis or b"<![CDATA[" in premis:
        return True
    declared = _ENCODING.match(premis)
    if declared is not None and declared.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii", b"ascii"):
        return True  # another encoding may write a PUID's characters otherwise (UTF-7)
    pattern = _naming(puids)
    return pattern is None or pattern.search(premis) is not None


def warm_signer_cache(run: Run, object_id: str) -> None:
    """Before shard workers fork: check the head version's signature of ``object_id`` here, so that every worker
    inherits its signer certificate's validated path (:mod:`repository.preservation.cms_verify`) and each
    signer's path is validated once per run, not once per worker. Best effort: the result is not used, and
    the workers check every version themselves."""
    from ..preservation.aip_layout import SIGNATURE_FILE, SIGNATURE_MANIFEST
    from ..preservation.copies import parse_inventory, read_small
    from ..preservation.signing import verify_detached

    copy = next(iter(run.copies.values()), None)
    if copy is None or copy.store is None:
        return
    root = copy.store.object_root(object_id)
    inv, _error = parse_inventory(read_small(root / INVENTORY), object_id)
    if inv is None:
        return
    state = state_of(inv, inv["head"])
    try:
        manifest, p7s = (read_small(root / inv["manifest"][state[name]][0]) for name in (SIGNATURE_MANIFEST, SIGNATURE_FILE))
        created = datetime.fromisoformat(str(inv["versions"][inv["head"]].get("created")).replace("Z", "+00:00"))
        if manifest is not None and p7s is not None:
            verify_detached(manifest, p7s, run.repo.trust_roots, at=created)
    except (KeyError, IndexError, ValueError, HsarError):
        return


def safe_name(object_id: str) -> str:
    """A readable, safe directory name for an object id (quarantine folders)."""
    digest = hashlib.sha256(object_id.encode("utf-8")).hexdigest()[:12]
    return f"{re.sub(r'[^0-9A-Za-z._-]+', '_', object_id).strip('._')[:80] or 'object'}-{digest}"


def changed_since_scan(work: Work) -> bool:
    """Did any copy's root inventory change after it was scanned (an ingest or replication meanwhile)?"""
    return any(scan.changed() for scan in work.scans.values())


def lost_versions(run: Run, work: Work, ref: Candidate | None) -> list[Finding]:
    """AUD025 when the best verified inventory of every copy has fewer versions than the catalogue has seen:
    a deleted version, or an older signed inventory put back (a rollback), which signatures alone cannot
    reveal. A copy changed since its scan gets AUD018 instead (ingest commits storage before the catalogue)."""
    if ref is None or ref.inventory is None:  # a reference is verified: it has an inventory
        return []
    key = archive_key(work.object_id)
    want = run.known_heads().get(key, 0)
    logged = run.log_heads.get(key, 0)
    if max(want, logged) <= len(ref.inventory["versions"]):
        return []
    if changed_since_scan(work):
        return [Finding(issue("AUD018", INVENTORY, detail="inventory.json changed"), "*")]
    if want > len(ref.inventory["versions"]):
        return [Finding(issue("AUD025", INVENTORY, want=f"v{want}", have=ref.inventory["head"]), "*")]
    return [Finding(issue("AUD031", INVENTORY, want=f"v{logged}", have=ref.inventory["head"]), "*")]


def judge(run: Run, work: Work) -> tuple[list[Finding], list[Repair], Candidate | None]:
    for scan in work.scans.values():
        scan.drop_oversized(run.max_inventory)  # audit.max_inventory_bytes: never parsed (AUD040)
    evidence = Evidence(work.scans, work.hashes, run.repo.trust_roots)
    cands = candidates(work.object_id, evidence)
    ref = choose_reference(cands, evidence)
    if work.object_id in objects_being_written(run.repo.staging):  # an ingest is committing a version
        return [Finding(issue("AUD030", INVENTORY), "*")], [], ref  # judged and repaired by the next audit
    oversized = [Finding(found("AUD040", rel, size=size, limit=run.max_inventory), label)
                 for label, scan in work.scans.items() for rel, size in sorted(scan.oversized.items())]
    findings = oversized + ([] if ref is not None else [Finding(issue("AUD015", INVENTORY), "*")])
    findings += lock_findings(cands) + lost_versions(run, work, ref)
    by_bytes = {c.data: c for c in cands}
    plans = {}
    for label, scan in work.scans.items():
        plans[label], of_copy = plan_copy(scan, ref, by_bytes, evidence, work.object_id)
        findings += of_copy
    findings += format_findings(run, ref, evidence)
    repairs: list[Repair] = []
    if run.repair and ref is not None and not oversized:  # an unread inventory is never replaced
        quarantine = run.repo.paths.quarantine / run.run_id / safe_name(work.object_id)
        repairs, more = apply_repairs(plans, evidence, run.copies, quarantine)
        findings += more
        repairs += catch_up(plans, ref, work.object_id, run.copies, repairs)
    return resolve(findings, repairs), repairs, ref


def finish(run: Run, work: Work) -> ArchiveResult:
    findings, repairs, ref = judge(run, work)
    head = ref.inventory["head"] if ref is not None and ref.inventory is not None else None
    versions = list(ref.inventory["versions"]) if ref is not None and ref.inventory is not None else []
    labels = tuple(work.scans)
    files = sum(1 for v in work.hashes.values() if isinstance(v, str))
    signature_ok = ref is not None if any(s.present for s in work.scans.values()) else None
    finished = run.at()
    events = archive_events(findings, repairs, files=files, size=work.sizes, copies=labels,
                            signature_ok=signature_ok, versions=versions, when=finished)
    evidence: dict[str, dict[str, Any]] = {"BC-1-1": {"files": files, "bytes": work.sizes, "algorithm": "sha512"},
                "BC-1-2": {"versions": versions, "verified": bool(signature_ok)},
                "BC-3-2": {"policy": getattr(run._policy or None, "source", None)}, "BC-4-1": {"copies": list(labels)}}
    subject = {"object_id": work.object_id, "archive_id": archive_key(work.object_id), "version": head}
    result = ArchiveResult(
        work.object_id, archive_key(work.object_id), head, verdict(findings, repairs), tuple(findings),
        tuple(repairs), labels, files, work.sizes, signature_ok, bc_report(findings, evidence, subject, run.now),
        tuple(events), work.started or run.now, finished)
    return record_results(run, [result])[0] if run.record else result
