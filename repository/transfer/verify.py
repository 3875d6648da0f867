"""Checking a transfer package before anything is written (DESIGN principles 4 and 5).

Every problem is gathered, each with a stable ``TRF`` code (``data/codes.json``):

- the bag itself (RFC 8493: every payload and tag file against its SHA-512 manifest; a tampered file fails
  here) and its type, archive and object tags;
- the OCFL object inside: its inventory and sidecar, every content file's digest against the inventory
  (the bag's digests, read once while validating, are reused), versions ``v1`` … ``vN`` without gaps;
- every version's lock: the signed manifest must list exactly that version's state and its detached CMS
  signature must be intact and valid (else ``TRF004``, always refused); whether the signer chains to one of
  this repository's ``signing.trust_roots`` is the sending institution's CA question, answered by the
  ``transfer.untrusted`` policy: ``refuse`` (``TRF005``, an error) or ``flag`` (``TRF006``, a warning: the
  archive is received and the flag stays in the ingest outcome and the audit log);
- the head's description names the same archive, and the package's PREMIS holds the export event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..bags.validate import validate_bag
from ..codes import Issue, issue
from ..descriptive import parse
from ..errors import HsarError
from ..preservation.aip_layout import DESCRIPTIVE, SIGNATURE_FILE, SIGNATURE_MANIFEST
from ..preservation.ids import object_id
from ..preservation.ocfl_inventory import (
    INVENTORY,
    logical_path_problems,
    logical_state,
    read_sidecar,
    version_name,
)
from ..preservation.premis import PremisEvent
from ..preservation.premis_read import parse_premis
from . import layout

MAX_SMALL = 64 << 20  # largest descriptive XML, PREMIS or signature file read into memory


@dataclass
class CheckedPackage:
    """What the checks read: the archive and object named, the inventory, the export event, the issues."""

    bag_dir: Path
    issues: list[Issue] = field(default_factory=list)
    archive_id: str | None = None
    inventory: dict[str, Any] | None = None
    export_event: PremisEvent | None = None
    sender: str = ""
    signers: tuple[str, ...] = ()
    source: Path = Path()  # what the user gave: the folder, or the zip it was unpacked from

    def __post_init__(self) -> None:
        if self.source == Path():
            self.source = self.bag_dir

    @property
    def ok(self) -> bool:
        return not any(i.severity.value == "error" for i in self.issues)

    def content(self, rel: str) -> Path:
        """A file of the object inside the package (``rel`` relative to the object root)."""
        return self.bag_dir / layout.OBJECT_DIR / rel


def read_bag_info(bag_dir: Path) -> dict[str, str]:
    """Labels (case-folded) -> first value, from a small ``bag-info.txt`` (without validating the bag)."""
    info: dict[str, str] = {}
    path = bag_dir / "bag-info.txt"
    try:
        if not path.is_file() or path.stat().st_size > 1 << 20:
            return info
        text = path.read_text("utf-8", errors="replace")
    except OSError:
        return info
    return _tags(text)


def _tags(text: str) -> dict[str, str]:
    info: dict[str, str] = {}
    for line in text.splitlines():
        if ":" in line and not line[:1].isspace():
            label, value = line.split(":", 1)
            info.setdefault(label.strip().casefold(), value.strip())
    return info


def is_transfer_package(path: Path) -> bool:
    """A folder, or a zip holding one folder, whose ``bag-info.txt`` says it is an hsar transfer package
    (checked fully on receipt; a zip is unpacked safely then, :func:`repository.bags.receive.open_package`)."""
    if path.is_dir():
        return read_bag_info(path).get(layout.TYPE_TAG.casefold()) == layout.PACKAGE_TYPE
    if path.is_file() and path.name.lower().endswith(".zip"):
        return _zip_type(path) == layout.PACKAGE_TYPE
    return False


def _zip_type(path: Path) -> str | None:
    """The package type a zip's ``<top>/bag-info.txt`` names (read from the zip, at most 1 MiB)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            infos = [i for i in archive.infolist() if i.filename.count("/") == 1
                     and i.filename.endswith("/bag-info.txt") and i.file_size <= 1 << 20]
            if len(infos) != 1:
                return None
            text = archive.read(infos[0]).decode("utf-8", errors="replace")
    except (OSError, zipfile.BadZipFile, ValueError, RuntimeError, NotImplementedError):
        return None
    return _tags(text).get(layout.TYPE_TAG.casefold())


def check_package(bag_dir: Path, *, trust_roots: list[Path], untrusted: str, workers: int = 2) -> CheckedPackage:
    """Every check above, in order; later checks run only where earlier ones left something to check."""
    checked = CheckedPackage(bag_dir)
    bag = validate_bag(bag_dir, workers=workers)
    if not bag.valid:
        checked.issues += bag.issues
        bad = sorted({i.path for i in bag.issues if i.severity.value == "error" and i.path})
        checked.issues.append(issue("TRF001", bad[0] if bad else "", detail=", ".join(bad[:5]) or "bag"))
        return checked
    archive_id = (bag.info(layout.ARCHIVE_TAG) or [""])[0]
    checked.sender = (bag.info(layout.SENDER_TAG) or [""])[0]
    if (bag.info(layout.TYPE_TAG) or [""])[0] != layout.PACKAGE_TYPE or not archive_id \
            or (bag.info(layout.OBJECT_TAG) or [""])[0] != object_id(archive_id):
        checked.issues.append(issue("TRF002", "bag-info.txt", detail="type, archive or object tag"))
        return checked
    checked.archive_id = archive_id
    digests = {p: f.digests.get("sha512", "") for p, f in bag.payload.items()}
    try:
        inventory = _inventory(checked, digests, object_id(archive_id))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a hostile inventory's shape
        checked.issues.append(issue("TRF002", layout.OBJECT_DIR + INVENTORY, detail=f"{type(exc).__name__}: {exc}"))
        return checked
    if inventory is None:
        return checked
    checked.inventory = inventory
    _check_locks(checked, inventory, trust_roots, untrusted)
    _check_description(checked, inventory, archive_id)
    _export_event(checked, (bag.info(layout.EVENT_TAG) or [""])[0])
    return checked


