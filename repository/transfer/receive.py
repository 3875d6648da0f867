"""Receiving a transfer package (接收移交): the archive re-created with the same identifier and versions.

Decision (documented in the README): every version is re-created **byte for byte**, with the sender's own
version locks. For ``v1`` … ``vN`` the receiving store gets exactly the logical state the sender stored (the
same files, the same SHA-512 digests, the same ``signature/manifest-sha512.txt`` and ``.p7s``), the same
creation time, message and user, so its OCFL inventory is the sender's; the sender's signatures stay the
versions' locks and are verified against this repository's ``signing.trust_roots`` on receipt and by every
audit afterwards. Nothing is re-signed: a receiver's signature over the same manifest would add no
evidence, and a different manifest would not be the archive that was transferred. The receiver's own
evidence is the receipt: the export event carried in the package, an ``accession`` event and a ``digital
signature validation`` event, appended to this home's hash-chained audit log (the next version this
repository adds to the archive signs its own lock as usual).

Crash safety follows the ingest pipeline (DESIGN principle 2): the package is checked completely before
anything is written; each version goes in by :meth:`OcflStore.add_version` (atomic), under an intent file
naming the archive; a package whose versions are already held up to ``vK`` continues at ``vK+1`` when run
again, and one held completely is a duplicate.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..codes import Issue, issue
from ..home import Repository, policy_of
from ..ingest.pipeline import IngestOutcome, ingest, ingest_lock
from ..preservation.auditlog import AuditLog, event_record
from ..preservation.ids import object_id
from ..preservation.ocfl import SourceFile
from ..preservation.ocfl_inventory import logical_state
from ..preservation.ocfl_layout import replace_atomic
from ..preservation.premis import PremisEvent, hsar_agent, institution_agent, pyhanko_agent
from .verify import CheckedPackage, check_package, is_transfer_package


def receive_packages(repo: Repository, paths: Sequence[Path], *, workers: int = 1,
                     progress: Callable[[IngestOutcome], None] | None = None) -> list[IngestOutcome]:
    """``hsar ingest`` of paths some of which are transfer packages, in the order given: each run of SIPs
    goes through the ingest pipeline, each transfer package is received here (under the home lock)."""
    outcomes: list[IngestOutcome] = []
    pending: list[Path] = []

    def flush() -> None:
        if pending:
            outcomes.extend(ingest(repo, list(pending), workers=workers, progress=progress))
            pending.clear()

    for path in paths:
        if not is_transfer_package(path):
            pending.append(path)
            continue
        flush()
        with ingest_lock(repo):
            repo.recover()
            outcome = _receive_path(repo, path)
        outcomes.append(outcome)
        if progress:
            progress(outcome)
    flush()
    return outcomes


def _receive_path(repo: Repository, path: Path) -> IngestOutcome:
    """A package folder as it is; a zip unpacked safely into staging first (PKG codes when refused)."""
    if path.is_dir():
        return receive_transfer(repo, path)
    from ..bags.receive import open_package
    from ..bags.unpack import Limits
    from ..errors import UnsafePackageError

    try:
        with open_package(path, Limits.from_config(repo.cfg), repo.staging) as root:
            return receive_transfer(repo, root, source=path)
    except UnsafePackageError as exc:
        return _reject(repo, CheckedPackage(path, list(exc.issues)))


@dataclass(frozen=True)
class _Plan:
    start: int  # versions already held (a prefix of the package's)
    issues: tuple[Issue, ...]


def receive_transfer(repo: Repository, bag_dir: Path, *, now: datetime | None = None, source: Path | None = None
                     ) -> IngestOutcome:
    """Check and receive one transfer package (the caller holds the home lock and has recovered); ``source``
    names it in the outcome and the log when ``bag_dir`` is where a zip was unpacked."""
    checked = check_package(bag_dir, trust_roots=repo.cfg.paths("signing.trust_roots"),
                            untrusted=repo.cfg["transfer.untrusted"], workers=repo.cfg["audit.workers"])
    checked.source = source or bag_dir
    if not checked.ok or checked.inventory is None or checked.archive_id is None:
        return _reject(repo, checked)
    plan = _plan(repo, checked)
    if any(i.severity.value == "error" for i in plan.issues):
        return _reject(repo, checked, plan.issues)
    inventory, archive_id = checked.inventory, checked.archive_id
    versions = list(inventory["versions"])
    if plan.start == len(versions):
        return IngestOutcome(str(checked.source), "duplicate", archive_id, versions[-1])
    oid = object_id(archive_id)
    replace_atomic(repo.paths.intent(archive_id),
                   json.dumps({"archive_id": archive_id, "version": versions[-1]}).encode(), repo.staging)
    for number, vname in enumerate(versions[plan.start:], plan.start):
        block = inventory["versions"][vname]
        user = block.get("user") or {}
        repo.store.add_version(
            oid, _files(checked, inventory, vname), staging=repo.staging, message=str(block.get("message", "")),
            user=(str(user.get("name", checked.sender)), user.get("address")),
            created=datetime.fromisoformat(str(block["created"]).replace("Z", "+00:00")),
            expected_head=versions[number - 1] if number else None)
    _record(repo, archive_id)
    _log_receipt(repo, checked, now or datetime.now(UTC))
    _replicate(repo, oid)
    return IngestOutcome(str(checked.source), "ingested", archive_id, versions[-1], tuple(checked.issues))


def _files(checked: CheckedPackage, inventory: dict[str, Any], vname: str) -> dict[str, SourceFile]:
    """The version's logical state, each file's bytes taken from the package's copy of its content."""
    files: dict[str, SourceFile] = {}
    for path, digest in logical_state(inventory, vname).items():
        source = checked.content(inventory["manifest"][digest][0])
        files[path] = SourceFile(source, digest, source.stat().st_size)
    return files


