"""Export (移交): one transfer package per archive, built from the store as it is, then the transfer list.

Each package is built in a hidden folder next to its final place and renamed into place when complete, so
``OUT`` never holds half a package. Bytes are streamed in 1 MiB chunks and copied while they are hashed
(SHA-512, :func:`repository.fixity.copy_and_hash`, ``audit.workers`` files at a time): every byte is read
once, written once, and its digest
serves both the bag manifest and a fixity check against the OCFL inventory (a damaged stored file stops the
export with ``TRF-DAMAGED`` instead of leaving the machine). Files are plain copies, never hard links or
reflinks: a transfer package leaves the machine.

The export reads one snapshot of the object: the root inventory is read once and only what it names is
copied (version directories are immutable once committed), so an ingest running meanwhile is not a
problem. A disposal is: the export holds the store-readers lock shared
(:func:`repository.preservation.storelock.reading_store`), so no disposal removes an object while it is being
copied, and an export started during a disposal is refused with DSP-BUSY (exit 75; a job is tried again).

Where the export event goes (DESIGN principle 3 with principle 1): an export changes nothing in the archive,
so it does not make a new version (which would also change the package's own version count and signatures
on the way out). The ``exporting`` PREMIS event is written into the package (``data/transfer/premis.xml``,
after the head's whole history) and into the sending home's hash-chained audit log; the receiving
repository records it with its own receipt events (:mod:`.receive`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import messages
from ..access import Principal
from ..bags.write import write_bag
from ..descriptive import parse
from ..errors import HsarError, PreservationError
from ..fixity import copy_and_hash
from ..home import Repository
from ..preservation.aip_layout import DESCRIPTIVE, premis_documents
from ..preservation.auditlog import AuditLog, event_record
from ..preservation.ids import object_id
from ..preservation.ocfl_inventory import INVENTORY, logical_state, sidecar_for
from ..preservation.premis import (
    PremisEvent,
    hsar_agent,
    institution_agent,
    standard_agents,
)
from ..preservation.premis_history import merge_documents
from ..preservation.storelock import reading_store
from . import layout
from .lists import ExportedArchive, write_lists

OBJECT_DECLARATION = "0=ocfl_object_1.1"


@dataclass(frozen=True)
class ExportResult:
    """What ``hsar export`` made: the packages, in the order asked, and the transfer list's two files."""

    out: Path
    archives: tuple[ExportedArchive, ...]
    list_xml: Path
    list_csv: Path

    def to_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "archives": [a.to_dict() for a in self.archives],
                "transfer_list": {"xml": str(self.list_xml), "csv": str(self.list_csv)},
                "totals": {"archives": len(self.archives), "versions": sum(a.versions for a in self.archives),
                           "files": sum(a.files for a in self.archives),
                           "bytes": sum(a.bytes for a in self.archives)}}


def check_out(out: Path) -> None:
    """``OUT`` must be a new folder or an empty one (an export never mixes with other files)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise HsarError(msgid="transfer.out_not_empty", code="TRF-OUT", path=str(out))


def export_archives(repo: Repository, archive_ids: Sequence[str], out: Path, *, principal: Principal,
                    now: datetime | None = None) -> ExportResult:
    """Export ``archive_ids`` (each held by the store; access was decided by the caller) into ``out``; each
    archive's export is also a use (``export``, purpose 移交) in the access register (利用登记)."""
    check_out(out)
    with reading_store(repo.paths.readers_lock):  # no disposal meanwhile (DSP-BUSY while one runs)
        return _export_archives(repo, list(dict.fromkeys(archive_ids)), out, principal, now)


def _export_archives(repo: Repository, ids: list[str], out: Path, principal: Principal, now: datetime | None
                     ) -> ExportResult:
    for archive_id in ids:
        if not repo.store.exists(object_id(archive_id)):
            raise HsarError(msgid="services.not_found", code="NOT-FOUND", archive=archive_id)
    out.mkdir(parents=True, exist_ok=True)
    when = now or datetime.now(UTC)
    done = []
    for archive_id in ids:
        done.append(export_archive(repo, archive_id, out, user=principal.username, now=when))
        _register(repo, principal, archive_id, when)
    xml, csv = write_lists(out, done, institution=repo.cfg["repository.institution"], created=when)
    return ExportResult(out, tuple(done), xml, csv)


