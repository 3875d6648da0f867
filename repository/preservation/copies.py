"""What one audit finds in one archive: every copy of its OCFL object scanned, the inventory to trust chosen.

Implements the fixity and structure side of OCFL 1.1 validation (https://ocfl.io/1.1/spec/) for an object
held in several storage roots: the object declaration (§3.1, E003), the root and version inventories and
their sidecars (§3.5-§3.7, E058-E064), every content file against the manifest (E092), missing and
unexpected files (E023), and the version locks of hsar (a SHA-512 manifest of each version's state with a
detached CMS signature, checked with pyHanko by :func:`repository.preservation.signing.check_lock`). Results
are DA/T 70-2018 stage BC issue codes (``AUD###`` in ``data/codes.json``).

The inventory to trust (the *reference*) is chosen among the copies' root inventories and their head
version inventories: only one whose every version lock verifies (signature trusted, signed manifest equal
to the version state) qualifies, the longest history wins, then the one held in most places and agreeing
with most stored bytes. A copy whose own verified inventory is a shorter prefix is *behind* (it is caught
up); one whose verified history differs is *divergent* (flagged, never overwritten).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..codes import Issue, issue
from ..errors import SigningError
from ..messages import Text, printable
from .ocfl import OcflStore
from .ocfl_inventory import INVENTORY, SIDECAR, sidecar_for
from .ocfl_layout import OBJECT_DECLARATION

if TYPE_CHECKING:
    from .signing import LockStatus

PRIMARY = "primary"
DECLARATION_BYTES = OBJECT_DECLARATION[2:].encode() + b"\n"
_VERSION_META = re.compile(r"v[1-9][0-9]*/inventory\.json(\.sha512)?")
_CONTENT = re.compile(r"(v[1-9][0-9]*)/content/(.+)")
_SHA512 = re.compile(r"[0-9a-f]{128}")
_VERSION_NAME = re.compile(r"v[1-9][0-9]*")

Hashes = Mapping[tuple[str, str], "str | OSError"]


@dataclass(frozen=True)
class Copy:
    """One storage root holding copies of every object: the primary store or a replica."""

    label: str
    root: Path
    store: OcflStore | None
    staging: Path
    error: str | None = None


@dataclass(frozen=True)
class Finding:
    """An issue found in one copy (``copy``), and whether a re-verified repair resolved it."""

    issue: Issue
    copy: str
    repaired: bool = False
    source: str | None = None

    @property
    def code(self) -> str:
        return self.issue.code

    @property
    def key(self) -> tuple[str, str]:
        return self.copy, self.issue.path

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        """The JSON form; ``messages`` holds the issue's text in every language."""
        return {**self.issue.to_dict(lang, both=True), "copy": self.copy, "repaired": self.repaired,
                "source": self.source}


@dataclass
class CopyScan:
    """What is on disk for one object in one copy (paths relative to the object root)."""

    label: str
    object_root: Path
    present: bool
    files: dict[str, int] = field(default_factory=dict)  # every non-directory entry -> size
    empty_dirs: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (directory, why) that could not be listed
    meta: dict[str, bytes | None] = field(default_factory=dict)  # declaration, inventories, sidecars
    oversized: dict[str, int] = field(default_factory=dict)  # inventories over the size limit, not read -> size

    def content_files(self) -> list[tuple[str, int]]:
        return [(rel, size) for rel, size in self.files.items() if _CONTENT.fullmatch(rel)]

    def drop_oversized(self, limit: int) -> None:
        """Set aside every inventory larger than ``limit`` bytes (0: no limit): it is never parsed."""
        for rel, data in list(self.meta.items()):
            if limit and rel.endswith(INVENTORY) and data is not None and len(data) > limit:
                self.oversized[rel], self.meta[rel] = len(data), None

    def changed(self) -> bool:
        """Has the root inventory changed since this scan (an ingest or a replication meanwhile)?"""
        if INVENTORY in self.oversized:  # not read at the scan: its size says whether it changed
            return _size(self.object_root / INVENTORY) != self.oversized[INVENTORY]
        return self.present and read_small(self.object_root / INVENTORY) != self.meta.get(INVENTORY)


def found(code: str, path: str, **params: object) -> Issue:
    """An audit issue about ``path`` (relative to the object root); its message names it as ``{file}``."""
    path = printable(path)
    return issue(code, path, severity=None, file=path, **params)


def _size(path: Path) -> int | None:
    try:
        return path.lstat().st_size
    except OSError:
        return None


