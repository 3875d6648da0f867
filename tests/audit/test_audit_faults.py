"""Every fault class, on the primary and on a replica: detected, repaired from the good copy, store valid again.

Faults: bit flip, truncation, deletion, extra files, two files swapped, the root inventory rewritten with a
matching sidecar, a forged version signature (look-alike CA, inventories made consistent) and a re-signed
version (content changed, new manifest, look-alike CA). None may be reported as intact.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from repository.audit.run import Selection, run_audit
from repository.preservation.ocfl_inventory import serialize, sidecar_for
from repository.preservation.ocfl_validate import validate_with_ocfl_py
from repository.preservation.signing import SIGNATURE_FILE, SIGNATURE_MANIFEST, lock_version, sign_detached

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
HH1 = "urn:hsar:archive:HH-001"
APPLICATION = "v1/content/data/application/申请书.pdf"
REVIEW = "v1/content/data/review/审核表.pdf"
ANNUAL = "v2/content/data/dynamic/年度复核.pdf"
P7S = "v2/content/" + SIGNATURE_FILE
MANIFEST = "v2/content/" + SIGNATURE_MANIFEST


def object_root(repo, where: str) -> Path:
    root = repo.store.root if where == "primary" else repo.home / "replica1"
    return root / repo.store.layout.object_path(HH1)


def sha(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()


def rewrite(root: Path, mutate, names=("inventory.json", "v2/inventory.json")) -> None:
    """Change inventories as an attacker would: mutate the JSON, write it back, recompute the sidecars."""
    for name in names:
        inv = json.loads((root / name).read_text("utf-8"))
        mutate(inv)
        data = serialize(inv)
        (root / name).write_bytes(data)
        (root / (name + ".sha512")).write_bytes(sidecar_for(data)[1])


def swap_digest(old: str, new: str):
    def mutate(inv: dict) -> None:
        inv["manifest"] = {(new if d == old else d): p for d, p in inv["manifest"].items()}
        for block in inv["versions"].values():
            block["state"] = {(new if d == old else d): p for d, p in block["state"].items()}
    return mutate


def inject(fault: str, root: Path, rogue) -> set[str]:
    """Damage one object root; the codes the audit must report."""
    if fault == "bitflip":
        data = bytearray((root / APPLICATION).read_bytes())
        data[len(data) // 2] ^= 0x10
        (root / APPLICATION).write_bytes(bytes(data))
        return {"AUD007"}
    if fault == "truncation":
        with open(root / ANNUAL, "r+b") as handle:
            handle.truncate(100)
        return {"AUD007"}
    if fault == "deletion":
        (root / REVIEW).unlink()
        return {"AUD006"}
    if fault == "extra":
        (root / "v1/content/data/extra.pdf").write_bytes(b"planted")
        (root / "notes.txt").write_text("stray")
        (root / "v2/content/empty").mkdir()
        return {"AUD009"}
    if fault == "swap":
        a, b = (root / APPLICATION).read_bytes(), (root / REVIEW).read_bytes()
        (root / APPLICATION).write_bytes(b)
        (root / REVIEW).write_bytes(a)
        return {"AUD007"}
    if fault == "inventory":
        old = (root / APPLICATION).read_bytes()
        (root / APPLICATION).write_bytes(old + b"tampered")
        rewrite(root, swap_digest(sha(old), sha(old + b"tampered")), names=("inventory.json",))
        return {"AUD005", "AUD007", "AUD011"}
    if fault == "forged":
        manifest = (root / MANIFEST).read_bytes()
        old = (root / P7S).read_bytes()
        forged = sign_detached(manifest, rogue)  # a well-formed signature by the look-alike CA
        (root / P7S).write_bytes(forged)
        rewrite(root, swap_digest(sha(old), sha(forged)))
        return {"AUD010", "AUD005"}
    if fault == "resigned":
        inv = json.loads((root / "inventory.json").read_text("utf-8"))
        state = {p: d for d, ps in inv["versions"]["v2"]["state"].items() for p in ps}
        old_data = (root / ANNUAL).read_bytes()
        new_data = old_data.replace(b"annual review", b"annual REVIEW")
        (root / ANNUAL).write_bytes(new_data)
        state["data/dynamic/年度复核.pdf"] = sha(new_data)
        manifest, p7s = lock_version(state, rogue)
        old_m, old_p = (root / MANIFEST).read_bytes(), (root / P7S).read_bytes()
        (root / MANIFEST).write_bytes(manifest)
        (root / P7S).write_bytes(p7s)

        def mutate(inv: dict) -> None:
            for old, new in ((old_data, new_data), (old_m, manifest), (old_p, p7s)):
                swap_digest(sha(old), sha(new))(inv)
        rewrite(root, mutate)
        return {"AUD010"}
    raise AssertionError(fault)


FAULTS = ("bitflip", "truncation", "deletion", "extra", "swap", "inventory", "forged", "resigned")


def assert_valid(repo) -> None:
    for root in (repo.store.root, repo.home / "replica1"):
        assert validate_with_ocfl_py(root) == [], root


@pytest.fixture(params=["processes", "threads"])
def hashing(request, monkeypatch):
    """audit.hashing for the test (set before the repository opens), and how many hash worker pools the
    audits started."""
    from repository import hashprocs

    monkeypatch.setenv("HSAR_AUDIT_HASHING", request.param)
    started = []
    real = hashprocs.ProcessPool.start

    def start(pool):
        started.append(pool.workers)
        return real(pool)

    monkeypatch.setattr(hashprocs.ProcessPool, "start", start)
    return request.param, started


@pytest.mark.parametrize("where", ["primary", "replica1"])
@pytest.mark.parametrize("fault", FAULTS)
def test_fault_is_detected_and_repaired(hashing, repo, signers, fault, where):
    root = object_root(repo, where)
    expected = inject(fault, root, signers[1])
    if where == "primary":  # the damage is real: OCFL validation sees it, except a consistently re-signed object
        assert (validate_with_ocfl_py(repo.store.root) == []) == (fault in ("forged", "resigned"))

    run = run_audit(repo, Selection("all"), now=NOW)
    result = {a.object_id: a for a in run.archives}[HH1]
    codes = {f.code for f in result.findings}
    assert expected <= codes, codes
    assert result.result == "repaired" and not run.ok
    assert all(f.repaired for f in result.findings if f.issue.severity.value == "error"), result.to_dict()
    assert {f.copy for f in result.findings} == {where}
    assert all(r.verified for r in result.repairs)
    sources = {r.source.split(":")[0] for r in result.repairs if r.source and ":" in r.source}
    assert where not in sources or fault in ("swap",)  # only a verified copy is ever a source
    assert {e.type for e in result.events} >= {"fixity check", "digital signature validation"}
    assert {e.type for e in result.events} & {"recovery", "quarantine"}
    assert_valid(repo)

    again = run_audit(repo, Selection("all"), now=NOW)
    assert again.ok and all(a.result == "intact" for a in again.archives)
    mode, started = hashing
    assert started == ([2, 2] if mode == "processes" else [])  # each audit hashed in two worker processes


def test_swapped_files_are_repaired_without_any_replica(repo, home):
    """The bytes of a swapped pair are both present: each is restored from the other's place."""
    (home / "hsar.toml").write_text("[storage]\nreplicas = []\n", "utf-8")
    from repository.home import Repository

    with Repository.open(home) as alone:
        inject("swap", object_root(alone, "primary"), None)
        result = run_audit(alone, Selection("archive", (HH1,)), now=NOW).archives[0]
        assert result.result == "repaired"
        assert {r.source.split(":")[0] for r in result.repairs} == {"primary"}
        assert validate_with_ocfl_py(alone.store.root) == []


