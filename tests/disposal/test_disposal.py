"""Retention and disposal: the two-person rule, removal from every copy, signed tombstones, recovery."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from repository.accounts.proposals import DISPOSED, PENDING, REJECTED
from repository.catalog.disposals import get_disposal
from repository.errors import DisposalError
from repository.model import ArchiveType, Retention, Status
from repository.preservation.ids import object_id
from repository.preservation.tombstone import SIGNATURE_FILE, TOMBSTONE_FILE, read_tombstone, tombstone_dir
from repository.retention import term
from repository.services import disposal

LATER = date(2060, 1, 1)  # the day retention is judged: every D10 term that has started has ended by then
# The moment of signing: the demo PKI of the session's home is made now and valid for years from now, and
# `openssl cms -verify` checks the chain at the present time, so signatures are made at the present second.
NOW = datetime.now(UTC).replace(microsecond=0)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def openssl_verify(directory: Path, ca: Path) -> subprocess.CompletedProcess[str]:
    """The check anyone can run on a tombstone with the CA certificate alone."""
    command = ["openssl", "cms", "-verify", "-binary", "-CAfile", str(ca), "-content", str(directory / TOMBSTONE_FILE),
               "-in", str(directory / SIGNATURE_FILE), "-inform", "DER", "-out", "/dev/null"]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def _dispose(repo, archive_id: str) -> disposal.Disposed:
    proposal = disposal.propose(repo, archive_id, "保管期限已满，经鉴定无继续保存价值", "alice", today=LATER)
    return disposal.approve(repo, proposal.id, "bob", today=LATER, now=NOW)


# ------------------------------------------------------------------------------------------- the rule


def test_household_retention_runs_from_the_exit_not_from_filing():
    exited = term(Retention.SHORT, ArchiveType.HOUSEHOLD, 2015, date(2021, 6, 30), Status.EXITED, date(2021, 6, 30))
    assert (exited.rule, exited.starts, exited.ends) == ("exit", date(2021, 6, 30), date(2031, 6, 30))
    assert not exited.due(date(2031, 6, 29)) and exited.due(date(2031, 6, 30))
    provided = term(Retention.SHORT, ArchiveType.HOUSEHOLD, 2015, None, Status.PROVIDED, date(2016, 1, 1))
    assert (provided.rule, provided.starts, provided.ends) == ("not_exited", None, None)
    assert not provided.due(date(2200, 1, 1))  # filed in 2015, yet never due while security goes on
    unit = term(Retention.LONG, ArchiveType.UNIT, 2015, None, None, None)
    assert (unit.rule, unit.starts, unit.ends) == ("closing_year", date(2016, 1, 1), date(2046, 1, 1))
    permanent = term(Retention.PERMANENT, ArchiveType.HOUSEHOLD, 2015, date(2020, 2, 29), Status.EXITED,
                     date(2020, 2, 29))
    assert permanent.ends is None and not permanent.due(date(9999, 1, 1))
    leap = term(Retention.SHORT, ArchiveType.HOUSEHOLD, 2015, None, Status.EXITED, date(2020, 2, 29))
    assert leap.ends == date(2030, 2, 28)


def test_due_lists_the_archives_whose_retention_ended(repo, plan):
    found = {d.archive_id: d for d in disposal.due(repo, today=LATER)}
    assert set(found) == {plan.leaving, plan.unit}  # the staying household's term has not started; Y never ends
    leaving = found[plan.leaving].term
    assert (leaving.rule, leaving.starts) == ("exit", plan.exit_date)  # from the exit, not the filing year
    day_before = date(plan.exit_date.year + 10, plan.exit_date.month, plan.exit_date.day).toordinal() - 1
    assert plan.leaving not in {d.archive_id for d in disposal.due(repo, today=date.fromordinal(day_before))}
    carol = disposal.user_principal(repo, "carol")
    assert disposal.due(repo, carol, today=LATER) == []  # division-scoped
    # the catalogue reads only the archives whose term can end: exactly those the term says are due, any day
    from repository.catalog.disposals import retention_rows

    every = retention_rows(repo.catalog)
    candidates = {r.archive_id for r in retention_rows(repo.catalog, could_be_due=True)}
    assert candidates < {r.archive_id for r in every}  # some are never due (permanent, not exited)
    for day in (LATER, date(9999, 12, 31)):
        ended = {r.archive_id for r in every
                 if term(r.retention, r.type, r.year, r.end, r.status, r.status_since).due(day)}
        assert ended <= candidates and ended == {d.archive_id for d in disposal.due(repo, today=day)}


# ------------------------------------------------------------------------------------- two people


def test_self_approval_is_refused_and_changes_nothing(repo, home, plan):
    proposal = disposal.propose(repo, plan.unit, "期满", "alice", today=LATER)
    assert proposal.state == PENDING
    before = tree(home / "storage"), tree(home / "replica1")
    with pytest.raises(DisposalError) as refused:
        disposal.approve(repo, proposal.id, "alice", today=LATER, now=NOW)
    assert refused.value.code == "DSP-SELF"
    with pytest.raises(DisposalError) as also:
        disposal.reject(repo, proposal.id, "alice")
    assert also.value.code == "DSP-SELF"
    assert (tree(home / "storage"), tree(home / "replica1")) == before
    assert disposal.proposals(repo)[0].state == PENDING and repo.catalog.show(plan.unit) is not None


def test_who_may_propose_and_what(repo, plan):
    for user, archive_id, code in [("dave", plan.unit, "DSP-USER"),  # an auditor
                                   ("nobody", plan.unit, "DSP-USER"),
                                   ("carol", plan.unit, "DSP-UNKNOWN"),  # outside her division: unknown
                                   ("alice", plan.staying, "DSP-NOT-DUE"),
                                   ("alice", "no-such-archive", "DSP-UNKNOWN")]:
        with pytest.raises(DisposalError) as refused:
            disposal.propose(repo, archive_id, "期满", user, today=LATER)
        assert refused.value.code == code, (user, archive_id)
    with pytest.raises(DisposalError) as no_reason:
        disposal.propose(repo, plan.unit, "  ", "alice", today=LATER)
    assert no_reason.value.code == "DSP-REASON"
    first = disposal.propose(repo, plan.unit, "期满", "alice", today=LATER)
    with pytest.raises(DisposalError) as twice:
        disposal.propose(repo, plan.unit, "期满", "bob", today=LATER)
    assert twice.value.code == "DSP-PENDING"
    with pytest.raises(DisposalError) as hidden:
        disposal.approve(repo, first.id, "carol", today=LATER, now=NOW)
    assert hidden.value.code == "DSP-UNKNOWN"
    rejected = disposal.reject(repo, first.id, "root", "仍有利用价值")
    assert (rejected.state, rejected.decided_by, rejected.note) == (REJECTED, "root", "仍有利用价值")
    assert repo.catalog.show(plan.unit) is not None  # rejecting removes nothing
    with pytest.raises(DisposalError) as decided:
        disposal.approve(repo, first.id, "bob", today=LATER, now=NOW)
    assert decided.value.code == "DSP-DECIDED"


# ------------------------------------------------------------------------------------ the disposal


def test_approval_removes_every_copy_and_the_index_and_keeps_a_signed_tombstone(repo, home, plan):
    from repository.preservation.auditlog import AuditLog
    from repository.preservation.ocfl_validate import validate_with_ocfl_py
    from repository.search.results import SearchRequest

    oid = object_id(plan.leaving)
    stored = [repo.store.object_root(oid), home / "replica1" / repo.store.object_root(oid).relative_to(home / "storage")]
    assert all(p.is_dir() for p in stored)
    inventory = repo.store.inventory(oid)
    indexed = repo.search.count()
    def found() -> set[str]:
        return {h.archive_id for h in repo.search.search(SearchRequest(per_page=100)).hits}

    assert plan.leaving in found()

    done = _dispose(repo, plan.leaving)

    assert done.proposal.state == DISPOSED and done.proposal.decided_by == "bob"
    assert not any(p.exists() for p in stored)  # primary and replica
    assert repo.catalog.show(plan.leaving) is None and repo.search.count() == indexed - 1
    assert plan.leaving not in found() and found()
    for root in (home / "storage", home / "replica1"):
        ts = read_tombstone(root, oid)
        assert ts is not None and ts.raw == (done.tombstone / TOMBSTONE_FILE).read_bytes()
        assert validate_with_ocfl_py(root) == []  # still a valid OCFL storage root
        result = openssl_verify(ts.directory, home / "keys" / "ca.pem")
        assert result.returncode == 0 and "Verification successful" in result.stderr, result.stderr
    data = json.loads((done.tombstone / TOMBSTONE_FILE).read_text("utf-8"))
    assert data["archive_id"] == plan.leaving and data["reference_code"].count("-D10-") == 1
    assert data["proposal"]["proposed_by"] == "alice" and data["proposal"]["approved_by"] == "bob"
    assert data["proposal"]["reason"].startswith("保管期限已满") and data["disposed_at"] == NOW.isoformat()
    assert data["retention_term"]["starts"] == plan.exit_date.isoformat()
    assert data["paper"]["items"] and all("box" in i and "volume" in i for i in data["paper"]["items"])
    assert {f["sha512"] for f in data["removed"]["files"]} == set(inventory["manifest"])
    assert [v["version"] for v in data["removed"]["versions"]] == sorted(inventory["versions"])
    assert data["removed"]["copies"] == ["primary", "replica1"]
    assert data["premis_event"]["type"] == "deletion"
    assert ["person/bob", "authorizer"] in data["premis_event"]["agents"]
    log = AuditLog(home / "audit")
    entries = [json.loads(line) for line in log.path.read_text("utf-8").splitlines()]
    assert entries[-1]["event"]["identifier"] == data["premis_event"]["identifier"] and log.verify().ok
    gone = get_disposal(repo.catalog, plan.leaving)
    assert gone is not None and gone.approved_by == "bob" and gone.tombstone == data
    with pytest.raises(DisposalError) as again:
        disposal.propose(repo, plan.leaving, "再次", "alice", today=LATER)
    assert again.value.code == "DSP-DISPOSED"


def test_a_disposed_archive_stays_disposed_through_rebuild_catalog(repo, plan):
    from repository.services.catalog import rebuild_catalog

    _dispose(repo, plan.unit)
    rebuild_catalog(repo)
    assert repo.catalog.show(plan.unit) is None
    kept = disposal.tombstone_of(repo, plan.unit)
    assert kept is not None and kept.proposed_by == "alice" and kept.tombstone["archive_id"] == plan.unit
    assert disposal.tombstone_of(repo, plan.unit, disposal.user_principal(repo, "carol")) is None  # scope
    assert plan.unit in {d.archive_id for d in disposal.disposed(repo)}


def test_audit_passes_after_disposal_and_flags_forgery_and_resurrection(repo, home, plan):
    from repository.audit.run import Selection, run_audit

    oid = object_id(plan.unit)
    saved = home.parent / "saved-object"
    shutil.copytree(repo.store.object_root(oid), saved)
    _dispose(repo, plan.unit)
    clean = run_audit(repo, Selection("all"), now=NOW, alert=False, report=False)
    assert clean.ok and not [i for i in clean.issues if i.code.startswith("DSP")]
    assert plan.unit not in {a.archive_id for a in clean.archives}

    good = home.parent / "good-tombstone"
    shutil.copytree(tombstone_dir(repo.store.root, oid), good)
    forged = tombstone_dir(home / "replica1", oid) / TOMBSTONE_FILE
    forged.write_bytes(forged.read_bytes().replace(b"alice", b"mallory"))
    shutil.copytree(saved, repo.store.object_root(oid))  # the object is back in the primary
    run = run_audit(repo, Selection("all"), now=NOW, alert=False, report=False)
    codes = {(i.code, dict(i.params).get("copy")) for i in run.issues if i.code.startswith("DSP")}
    assert codes == {("DSP001", "replica1"), ("DSP002", "primary")} and not run.ok

    (tombstone_dir(repo.store.root, oid) / SIGNATURE_FILE).unlink()  # a tombstone without its signature
    run = run_audit(repo, Selection("all"), now=NOW, alert=False, report=False)
    assert ("DSP004", "primary") in {(i.code, dict(i.params).get("copy")) for i in run.issues}
    shutil.rmtree(repo.store.object_root(oid))
    shutil.rmtree(tombstone_dir(repo.store.root, oid))
    shutil.copytree(good, tombstone_dir(repo.store.root, oid))
    shutil.rmtree(tombstone_dir(home / "replica1", oid))  # a replica without the tombstone
    run = run_audit(repo, Selection("all"), now=NOW, alert=False, report=False)
    assert [(i.code, dict(i.params)["copy"]) for i in run.issues if i.code.startswith("DSP")] == [("DSP003", "replica1")]
    from repository.preservation.replica import replicate

    replicate(repo, now=NOW)  # the replica gets its tombstone back
    assert read_tombstone(home / "replica1", oid) is not None


def test_an_audit_of_archives_named_reports_their_tombstones_only(repo, home, plan):
    """A run over the whole store checks every tombstone and is national; a run of archives named checks theirs
    only, so its report (for their division) names no archive disposed of elsewhere."""
    from repository.access import NATIONAL
    from repository.audit.run import Selection, run_audit

    _dispose(repo, plan.unit)
    shutil.rmtree(tombstone_dir(home / "replica1", object_id(plan.unit)))  # a replica without the tombstone
    whole = run_audit(repo, Selection("all"), now=NOW, alert=False, report=False)
    assert [i.code for i in whole.issues if i.code.startswith("DSP")] == ["DSP003"] and whole.scope == NATIONAL
    named = run_audit(repo, Selection("archive", (plan.staying,)), now=NOW, alert=False, report=False)
    assert not [i for i in named.issues if i.code.startswith("DSP")] and plan.unit not in str(named.to_dict())
    assert named.scope == repo.catalog.show(plan.staying).archive.division


def test_a_disposal_cut_short_is_finished_by_recovery(repo, home, plan, monkeypatch):
    from repository.home import disposal as steps
    from repository.preservation import tombstone

    class Killed(BaseException):
        pass

    calls = []
    real = tombstone.remove_object

    def die_after_the_replica(store, oid, staging):
        calls.append(store.root)
        if len(calls) == 2:  # the replica is gone, the primary not yet
            raise Killed
        return real(store, oid, staging)

    monkeypatch.setattr(steps, "remove_object", die_after_the_replica)
    with pytest.raises(Killed):
        _dispose(repo, plan.unit)
    monkeypatch.undo()
    assert steps.intents(repo) and repo.store.exists(object_id(plan.unit))
    assert disposal.proposals(repo)[0].state == PENDING
    assert any("finished the disposal" in line for line in repo.recover_if_idle())
    assert not steps.intents(repo) and not repo.store.exists(object_id(plan.unit))
    assert repo.catalog.show(plan.unit) is None and disposal.proposals(repo)[0].state == DISPOSED
    assert read_tombstone(home / "replica1", object_id(plan.unit)) is not None


@pytest.mark.parametrize("step", ["write_tombstone", "record_disposal", "log", "decide"])
def test_a_kill_at_any_step_is_finished_once_by_recovery(repo, home, plan, monkeypatch, step):
    """Killed after the intent: in the tombstones, before the catalogue, right after the audit log entry,
    before the proposal is closed. Recovery finishes it, with one deletion event in the log."""
    from repository.accounts import proposals
    from repository.catalog import disposals
    from repository.home import disposal as steps
    from repository.preservation.auditlog import AuditLog

    class Killed(BaseException):
        pass

    def killer(real, after: bool = False):  # noqa: ANN001, ANN202
        def die(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            if after:
                real(*args, **kwargs)
            raise Killed
        return die

    if step == "write_tombstone":
        written = []

        def second_copy_dies(root, *args):  # noqa: ANN001, ANN002, ANN202 - the primary's is written, then a kill
            written.append(root)
            if len(written) == 2:
                raise Killed
            return tombstone_write(root, *args)

        from repository.preservation.tombstone import write_tombstone as tombstone_write

        monkeypatch.setattr(steps, "write_tombstone", second_copy_dies)
    elif step == "record_disposal":
        monkeypatch.setattr(disposals, "record_disposal", killer(disposals.record_disposal))
    elif step == "log":
        monkeypatch.setattr(AuditLog, "append", killer(AuditLog.append, after=True))
    else:
        monkeypatch.setattr(proposals, "decide", killer(proposals.decide))
    with pytest.raises(Killed):
        _dispose(repo, plan.unit)
    monkeypatch.undo()
    repo.close()
    from repository.home import Repository

    with Repository.open(home) as again:
        assert steps.intents(again)
        assert any("finished the disposal" in line for line in again.recover_if_idle())
        assert not steps.intents(again) and not again.store.exists(object_id(plan.unit))
        assert again.catalog.show(plan.unit) is None and disposal.proposals(again)[0].state == DISPOSED
        for root in (home / "storage", home / "replica1"):
            assert read_tombstone(root, object_id(plan.unit)) is not None
        log = AuditLog(home / "audit")
        deletions = [line for line in log.path.read_text("utf-8").splitlines() if '"deletion"' in line]
        assert len(deletions) == 1 and log.verify().ok
