"""Planning and making repairs of one archive's copies from copies that verify (DA/T 70 BC, OCFL 1.1).

:func:`plan_copy` compares one copy with the inventory it should hold (the verified reference, or its own
verified shorter history when it is behind) and lists the findings: missing, corrupt or unreadable content
(E092), unexpected files and empty directories (E023, E024), wrong declaration, inventories and sidecars
(E003, E058-E064). :func:`apply_repairs` then repairs every copy in three phases:

1. *stage*: for each bad content file, copy bytes whose sha512 equals the inventory's digest (any copy, any
   path: a swapped or renamed file is a good source) into the copy's staging directory, hashing while
   copying; a source whose bytes no longer match is skipped, so a corrupt copy is never a source. Metadata
   (inventories, sidecars, declaration) is written from the verified bytes;
2. *install*: unexpected files go to ``<home>/audit/quarantine/`` (never deleted), then content files,
   version inventories, the declaration, the root inventory and its sidecar (last, as OCFL writers do) are
   moved into place with ``os.replace`` and fsynced. A copy whose root inventory changed since it was
   scanned (an ingest ran meanwhile) is left alone;
3. *verify*: every repaired file is read back and re-hashed.

:func:`catch_up` then copies the versions a copy lacks (or the whole object) from a copy that now holds the
reference exactly, through :func:`repository.preservation.replica.sync_object` (atomic, every byte verified).

Nothing here decides trust: that is :mod:`repository.preservation.copies`. Nothing here prints.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..codes import issue
from ..errors import PreservationError
from ..fixity import copy_and_hash, hash_file
from ..preservation.copies import (
    DECLARATION_BYTES,
    PRIMARY,
    Candidate,
    Copy,
    CopyScan,
    Evidence,
    Finding,
    content_map,
    expected_sidecar,
    found,
    is_prefix,
    parse_inventory,
    printable,
    prior_inventory_ok,
    read_small,
    sidecar_matches,
)
from ..preservation.ocfl_inventory import INVENTORY, SIDECAR
from ..preservation.ocfl_layout import OBJECT_DECLARATION, fsync_path, write_durable
from ..preservation.ocfl_txn import remove_empty_parents
from ..preservation.replica import require_root, sync_object


@dataclass(frozen=True)
class Repair:
    """One repair action on one copy; ``verified`` when the result was read back and matched."""

    copy: str
    path: str
    action: str  # restored | rewritten | quarantined | removed | caught-up
    source: str | None
    verified: bool
    detail: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", printable(self.path))  # as findings name it (see preservation.copies)
        object.__setattr__(self, "detail", printable(self.detail))  # may hold a quarantine path
        if self.source is not None:
            object.__setattr__(self, "source", printable(self.source))

    def to_dict(self) -> dict[str, object]:
        return {"copy": self.copy, "path": self.path, "action": self.action, "source": self.source,
                "verified": self.verified, "detail": self.detail}


@dataclass
class CopyPlan:
    """What one copy should hold and what is wrong with it."""

    label: str
    expected: bytes | None = None  # the inventory this copy should hold
    content: dict[str, str] = field(default_factory=dict)  # content path -> sha512
    meta: dict[str, bytes | None] = field(default_factory=dict)  # metadata path -> bytes (None: no good copy)
    bad_content: list[str] = field(default_factory=list)
    bad_meta: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    empty_dirs: list[str] = field(default_factory=list)
    catch_up: bool = False
    repairable: bool = True

    @property
    def damaged(self) -> bool:
        return bool(self.bad_content or self.bad_meta or self.unexpected or self.empty_dirs)


# ------------------------------------------------------------------------------------------- planning


def _expected_for(scan: CopyScan, ref: Candidate | None, cands: dict[bytes, Candidate]
                  ) -> tuple[CopyPlan, list[Finding]]:
    """Which inventory the copy should hold (see module docstring of :mod:`repository.preservation.copies`)."""
    label, plan = scan.label, CopyPlan(scan.label)
    own = scan.meta.get(INVENTORY)
    mine = cands.get(own) if own is not None else None
    want = ref.inventory["head"] if ref is not None and ref.inventory else "?"
    if not scan.present:
        code = issue("AUD001", "", copy=label) if label == PRIMARY or ref is None else \
            issue("AUD013", "", copy=label, have="-", want=want)
        plan.catch_up = ref is not None
        return plan, [Finding(code, label)]
    if ref is None:
        plan.repairable = False
        plan.expected = own if mine is not None and mine.inventory is not None else None
        return plan, []
    assert ref.inventory is not None
    if own == ref.data or mine is None or not mine.verified:
        plan.expected = ref.data
        return plan, []
    assert mine.inventory is not None
    plan.expected = own
    if not is_prefix(mine.inventory, ref.inventory):
        plan.repairable = False
        detail = f"{label} {mine.inventory['head']} / {ref.locations[0][0]} {want}"
        return plan, [Finding(issue("AUD012", INVENTORY, detail=detail), label)]
    if len(mine.inventory["versions"]) < len(ref.inventory["versions"]):
        plan.catch_up = True
        have = mine.inventory["head"]
        if label == PRIMARY:  # ingest writes the primary first: a primary behind a replica has lost versions
            code = issue("AUD024", "", have=have, source=ref.locations[0][0], want=want)
        else:
            code = issue("AUD013", "", copy=label, have=have, want=want)
        return plan, [Finding(code, label)]
    plan.expected = ref.data  # same history, other bytes (e.g. a rewritten manifest block): take the reference
    return plan, []


def _good_prior(scans: dict[str, CopyScan], own: str, rel: str, inv: dict, vname: str) -> bytes | None:
    order = [own] + [label for label in scans if label != own]
    for label in order:
        data = scans[label].meta.get(rel)
        if data is not None and prior_inventory_ok(data, inv, vname):
            return data
    return None


def _expected_meta(plan: CopyPlan, inv: dict, scans: dict[str, CopyScan]) -> None:
    assert plan.expected is not None
    meta: dict[str, bytes | None] = {OBJECT_DECLARATION: DECLARATION_BYTES}
    for vname in sorted(inv["versions"], key=lambda v: int(v[1:])):
        rel = f"{vname}/{INVENTORY}"
        data = plan.expected if vname == inv["head"] else _good_prior(scans, plan.label, rel, inv, vname)
        meta[rel] = data
        meta[f"{rel}.sha512"] = expected_sidecar(data) if data is not None else None
    meta[INVENTORY] = plan.expected
    meta[SIDECAR] = expected_sidecar(plan.expected)
    plan.meta = meta


def _meta_findings(plan: CopyPlan, scan: CopyScan, object_id: str) -> list[Finding]:
    out = []
    for rel, want in plan.meta.items():
        have = scan.meta.get(rel) if rel in scan.files else None
        if rel.endswith(".sha512"):
            inventory_rel = rel[: -len(".sha512")]
            ok = sidecar_matches(have, plan.meta.get(inventory_rel))
        else:
            ok = have is not None and have == want
        if ok:
            continue
        if want is None:
            out.append(Finding(found("AUD014", rel), plan.label))
            continue
        plan.bad_meta.append(rel)
        if rel == OBJECT_DECLARATION:
            out.append(Finding(found("AUD002", rel), plan.label))
        elif rel.endswith(".sha512"):
            inventory_rel = rel[: -len(".sha512")]
            if scan.meta.get(inventory_rel) == plan.meta.get(inventory_rel):
                out.append(Finding(found("AUD004", rel), plan.label))
        else:
            _inv, error = parse_inventory(have, object_id)
            out.append(Finding(found("AUD003", rel, detail=error) if error else found("AUD005", rel), plan.label))
    return out


def _content_findings(plan: CopyPlan, scan: CopyScan, evidence: Evidence) -> list[Finding]:
    out = []
    hidden = tuple(d + "/" if d else "" for d, _why in scan.unreadable)  # AUD026: inside is unknown, not missing
    for rel, digest in plan.content.items():
        if rel.startswith(hidden):
            continue
        actual = evidence.hashes.get((scan.label, rel)) if rel in scan.files else None
        if rel not in scan.files:
            out.append(Finding(found("AUD006", rel), plan.label))
        elif not isinstance(actual, str):
            detail = getattr(actual, "strerror", None) or str(actual or "not read")
            out.append(Finding(found("AUD008", rel, detail=detail), plan.label))
        elif actual != digest:
            out.append(Finding(found("AUD007", rel, expected=digest[:16], found=actual[:16]), plan.label))
        else:
            continue
        plan.bad_content.append(rel)
    plan.unexpected = sorted(set(scan.files) - set(plan.content) - set(plan.meta))
    plan.empty_dirs = list(scan.empty_dirs)
    out += [Finding(found("AUD009", rel), plan.label) for rel in plan.unexpected]
    out += [Finding(found("AUD009", rel + "/"), plan.label) for rel in plan.empty_dirs]
    return out


def plan_copy(scan: CopyScan, ref: Candidate | None, cands: dict[bytes, Candidate], evidence: Evidence,
              object_id: str) -> tuple[CopyPlan, list[Finding]]:
    """The plan and findings for one copy."""
    plan, findings = _expected_for(scan, ref, cands)
    findings += [Finding(found("AUD026", (rel or ".") + "/", detail=why), scan.label) for rel, why in scan.unreadable]
    inv, _error = parse_inventory(plan.expected, object_id)
    if inv is None or not scan.present:
        return plan, findings
    plan.content = content_map(inv)
    _expected_meta(plan, inv, dict(evidence.scans))
    findings += _meta_findings(plan, scan, object_id)
    findings += _content_findings(plan, scan, evidence)
    return plan, findings


# ------------------------------------------------------------------------------------------- repairing


@dataclass
class _Staged:
    rel: str
    tmp: Path
    kind: str  # content | meta
    source: str | None
    digest: str | None = None
    data: bytes | None = None


def _stage_content(evidence: Evidence, digest: str, tmp: Path) -> str | None:
    """Copy verified bytes with ``digest`` to ``tmp``; the source used (``copy:path``) or None."""
    for label, rel in evidence.by_digest.get(digest, ()):
        try:
            _size, digests = copy_and_hash(evidence.path(label, rel), tmp, ["sha512"], fsync=True)
        except OSError:
            tmp.unlink(missing_ok=True)
            continue
        if digests["sha512"] == digest:
            return f"{label}:{rel}"
        tmp.unlink(missing_ok=True)
    return None


def _stage(plan: CopyPlan, evidence: Evidence, workdir: Path) -> tuple[list[_Staged], list[str]]:
    """Phase 1 for one copy: staged files, and the paths no good copy was found for."""
    staged, lost = [], []
    for n, rel in enumerate(plan.bad_content):
        tmp, digest = workdir / f"c{n}", plan.content[rel]
        source = _stage_content(evidence, digest, tmp)
        if source is None:
            lost.append(rel)
        else:
            staged.append(_Staged(rel, tmp, "content", source, digest=digest))
    for n, rel in enumerate(plan.bad_meta):
        data = plan.meta[rel]
        assert data is not None
        tmp = workdir / f"m{n}"
        write_durable(tmp, data)
        staged.append(_Staged(rel, tmp, "meta", "verified inventory", data=data))
    return staged, lost


def _meta_order(rel: str) -> tuple[int, int, str]:
    """Version inventories first (oldest first, sidecar after inventory), declaration, root inventory, sidecar."""
    if rel == SIDECAR:
        return (3, 0, rel)
    if rel == INVENTORY:
        return (2, 0, rel)
    if rel == OBJECT_DECLARATION:
        return (1, 0, rel)
    return (0, int(rel.split("/")[0][1:]), rel)


def _install(item: _Staged, object_root: Path) -> None:
    target = object_root / item.rel
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(item.tmp, target)
    fsync_path(target.parent, directory=True)


def _verify(item: _Staged, object_root: Path) -> bool:
    target = object_root / item.rel
    if item.kind == "content":
        try:
            return hash_file(target, ["sha512"])[1]["sha512"] == item.digest
        except OSError:
            return False
    return read_small(target) == item.data


def _quarantine(plan: CopyPlan, scan: CopyScan, destination: Path) -> list[Repair]:
    done = []
    for rel in plan.unexpected:
        source, target = scan.object_root / rel, destination / rel
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(source, target)
            remove_empty_parents(source.parent, scan.object_root)
            done.append(Repair(plan.label, rel, "quarantined", None, not os.path.lexists(source), str(target)))
        except OSError as exc:
            done.append(Repair(plan.label, rel, "quarantined", None, False, str(exc)))
    for rel in plan.empty_dirs:
        path = scan.object_root / rel
        remove_empty_parents(path, scan.object_root)
        done.append(Repair(plan.label, rel + "/", "removed", None, not path.exists()))
    return done


def _install_copy(plan: CopyPlan, scan: CopyScan, staged: list[_Staged], quarantine: Path) -> list[Repair]:
    done = _quarantine(plan, scan, quarantine / plan.label)
    items = [s for s in staged if s.kind == "content"]
    items += sorted((s for s in staged if s.kind == "meta"), key=lambda s: _meta_order(s.rel))
    for item in items:
        action = "restored" if item.kind == "content" else "rewritten"
        try:
            _install(item, scan.object_root)
        except OSError as exc:
            done.append(Repair(plan.label, item.rel, action, item.source, False, str(exc)))
            continue
        done.append(Repair(plan.label, item.rel, action, item.source, _verify(item, scan.object_root)))
    return done


def apply_repairs(plans: dict[str, CopyPlan], evidence: Evidence, copies: dict[str, Copy], quarantine: Path
                  ) -> tuple[list[Repair], list[Finding]]:
    """Repair every damaged, repairable copy; the repairs made and new findings (lost files, races)."""
    work = {label: plan for label, plan in plans.items() if plan.repairable and plan.damaged}
    workdirs: dict[str, Path] = {}
    staged: dict[str, list[_Staged]] = {}
    findings: list[Finding] = []
    try:
        for label, plan in work.items():  # phase 1 for every copy before any copy changes
            workdirs[label] = copies[label].staging / f"audit-repair-{secrets.token_hex(6)}"
            workdirs[label].mkdir(parents=True)
            staged[label], lost = _stage(plan, evidence, workdirs[label])
            findings += [Finding(found("AUD014", rel), label) for rel in lost]
        repairs: list[Repair] = []
        for label, plan in work.items():
            scan = evidence.scans[label]
            if scan.changed():
                findings.append(Finding(issue("AUD018", INVENTORY, detail=f"{label}: inventory.json changed"), label))
                continue
            try:
                require_root(copies[label].root)
            except PreservationError as exc:
                findings.append(Finding(issue("AUD017", "", copy=label, detail=str(exc)), label))
                continue
            repairs += _install_copy(plan, scan, staged[label], quarantine)
        return repairs, findings
    finally:
        for workdir in workdirs.values():
            shutil.rmtree(workdir, ignore_errors=True)


def catch_up(plans: dict[str, CopyPlan], ref: Candidate, object_id: str, copies: dict[str, Copy],
             done: list[Repair]) -> list[Repair]:
    """Bring copies that are behind (or lack the object) up to the reference, copying from a copy that now
    holds exactly the reference with every problem repaired (each byte is verified again while copied)."""
    fixed = {(r.copy, r.path) for r in done if r.verified}
    clean = [label for label, p in plans.items() if p.expected == ref.data and all(
        (label, printable(rel)) in fixed for rel in p.bad_content + p.bad_meta + p.unexpected)]
    out = []
    for plan in (p for p in plans.values() if p.catch_up):
        if not clean:
            out.append(Repair(plan.label, "", "caught-up", None, False, "no clean copy to copy from"))
            continue
        target, source = copies[plan.label], copies[clean[0]]
        assert target.store is not None and source.store is not None
        try:
            versions = sync_object(source.store.object_root(object_id), ref.data, target.store, object_id,
                                   target.staging)
            out.append(Repair(plan.label, "", "caught-up", clean[0], True, ", ".join(versions)))
        except (PreservationError, OSError) as exc:
            out.append(Repair(plan.label, "", "caught-up", clean[0], False, str(exc)))
    return out