def _inventory(checked: CheckedPackage, digests: Mapping[str, str], oid: str) -> dict[str, Any] | None:
    from .export import load_inventory_bytes

    where = layout.OBJECT_DIR + INVENTORY
    try:
        data = checked.content(INVENTORY).read_bytes()
        inventory = load_inventory_bytes(data)
    except (OSError, HsarError) as exc:
        checked.issues.append(issue("TRF002", where, detail=str(exc)))
        return None
    sidecar = read_sidecar(checked.content(f"{INVENTORY}.sha512"))
    if inventory.get("id") != oid or inventory.get("digestAlgorithm") != "sha512" \
            or sidecar != hashlib.sha512(data).hexdigest():
        checked.issues.append(issue("TRF002", where, detail="id, digest algorithm or sidecar"))
        return None
    versions = inventory["versions"]
    if list(versions) != [version_name(n) for n in range(1, len(versions) + 1)] \
            or inventory.get("head") != version_name(len(versions)):
        checked.issues.append(issue("TRF002", where, detail="versions"))
        return None
    problem = _shape_problem(inventory)
    if problem:
        checked.issues.append(issue("TRF002", where, detail=problem))
        return None
    for digest, paths in inventory["manifest"].items():
        for rel in paths:
            if digests.get(layout.OBJECT_DIR + rel) != str(digest).lower():
                checked.issues.append(issue("TRF003", layout.OBJECT_DIR + rel))
    return None if not checked.ok else inventory


def _shape_problem(inventory: dict[str, Any]) -> str | None:
    """What the store would refuse or a receipt could not use: manifest entries that are not lists of
    paths, a version without a readable time, a user or a message, a state naming a digest the manifest
    lacks, a logical path the store cannot hold."""
    manifest = inventory["manifest"]
    if not all(isinstance(p, list) and p and all(isinstance(r, str) for r in p) for p in manifest.values()):
        return "manifest"
    for vname, block in inventory["versions"].items():
        if not isinstance(block, dict) or not isinstance(block.get("message", ""), str) \
                or not isinstance(block.get("user", {}), dict):
            return f"{vname}: version block"
        datetime.fromisoformat(str(block["created"]).replace("Z", "+00:00"))  # ValueError: caller's TRF002
        state = logical_state(inventory, vname)
        if any(d not in manifest for d in state.values()):
            return f"{vname}: a state digest the manifest does not list"
        problems = logical_path_problems(list(state))
        if problems:
            return f"{vname}: {problems[0]}"
    return None


def _small(checked: CheckedPackage, inventory: dict[str, Any], digest: str) -> bytes | None:
    paths = inventory["manifest"].get(digest) or []
    for rel in paths:
        path = checked.content(rel)
        if path.is_file() and path.stat().st_size <= MAX_SMALL:
            return path.read_bytes()
    return None


def _check_locks(checked: CheckedPackage, inventory: dict[str, Any], trust_roots: list[Path], untrusted: str) -> None:
    from ..preservation.signing import check_lock

    signers: set[str] = set()
    for vname, block in inventory["versions"].items():
        state = logical_state(inventory, vname)
        manifest = _small(checked, inventory, state.get(SIGNATURE_MANIFEST, ""))
        p7s = _small(checked, inventory, state.get(SIGNATURE_FILE, ""))
        if manifest is None or p7s is None:
            checked.issues.append(issue("TRF004", vname, version=vname, detail="no signature files"))
            continue
        try:
            at: datetime | None = datetime.fromisoformat(str(block.get("created", "")).replace("Z", "+00:00"))
        except ValueError:
            at = None
        status = check_lock(state, manifest, p7s, trust_roots, at=at)
        signature = status.signature
        if not status.manifest_matches or not (signature.intact and signature.valid):
            detail = "; ".join(str(p) for p in status.problems)[:300]
            checked.issues.append(issue("TRF004", vname, version=vname, detail=detail))
        elif not signature.trusted:
            code = "TRF005" if untrusted == "refuse" else "TRF006"
            checked.issues.append(issue(code, vname, version=vname, signer=signature.signer_subject or "?"))
        if signature.signer_subject:
            signers.add(signature.signer_subject)
    checked.signers = tuple(sorted(signers))


def _check_description(checked: CheckedPackage, inventory: dict[str, Any], archive_id: str) -> None:
    data = _small(checked, inventory, logical_state(inventory).get(DESCRIPTIVE, ""))
    try:
        found = parse(data).identifier if data is not None else None
    except Exception as exc:  # noqa: BLE001 - a malformed description from outside: a finding, not a crash
        found = f"? ({type(exc).__name__})"
    if found != archive_id:
        checked.issues.append(issue("TRF002", DESCRIPTIVE, detail=f"description names {found}"))


def _export_event(checked: CheckedPackage, event_id: str) -> None:
    path = checked.bag_dir / layout.TRANSFER_PREMIS
    try:
        events = parse_premis(path.read_bytes())[1]
    except (OSError, HsarError, ValueError) as exc:
        checked.issues.append(issue("TRF002", layout.TRANSFER_PREMIS, detail=str(exc)[:200]))
        return
    found = [e for e in events if e.identifier == event_id and e.type == "exporting"]
    if not found:
        checked.issues.append(issue("TRF002", layout.TRANSFER_PREMIS, detail="no export event"))
        return
    checked.export_event = found[0]