def _plan(repo: Repository, checked: CheckedPackage) -> _Plan:
    """How many of the package's versions this store already holds; TRF007 when it holds another history."""
    assert checked.inventory is not None and checked.archive_id is not None
    oid = object_id(checked.archive_id)
    if not repo.store.exists(oid):
        return _Plan(0, ())
    held = repo.store.inventory(oid)
    ours, theirs = list(held["versions"]), list(checked.inventory["versions"])
    same = len(ours) <= len(theirs) and all(
        logical_state(held, v) == logical_state(checked.inventory, v) for v in ours)
    if not same:
        return _Plan(len(ours), (issue("TRF007", "", archive=checked.archive_id, head=held["head"]),))
    return _Plan(len(ours), ())


def _record(repo: Repository, archive_id: str) -> None:
    """Catalogue every version from storage (the path rebuild takes), index the head, drop the intent."""
    from ..catalog.rebuild import object_records
    from ..search.indexing import index_archive

    repo.catalog.replace_archive(archive_id, object_records(repo.store, object_id(archive_id),
                                                            policy_of(repo.cfg)))
    index_archive(repo, archive_id)
    repo.finish_intents()


def _log_receipt(repo: Repository, checked: CheckedPackage, when: datetime) -> None:
    assert checked.archive_id is not None and checked.inventory is not None
    oid, institution = object_id(checked.archive_id), repo.cfg["repository.institution"]
    flagged = sorted({i.path for i in checked.issues if i.code == "TRF006"})
    events = [e for e in [checked.export_event] if e is not None] + [
        PremisEvent.new("digital signature validation", when=when, agents=[pyhanko_agent().identifier],
                        objects=[oid], outcome="warning" if flagged else "success",
                        outcome_detail=", ".join(flagged),
                        detail=f"{len(checked.inventory['versions'])} version locks of the sender verified; "
                               f"signers: {'; '.join(checked.signers)}"),
        PremisEvent.new("accession", when=when, objects=[oid],
                        agents=[hsar_agent().identifier, (institution_agent(institution).identifier, "implementer")],
                        detail=f"received by transfer from {checked.sender or '?'}: package {checked.source.name}, "
                               f"{len(checked.inventory['versions'])} versions re-created byte for byte"),
    ]
    AuditLog(repo.paths.audit).append([event_record(e, object_id=oid, archive_id=checked.archive_id)
                                       for e in events])


def _reject(repo: Repository, checked: CheckedPackage, extra: tuple[Issue, ...] = ()) -> IngestOutcome:
    issues = tuple(checked.issues) + extra
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = repo.rejected / f"{checked.source.name}-{stamp}.json"
    target.parent.mkdir(exist_ok=True)
    body = {"sip": str(checked.source), "status": "rejected", "package": "transfer",
            "issues": [i.to_dict() for i in issues]}
    target.write_text(json.dumps(body, ensure_ascii=False, indent=2), "utf-8")
    return IngestOutcome(str(checked.source), "rejected", checked.archive_id, None, issues, str(target))


def _replicate(repo: Repository, oid: str) -> None:
    if repo.cfg["storage.replicas"]:
        from ..preservation.replica import replicate

        replicate(repo, object_ids=[oid])