def test_object_deleted_from_the_primary_is_copied_back(repo):
    import shutil

    shutil.rmtree(object_root(repo, "primary"))
    run = run_audit(repo, Selection("all"), now=NOW)
    result = {a.object_id: a for a in run.archives}[HH1]
    assert {f.code for f in result.findings} == {"AUD001"} and result.result == "repaired"
    assert [r.action for r in result.repairs] == ["caught-up"]
    assert "replication" in {e.type for e in result.events}
    assert_valid(repo)


@pytest.mark.parametrize("damage, code", [
    ("declaration", "AUD002"), ("garbage-inventory", "AUD003"), ("sidecar", "AUD004"), ("symlink", "AUD008"),
    ("version-inventory", "AUD005"),
])
def test_structure_faults(repo, damage, code):
    root = object_root(repo, "primary")
    if damage == "declaration":
        (root / "0=ocfl_object_1.1").write_text("ocfl_object_1.0\n")
    elif damage == "garbage-inventory":
        (root / "inventory.json").write_bytes(b"{not json")
    elif damage == "sidecar":
        (root / "inventory.json.sha512").write_text("0" * 128 + " inventory.json\n")
    elif damage == "symlink":
        target = root / REVIEW
        target.unlink()
        os.symlink("/etc/hostname", target)
    elif damage == "version-inventory":
        def mutate(inv: dict) -> None:
            inv["versions"]["v1"]["message"] = "rewritten history"
        rewrite(root, mutate, names=("v1/inventory.json",))
    run = run_audit(repo, Selection("archive", (HH1,)), now=NOW)
    result = run.archives[0]
    assert code in {f.code for f in result.findings}
    assert result.result == "repaired", result.to_dict()
    assert_valid(repo)
