"""Faults signatures cannot reveal, and hostile storage: a version rolled back or deleted, a file name that is
not UTF-8, a directory that cannot be listed, the same archive named twice, archives left past a byte budget."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from repository.audit.run import Selection, run_audit
from repository.home import Repository
from repository.preservation.auditlog import AuditLog
from repository.preservation.ocfl_validate import validate_with_ocfl_py

from .conftest import write_toml

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
HH1 = "urn:hsar:archive:HH-001"
HH2 = "urn:hsar:archive:HH-002"


def object_root(repo, where: str = "primary", object_id: str = HH1) -> Path:
    root = repo.store.root if where == "primary" else repo.home / "replica1"
    return root / repo.store.layout.object_path(object_id)


def roll_back(root: Path) -> None:
    """Put v1's signed inventory back as the object's inventory and delete v2: every remaining signature
    verifies, the object is valid OCFL, only the history knows better."""
    for name in ("inventory.json", "inventory.json.sha512"):
        shutil.copyfile(root / "v1" / name, root / name)
    shutil.rmtree(root / "v2")


def codes_of(run, object_id: str = HH1) -> dict[str, str]:
    result = {a.object_id: a for a in run.archives}[object_id]
    return {f.code: f.copy for f in result.findings}


def test_a_primary_rolled_back_behind_its_replica_is_a_loss_and_is_caught_up(repo):
    roll_back(object_root(repo))
    assert validate_with_ocfl_py(repo.store.root) == []  # nothing an OCFL validator can see
    checked = run_audit(repo, Selection("all", repair=False), now=NOW)
    assert codes_of(checked) == {"AUD024": "primary"} and not checked.ok
    assert {a.object_id: a.result for a in checked.archives}[HH1] == "failed"  # not "intact" with a warning

    run = run_audit(repo, Selection("all"), now=NOW)
    result = {a.object_id: a for a in run.archives}[HH1]
    assert result.result == "repaired" and [r.action for r in result.repairs] == ["caught-up"]
    assert (object_root(repo) / "v2").is_dir() and validate_with_ocfl_py(repo.store.root) == []
    assert run_audit(repo, Selection("all"), now=NOW).ok


def test_replicate_says_the_primary_is_behind_and_leaves_the_replica_alone(repo):
    from repository.preservation.replica import replicate

    roll_back(object_root(repo))
    before = (object_root(repo, "replica1") / "inventory.json").read_bytes()
    result = replicate(repo, now=NOW)
    (error,) = result.errors
    assert not result.ok and error.object_id == HH1 and "lost versions" in error.error and "v1 < v2" in error.error
    assert (object_root(repo, "replica1") / "inventory.json").read_bytes() == before


def test_a_rollback_in_every_copy_is_caught_by_the_recorded_history(repo):
    first = run_audit(repo, Selection("all"), now=NOW)
    assert first.ok and {a.object_id: a.head for a in first.archives}[HH1] == "v2"  # recorded in the catalogue
    for where in ("primary", "replica1"):
        roll_back(object_root(repo, where))
    run = run_audit(repo, Selection("all"), now=NOW)
    assert codes_of(run) == {"AUD025": "*"} and not run.ok
    result = {a.object_id: a for a in run.archives}[HH1]
    assert result.result == "failed" and "v2" in result.findings[0].issue.message
    assert {a.object_id: a.result for a in run.archives}[HH2] == "intact"
    assert "HH-001" in run.summary()["failed"]


def test_a_changed_inventory_during_the_audit_is_not_called_a_loss(repo, monkeypatch):
    """Ingest commits storage before the catalogue: when the root inventory moved since the scan, the audit
    says so (AUD018) instead of reporting lost versions."""
    from repository.audit import work as audit_work

    assert run_audit(repo, Selection("all"), now=NOW).ok
    for where in ("primary", "replica1"):
        roll_back(object_root(repo, where))
    monkeypatch.setattr(audit_work, "changed_since_scan", lambda work: True)
    run = run_audit(repo, Selection("all", repair=False), now=NOW)
    assert codes_of(run) == {"AUD018": "*"}


def test_a_file_name_that_is_not_utf8_is_quarantined_recorded_and_reported(repo, home):
    bad = os.fsencode(object_root(repo)) + b"/v1/content/data/bad\xffname.pdf"
    with open(bad, "wb") as handle:
        handle.write(b"planted")
    run = run_audit(repo, Selection("archive", (HH1,)), now=NOW)
    result = run.archives[0]
    (finding,) = result.findings
    assert finding.code == "AUD009" and finding.issue.path == "v1/content/data/bad\\xffname.pdf"
    assert finding.repaired and result.result == "repaired"
    assert not os.path.lexists(bad)
    quarantined = [p for p in Path(home / "audit" / "quarantine").rglob("*") if p.is_file()]
    assert [p.read_bytes() for p in quarantined] == [b"planted"]  # kept, never deleted
    assert len(run.reports) == 2 and all(Path(p).is_file() for p in run.reports)
    report = json.loads(Path(run.reports[0]).read_text("utf-8"))
    assert report["archives"][0]["findings"][0]["path"] == "v1/content/data/bad\\xffname.pdf"
    assert "bad\\xffname.pdf" in Path(run.reports[1]).read_text("utf-8")  # the HTML page
    assert AuditLog(home / "audit").verify().ok
    assert validate_with_ocfl_py(repo.store.root) == []


def test_an_unreadable_directory_is_reported_and_the_run_goes_on(repo, monkeypatch):
    review = os.path.join(object_root(repo), "v1", "content", "data", "review")
    real = os.scandir

    def scandir(path="."):
        if os.fspath(path) == review:
            raise PermissionError(13, "Permission denied", review)
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)  # root ignores chmod 000: refuse the listing itself
    run = run_audit(repo, Selection("all", repair=False), now=NOW)
    codes = codes_of(run)
    assert codes.get("AUD026") == "primary" and "AUD006" not in codes  # its files are unknown, not missing
    result = {a.object_id: a for a in run.archives}[HH1]
    assert result.result == "failed"
    assert any("Permission denied" in f["message"] for f in result.to_dict()["findings"] if f["code"] == "AUD026")
    assert {a.object_id: a.result for a in run.archives}[HH2] == "intact"  # the other archive was checked
    assert len(run.reports) == 2


def test_the_same_archive_named_twice_is_checked_once(repo):
    run = run_audit(repo, Selection("archive", (HH1, "HH-001", HH1)), now=NOW)
    assert [a.object_id for a in run.archives] == [HH1] and run.ok


def test_due_archives_beyond_the_byte_budget_are_counted(home):
    write_toml(home, audit={"budget_bytes": 1})
    with Repository.open(home) as repo:
        run = run_audit(repo, Selection("due"), now=NOW)
    assert len(run.archives) == 1  # a run always takes one
    (deferred,) = [i for i in run.issues if i.code == "AUD027"]
    assert dict(deferred.params)["count"] == "1" and run.ok  # information, not a failure


def test_the_storage_hierarchy_holds_only_objects_where_the_layout_puts_them(repo):
    store = repo.store.root
    assert run_audit(repo, Selection("all", repair=False), now=NOW).ok  # the store as built: nothing to say
    moved = store / "elsewhere" / "HH-002"
    moved.parent.mkdir()
    shutil.move(object_root(repo, object_id=HH2), moved)
    (object_root(repo).parent / "notes.txt").write_text("stray")  # beside an object, inside the hierarchy
    (store / "abc" / "def").mkdir(parents=True)  # ends in no object
    (store / "README.txt").write_text("a storage root may hold its own files")  # allowed (OCFL 1.1 §4.1)
    run = run_audit(repo, Selection("all", repair=False), now=NOW)
    hierarchy = {i.path: str(dict(i.params)["detail"]) for i in run.issues if i.code == "AUD028"}
    rel = os.path.relpath(object_root(repo).parent / "notes.txt", store)
    left = os.path.relpath(object_root(repo, object_id=HH2).parent, store)  # the move left it empty
    assert set(hierarchy) == {"elsewhere/HH-002", rel, "abc/def", left}, hierarchy
    assert "E072" in hierarchy[rel] and "E073" in hierarchy["abc/def"]
    assert hierarchy["abc/def"] == "目录中没有对象（OCFL E073）"  # rendered per reader: the zh text alone
    assert HH2 in hierarchy["elsewhere/HH-002"] and not run.ok
    assert codes_of(run, HH2) == {"AUD001": "primary"}  # not where the layout puts it: missing there
    only_one = run_audit(repo, Selection("archive", (HH1,), repair=False), now=NOW)
    assert not [i for i in only_one.issues if i.code == "AUD028"]  # the hierarchy is judged when all is in view


def test_a_deeply_nested_inventory_is_a_finding_not_a_crash(repo):
    from repository.preservation.replica import replicate

    (object_root(repo, "replica1") / "v1" / "inventory.json").write_bytes(b"[" * 100_000)  # RecursionError in json
    run = run_audit(repo, Selection("all", repair=False), now=NOW)
    assert codes_of(run).get("AUD003") == "replica1" and not run.ok
    assert {a.object_id: a.result for a in run.archives}[HH2] == "intact"  # the run went on
    assert replicate(repo, now=NOW) is not None  # and so does replication
    repaired = run_audit(repo, Selection("all"), now=NOW)
    assert {a.object_id: a.result for a in repaired.archives}[HH1] == "repaired"
    assert run_audit(repo, Selection("all"), now=NOW).ok


def test_a_replica_root_that_vanishes_during_the_audit_is_not_recreated(repo, monkeypatch):
    from repository.audit import run as audit_module
    from repository.preservation.replica import replicate

    replica = repo.home / "replica1"
    real, moved = audit_module.scan_copy, []

    def scan_then_unmount(label, root):
        if not moved:  # the disk goes away once the audit has opened its copies
            moved.append(shutil.move(replica, repo.home / "replica1.gone"))
        return real(label, root)

    monkeypatch.setattr(audit_module, "scan_copy", scan_then_unmount)
    run = run_audit(repo, Selection("all"), now=NOW)
    assert not os.path.lexists(replica)  # nothing was written in its place
    assert not run.ok and any(i.code == "AUD017" and dict(i.params)["copy"] == "replica1" for i in run.issues)
    failed = [r for a in run.archives for r in a.repairs if r.action == "caught-up"]
    assert failed and not any(r.verified for r in failed) and "gone" in failed[0].detail
    assert all(a.result == "intact" for a in run.archives)  # the primary is: the replica is only behind
    assert {f.code for a in run.archives for f in a.findings} == {"AUD013"}
    monkeypatch.undo()
    result = replicate(repo, now=NOW)  # replication refuses the missing root as well
    assert not result.ok and not os.path.lexists(replica)


def test_an_unusable_catalogue_fails_the_run_instead_of_hiding_lost_versions(home):
    with Repository.open(home) as repo:
        assert run_audit(repo, Selection("all"), now=NOW).ok  # records v2 of HH-001
    (home / "catalog.sqlite").write_bytes(os.urandom(5000))  # corrupt: rollbacks can no longer be seen
    with Repository.open(home) as repo:
        run = run_audit(repo, Selection("all"), now=NOW)
    (failure,) = [i for i in run.issues if i.code == "AUD029"]
    assert not run.ok and failure.severity.value == "error"
    assert all(a.result == "intact" for a in run.archives)  # every byte was still checked
    assert AuditLog(home / "audit").verify().ok  # and recorded in the log


def test_a_rollback_stays_caught_when_the_catalogue_is_lost_too(home):
    """Delete the last version (every copy), put back the previous inventory, delete catalog.sqlite and
    make it anew: the hash-chained audit log still records that v2 was verified (AUD031)."""
    from click.testing import CliRunner

    from repository.cli import cli

    with Repository.open(home) as repo:
        first = run_audit(repo, Selection("all"), now=NOW)
        assert first.ok and {a.object_id: a.head for a in first.archives}[HH1] == "v2"
        for where in ("primary", "replica1"):
            roll_back(object_root(repo, where))
    (home / "catalog.sqlite").unlink()
    for extra in home.glob("catalog.sqlite-*"):
        extra.unlink()
    with Repository.open(home) as repo:  # the fixture's stand-in descriptions cannot be catalogued: an
        repo.create_catalog()  # empty catalogue (what rebuild-catalog gives of these objects: v1 at most)
        run = run_audit(repo, Selection("all"), now=NOW)
    assert codes_of(run) == {"AUD031": "*"} and not run.ok
    assert "v2" in {a.object_id: a for a in run.archives}[HH1].findings[0].issue.message
    assert {a.object_id: a.result for a in run.archives}[HH2] == "intact"
    audited = CliRunner().invoke(cli, ["--home", str(home), "audit", "--all", "--no-repair"])
    assert audited.exit_code == 1 and "AUD031" in audited.output