def read_small(path: Path) -> bytes | None:
    """A small metadata file's bytes, never through a symbolic link; None when it cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def scan_copy(label: str, object_root: Path) -> CopyScan:
    """Walk one object root (not following links; ``logs/`` and extension directories are the spec's)."""
    scan = CopyScan(label, object_root, object_root.is_dir())
    if not scan.present:
        return scan

    pending = [(str(object_root), "")]  # a stack, not recursion: a hostile tree may be thousands deep
    while pending:
        directory, rel = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:  # unreadable (permissions, I/O error) or gone: reported, the rest is scanned
            scan.unreadable.append((rel, exc.strerror or type(exc).__name__))
            continue
        if not entries and rel:
            scan.empty_dirs.append(rel)
        below = []
        for entry in entries:
            path = f"{rel}/{entry.name}" if rel else entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    if (not rel and entry.name == "logs") or rel == "extensions":
                        continue
                    below.append((entry.path, path))
                else:
                    scan.files[path] = entry.stat(follow_symlinks=False).st_size
            except FileNotFoundError:
                continue  # removed while listed: absent
            except OSError as exc:
                scan.unreadable.append((path, exc.strerror or type(exc).__name__))
        pending.extend(reversed(below))
    for rel in scan.files:
        if rel in (OBJECT_DECLARATION, INVENTORY, SIDECAR) or _VERSION_META.fullmatch(rel):
            scan.meta[rel] = read_small(object_root / rel)
    return scan


def sidecar_matches(sidecar: bytes | None, inventory: bytes | None) -> bool:
    """Does a sidecar (``DIGEST inventory.json``) state the sha512 of ``inventory``?"""
    if sidecar is None or inventory is None:
        return False
    fields = sidecar.decode("ascii", "replace").split()
    return len(fields) == 2 and fields[1] == INVENTORY and fields[0].lower() == hashlib.sha512(inventory).hexdigest()


# ------------------------------------------------------------------------------------- inventories


def _safe_content_path(path: object, versions: Mapping[str, Any]) -> bool:
    match = _CONTENT.fullmatch(path) if isinstance(path, str) else None
    if match is None or match.group(1) not in versions:
        return False
    wrapped = f"/{match.group(2)}/"  # no empty, "." or ".." part
    return "//" not in wrapped and "/./" not in wrapped and "/../" not in wrapped


def parse_inventory(data: bytes | None, object_id: str) -> tuple[dict[str, Any] | None, str | None]:
    """The inventory in ``data`` if it is a sha512 inventory of ``object_id`` safe to act on; else the reason."""
    if data is None:
        return None, "missing"
    try:
        inv = json.loads(data.decode("utf-8"))
        versions, manifest = inv["versions"], inv["manifest"]
        ok = (isinstance(inv, dict) and isinstance(versions, dict) and isinstance(manifest, dict)
              and inv.get("digestAlgorithm") == "sha512" and inv.get("head") in versions
              and all(isinstance(v, dict) and isinstance(v.get("state"), dict) for v in versions.values()))
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        return None, f"not an OCFL inventory ({type(exc).__name__})"
    if not ok:
        return None, "not a sha512 OCFL inventory"
    numbers = sorted(int(v[1:]) for v in versions if isinstance(v, str) and _VERSION_NAME.fullmatch(v))
    if numbers != list(range(1, len(versions) + 1)):
        return None, "versions are not v1, v2, ... without gaps"
    if inv.get("id") != object_id:
        return None, f"names object {inv.get('id')!r}"
    if not all(isinstance(d, str) and _SHA512.fullmatch(d) and isinstance(p, list)
               and all(_safe_content_path(c, versions) for c in p) for d, p in manifest.items()):
        return None, "manifest has a malformed digest or an unsafe content path"
    if any(d not in manifest for v in versions.values() for d in v["state"]):
        return None, "a version state names a digest missing from the manifest"
    return inv, None


def state_of(inv: Mapping[str, Any], vname: str) -> dict[str, str]:
    return {p: d for d, paths in inv["versions"][vname]["state"].items() for p in paths}


def content_map(inv: Mapping[str, Any]) -> dict[str, str]:
    """``{content path: digest}`` of an inventory's manifest."""
    return {path: digest for digest, paths in inv["manifest"].items() for path in paths}


def is_prefix(short: Mapping[str, Any], long: Mapping[str, Any]) -> bool:
    """Is ``short``'s history the start of ``long``'s (same version blocks, fewer or as many)?"""
    return all(long["versions"].get(v) == block for v, block in short["versions"].items())


def prior_inventory_ok(data: bytes | None, reference: Mapping[str, Any], vname: str) -> bool:
    """Is ``data`` the inventory of version ``vname`` as the reference's history says it was (E064, W011)?"""
    inv, _error = parse_inventory(data, reference["id"])
    if inv is None or inv["head"] != vname:
        return False
    number = int(vname[1:])
    earlier = {v: b for v, b in reference["versions"].items() if int(v[1:]) <= number}
    if inv["versions"] != earlier:
        return False
    in_range = {c: d for c, d in content_map(reference).items() if int(c.split("/", 1)[0][1:]) <= number}
    return content_map(inv) == in_range


# ---------------------------------------------------------------------------------------- locks


@dataclass(frozen=True)
class VersionLock:
    """One version's lock checked against an inventory's state: ``code`` AUD010/AUD011 when it fails."""

    version: str
    code: str | None
    detail: str | Text = ""


class Evidence:
    """The scans and digests of one object's copies, with verified reads of small files by digest."""

    def __init__(self, scans: Mapping[str, CopyScan], hashes: Hashes, trust_roots: list[Path]) -> None:
        self.scans, self.hashes, self.trust_roots = scans, hashes, trust_roots
        self.by_digest: dict[str, list[tuple[str, str]]] = {}
        for key, value in hashes.items():
            if isinstance(value, str):
                self.by_digest.setdefault(value, []).append(key)
        self._locks: dict[tuple[Any, ...], VersionLock] = {}

    def path(self, label: str, rel: str) -> Path:
        return self.scans[label].object_root / rel

    def read_verified(self, digest: str) -> bytes | None:
        """Bytes whose sha512 is ``digest`` from any copy (re-hashed on reading), or None."""
        for label, rel in self.by_digest.get(digest, ()):
            data = read_small(self.path(label, rel))
            if data is not None and hashlib.sha512(data).hexdigest() == digest:
                return data
        return None

    def lock(self, inv: Mapping[str, Any], vname: str) -> VersionLock:
        state = state_of(inv, vname)
        created = inv["versions"][vname].get("created", "")
        key = (vname, created, tuple(sorted(state.items())))
        if key not in self._locks:
            self._locks[key] = self._check_lock(state, vname, created)
        return self._locks[key]

    def _check_lock(self, state: dict[str, str], vname: str, created: str) -> VersionLock:
        # imported here, not above: importing pyHanko takes about half a second, and the audit log's check,
        # report rendering and archive selection need this module without it
        from .aip_layout import SIGNATURE_FILE, SIGNATURE_MANIFEST
        from .signing import check_lock

        if SIGNATURE_MANIFEST not in state or SIGNATURE_FILE not in state:
            return VersionLock(vname, "AUD010", Text.of("lock.no_signature_files"))
        manifest = self.read_verified(state[SIGNATURE_MANIFEST])
        p7s = self.read_verified(state[SIGNATURE_FILE])
        if manifest is None or p7s is None:
            return VersionLock(vname, "AUD010", Text.of("lock.no_matching_copy"))
        try:
            at = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
        except ValueError:
            at = None
        try:
            status: LockStatus = check_lock(state, manifest, p7s, self.trust_roots, at=at)
        except SigningError as exc:  # e.g. an unreadable trust root: the lock cannot be evaluated
            return VersionLock(vname, "AUD010", Text.of("lock.not_evaluated", detail=str(exc)))
        if not status.signature.bottom_line:
            return VersionLock(vname, "AUD010", status.signature.reason or Text.of("lock.signature_invalid"))
        if not status.manifest_matches:
            return VersionLock(vname, "AUD011", Text.of("signature.problems", problems=status.problems[:20]))
        return VersionLock(vname, None)

    def matching_content(self, inv: Mapping[str, Any]) -> int:
        """How many manifest entries have a byte-exact copy somewhere (a tie-breaker between inventories)."""
        return sum(1 for c, d in content_map(inv).items() if any(k[1] == c for k in self.by_digest.get(d, ())))


@dataclass
class Candidate:
    """Distinct inventory bytes found in the copies, where they sit, and whether every lock verifies."""

    data: bytes
    inventory: dict[str, Any] | None
    error: str | None
    locations: list[tuple[str, str]] = field(default_factory=list)
    locks: list[VersionLock] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return self.inventory is not None and not any(lock.code for lock in self.locks)

    def score(self, evidence: Evidence) -> tuple[int, int, int, int]:
        assert self.inventory is not None
        primary = any(label == PRIMARY for label, _ in self.locations)
        return (len(self.inventory["versions"]), len(self.locations), evidence.matching_content(self.inventory),
                int(primary))


def _head_version_rel(scan: CopyScan) -> str | None:
    numbers = [int(rel.split("/")[0][1:]) for rel in scan.meta if rel.endswith("/" + INVENTORY)]
    return f"v{max(numbers)}/{INVENTORY}" if numbers else None


def candidates(object_id: str, evidence: Evidence) -> list[Candidate]:
    """Every distinct root or head-version inventory among the copies, each with its locks checked."""
    found: dict[bytes, Candidate] = {}
    for label, scan in evidence.scans.items():
        for rel in (INVENTORY, _head_version_rel(scan)):
            data = scan.meta.get(rel) if rel else None
            if data is None or rel is None:
                continue
            if data not in found:
                inv, error = parse_inventory(data, object_id)
                found[data] = Candidate(data, inv, error)
                if inv is not None:
                    found[data].locks = [evidence.lock(inv, v) for v in inv["versions"]]
            found[data].locations.append((label, rel))
    return list(found.values())


def choose_reference(cands: list[Candidate], evidence: Evidence) -> Candidate | None:
    verified = [c for c in cands if c.verified]
    return max(verified, key=lambda c: c.score(evidence)) if verified else None


def lock_findings(cands: list[Candidate]) -> list[Finding]:
    """AUD010/AUD011 for every failing lock of every candidate, at each place the candidate sits."""
    out = []
    for cand in cands:
        for lock, code in ((lk, lk.code) for lk in cand.locks if lk.code):
            for label, rel in cand.locations:
                out.append(Finding(issue(code, rel, version=lock.version, detail=lock.detail), label))
    return out


def expected_sidecar(inventory: bytes) -> bytes:
    return sidecar_for(inventory)[1]