def export_archive(repo: Repository, archive_id: str, out: Path, *, user: str, now: datetime) -> ExportedArchive:
    """One archive's package under ``out``; its export event goes to the package and the audit log."""
    oid = object_id(archive_id)
    name = layout.package_name(archive_id)
    target = out / name
    if target.exists():
        raise HsarError(msgid="transfer.package_exists", code="TRF-OUT", path=str(target))
    work = out / f".{name}.{uuid.uuid4().hex}.partial"
    work.mkdir()
    try:
        inventory_bytes, digests = _copy_object(repo.store.object_root(oid), work / layout.OBJECT_DIR, oid,
                                                workers=repo.cfg["audit.workers"])
        inventory = load_inventory_bytes(inventory_bytes)
        institution = repo.cfg["repository.institution"]
        event = PremisEvent.new(
            "exporting", when=now, objects=[oid],
            agents=[hsar_agent().identifier, (institution_agent(institution).identifier, "implementer")],
            detail=f"transfer package {name}: {len(inventory['versions'])} versions, head {inventory['head']}, "
                   f"exported by {user}")
        premis = _package_premis(work, inventory, event, institution)  # the copied head, not a newer one
        premis_path = work / layout.TRANSFER_PREMIS
        premis_path.parent.mkdir(parents=True)
        premis_path.write_bytes(premis)
        digests[layout.TRANSFER_PREMIS] = hashlib.sha512(premis).hexdigest()
        archive = parse(_snapshot_file(work, inventory, DESCRIPTIVE))
        info = {layout.SENDER_TAG: institution, layout.ARCHIVE_TAG: archive_id, layout.OBJECT_TAG: oid,
                layout.TYPE_TAG: layout.PACKAGE_TYPE, layout.VERSIONS_TAG: str(len(inventory["versions"])),
                layout.EXPORTED_TAG: now.isoformat(), layout.EVENT_TAG: event.identifier,
                "External-Description": archive.title}
        write_bag(work, info, digests={p: {"sha512": d} for p, d in digests.items()})
        size = sum((work / p).stat().st_size for p in digests)
        os.rename(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    AuditLog(repo.paths.audit).append([event_record(event, object_id=oid, archive_id=archive_id)])
    return ExportedArchive(archive_id, name, archive.reference_code, archive.title, archive.type.value,
                           archive.division, len(inventory["versions"]), inventory["head"], len(archive.items),
                           len(digests), size, event.identifier)


def _snapshot_file(work: Path, inventory: dict[str, Any], logical: str) -> bytes:
    """A file of the head of the copied snapshot (the package's own copy of it)."""
    digest = logical_state(inventory)[logical]
    return (work / layout.OBJECT_DIR / inventory["manifest"][digest][0]).read_bytes()


def _register(repo: Repository, principal: Principal, archive_id: str, when: datetime) -> None:
    from ..accounts.register import Use, record_use
    from ..state.db import open_state

    with open_state(repo.cfg.state_url) as state:
        record_use(state, principal, Use.EXPORT.value, archive_id, messages.text("transfer.purpose", "zh"), at=when)


def load_inventory_bytes(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not isinstance(value.get("versions"), dict) \
            or not isinstance(value.get("manifest"), dict):
        raise PreservationError("inventory.json is not an OCFL inventory", "TRF-DAMAGED")
    return value


def _copy_object(root: Path, dest: Path, oid: str, workers: int = 2) -> tuple[bytes, dict[str, str]]:
    """Copy the object's snapshot (declaration, root inventory and sidecar, each version's inventory and
    sidecar, every content file) to ``dest``; the root inventory's bytes and ``{bag path: sha512}``.

    Files are copied by ``workers`` threads (hashlib and file I/O release the GIL), largest first."""
    inventory_bytes = (root / INVENTORY).read_bytes()  # read once: the snapshot
    inventory = load_inventory_bytes(inventory_bytes)
    if inventory.get("id") != oid or inventory.get("digestAlgorithm") != "sha512":
        raise PreservationError(f"{oid}: unexpected inventory at {root}", "TRF-DAMAGED")
    algorithm = inventory["digestAlgorithm"]
    dest.mkdir(parents=True)
    (dest / INVENTORY).write_bytes(inventory_bytes)
    sidecar = sidecar_for(inventory_bytes)[1]
    (dest / f"{INVENTORY}.{algorithm}").write_bytes(sidecar)
    digests = {layout.OBJECT_DIR + INVENTORY: hashlib.sha512(inventory_bytes).hexdigest(),
               f"{layout.OBJECT_DIR}{INVENTORY}.{algorithm}": hashlib.sha512(sidecar).hexdigest()}
    jobs: list[tuple[str, str | None]] = [(OBJECT_DECLARATION, None)]
    for vname in inventory["versions"]:
        jobs += [(f"{vname}/{INVENTORY}", None), (f"{vname}/{INVENTORY}.{algorithm}", None)]
    jobs += [(rel, digest) for digest, paths in inventory["manifest"].items() for rel in paths]
    for parent in sorted({(dest / rel).parent for rel, _ in jobs}):
        parent.mkdir(parents=True, exist_ok=True)

    def copy(job: tuple[str, str | None]) -> tuple[str, str]:
        rel, expected = job
        found = copy_and_hash(root / rel, dest / rel, ["sha512"], preserve_mtime=False)[1]["sha512"]
        if expected is not None and found != expected.lower():
            raise HsarError(msgid="transfer.damaged", code="TRF-DAMAGED", archive=oid, path=rel)
        return layout.OBJECT_DIR + rel, found

    jobs.sort(key=lambda j: -_size(root / j[0]))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        digests.update(pool.map(copy, jobs))
    return inventory_bytes, digests


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # copy() reports it


def _package_premis(work: Path, inventory: dict[str, Any], event: PremisEvent, institution: str) -> bytes:
    """One PREMIS document: the merged history of the copied head (its PREMIS documents, oldest first) and
    the export event."""
    state = logical_state(inventory)
    history = merge_documents(_snapshot_file(work, inventory, path) for path in premis_documents(state))
    return history.to_xml(state, [event], standard_agents(institution))
