"""A disposal never races the work that reads or changes the same store: ingest (the home lock), an audit (the
audit lock), an export, an OCR run or replication (the store-readers lock). Whoever comes second is refused at
once with a busy code (exit 75) and nothing is changed; an audit after a disposal finds the tombstone and
reports nothing missing, also after ``rebuild-catalog``."""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from repository.accounts.proposals import DISPOSED, PENDING
from repository.cli import cli
from repository.errors import DisposalError
from repository.preservation.ids import object_id
from repository.preservation.tombstone import read_tombstone, tombstone_dir
from repository.services import disposal

LATER = "2060-01-01"


def hsar(home: Path, *args: str):  # noqa: ANN201 - click's Result
    return CliRunner().invoke(cli, ["--home", str(home), "--lang", "en", *args], prog_name="hsar")


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@contextmanager
def flocked(path: Path, mode: int) -> Iterator[None]:
    """The lock as another process holds it (an open file of its own: flock excludes it from ours)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, mode | fcntl.LOCK_NB)
        yield


def _propose(home: Path, archive_id: str) -> str:
    made = hsar(home, "disposal", "propose", archive_id, "--reason", "期满鉴定", "--user", "alice", "--json",
                "--today", LATER)
    assert made.exit_code == 0, made.output
    return str(json.loads(made.output)["id"])


@pytest.mark.parametrize("holder", ["ingest", "audit", "export"])
def test_a_disposal_while_the_home_is_busy_is_refused_at_once_and_changes_nothing(repo, home, plan, holder):
    proposal = _propose(home, plan.unit)
    before = {name: tree(home / name) for name in ("storage", "replica1")}
    held = {"ingest": repo.lock(),  # an ingest, supplement, OCR commit, reindex or rebuild
            "audit": flocked(repo.paths.audit_lock, fcntl.LOCK_EX),  # an audit run (audit/run.py's flock)
            "export": flocked(repo.paths.readers_lock, fcntl.LOCK_SH)}[holder]  # export, OCR run, replication
    with held:
        refused = hsar(home, "disposal", "approve", proposal, "--user", "bob", "--today", LATER)
    assert refused.exit_code == 75, refused.output
    assert ("[ING-BUSY]" if holder == "ingest" else "[DSP-BUSY]") in refused.output
    assert "Traceback" not in refused.output
    assert {name: tree(home / name) for name in ("storage", "replica1")} == before  # no tombstone, nothing removed
    assert not list(repo.paths.staging.glob("dispose-*"))
    assert disposal.proposals(repo)[0].state == PENDING and repo.catalog.show(plan.unit) is not None

    done = hsar(home, "disposal", "approve", proposal, "--user", "bob", "--today", LATER)  # the home is free
    assert done.exit_code == 0, done.output
    assert not repo.store.exists(object_id(plan.unit)) and disposal.proposals(repo)[0].state == DISPOSED


def test_readers_and_audits_are_refused_while_a_disposal_runs(repo, home, plan, tmp_path):
    """Seen from the other side: an export, replication, an OCR run and an audit started while the disposal
    holds its locks are refused with a busy code (exit 75), and write nothing."""
    from repository.audit.run import Selection, run_audit
    from repository.home.disposal import disposal_locks
    from repository.ingest.ocr import ocr_archives
    from repository.preservation.replica import replicate
    from repository.services.transfer import CONSOLE, export

    out = tmp_path / "out"
    with repo.lock(), disposal_locks(repo):
        with disposal_locks(repo):  # re-entrant in the thread carrying the disposal out (recovery inside)
            pass
        with pytest.raises(DisposalError) as exported:
            export(repo, CONSOLE, [plan.unit], out)
        with pytest.raises(DisposalError) as replicated:
            replicate(repo)
        with pytest.raises(DisposalError) as read:
            ocr_archives(repo, [plan.unit])
        from repository.errors import PreservationError

        with pytest.raises(PreservationError) as audited:
            run_audit(repo, Selection("all"), now=datetime.now(UTC), alert=False, report=False)
        shell = hsar(home, "export", plan.unit, str(tmp_path / "out2"))
    assert {exported.value.code, replicated.value.code, read.value.code} == {"DSP-BUSY"}
    assert audited.value.code == "AUDIT-BUSY"
    assert shell.exit_code == 75 and "[DSP-BUSY]" in shell.output, shell.output
    assert not any(out.iterdir()) if out.exists() else True
    assert not (tmp_path / "out2").exists() or not any((tmp_path / "out2").iterdir())
    exported_later = export(repo, CONSOLE, [plan.unit], out)  # the locks are free again
    assert len(exported_later.archives) == 1


def test_an_interrupted_disposal_waits_for_a_running_audit_then_recovery_finishes_it(repo, home, plan, monkeypatch):
    from repository.home import disposal as steps

    class Killed(BaseException):
        pass

    def die(*_args: object, **_kwargs: object) -> None:
        raise Killed

    proposal = disposal.propose(repo, plan.unit, "期满", "alice", today=datetime(2060, 1, 1).date())
    monkeypatch.setattr(steps, "remove_object", die)
    with pytest.raises(Killed):
        disposal.approve(repo, proposal.id, "bob", today=datetime(2060, 1, 1).date())
    monkeypatch.undo()
    assert steps.intents(repo)
    with flocked(repo.paths.audit_lock, fcntl.LOCK_EX):  # an audit is running: the intent waits
        notes = repo.recover_if_idle()
    assert any("could not finish disposals yet" in n for n in notes), notes
    assert steps.intents(repo) and repo.store.exists(object_id(plan.unit))
    assert any("finished the disposal" in n for n in repo.recover_if_idle())
    assert not steps.intents(repo) and not repo.store.exists(object_id(plan.unit))


def test_an_audit_after_a_disposal_and_a_rebuild_finds_the_tombstone_and_nothing_missing(home, plan):
    proposal = _propose(home, plan.leaving)
    assert hsar(home, "disposal", "approve", proposal, "--user", "bob", "--today", LATER).exit_code == 0
    for step in ((), ("rebuild-catalog",)):
        if step:
            rebuilt = hsar(home, *step)
            assert rebuilt.exit_code == 0, rebuilt.output
        for mode in ("--all", "--due"):
            run = hsar(home, "audit", mode, "--json")
            assert run.exit_code == 0, run.output
            found = json.loads(run.output)
            codes = {i["code"] for i in found.get("issues", [])}
            codes |= {i["code"] for a in found.get("archives", []) for i in a.get("issues", [])}
            assert not codes, codes
            assert plan.leaving not in {a.get("archive_id") for a in found.get("archives", [])}
        listed = json.loads(hsar(home, "disposal", "list", "--json", "--state", "disposed").output)
        assert [p["archive_id"] for p in listed] == [plan.leaving]
        shown = hsar(home, "show", plan.leaving)
        assert shown.exit_code == 1 and "[DSP-DISPOSED]" in shown.output  # the catalogue keeps the tombstone
    for copy in ("storage", "replica1"):
        assert read_tombstone(home / copy, object_id(plan.leaving)) is not None
        assert tombstone_dir(home / copy, object_id(plan.leaving)).is_dir()


@pytest.mark.parametrize("mode", ["all", "due"])
def test_an_audit_after_a_disposal_cut_short_reports_it_once_and_judges_nothing_half_removed(repo, home, plan,
                                                                                            monkeypatch, mode):
    """Killed after the replica lost the object and the primary not yet (tombstones in both, catalogue not
    updated): the audit reports DSP006 for it, nothing else (no DSP002 for the primary still holding it, no
    object missing from the replica), repairs nothing; recovery then finishes it and the audit is clean."""
    from repository.audit.run import Selection, run_audit
    from repository.home import disposal as steps
    from repository.preservation import tombstone

    class Killed(BaseException):
        pass

    calls = []
    real = tombstone.remove_object

    def die_after_the_replica(store, oid, staging):  # noqa: ANN001, ANN202
        calls.append(store.root)
        if len(calls) == 2:
            raise Killed
        return real(store, oid, staging)

    proposal = disposal.propose(repo, plan.unit, "期满", "alice", today=datetime(2060, 1, 1).date())
    monkeypatch.setattr(steps, "remove_object", die_after_the_replica)
    with pytest.raises(Killed):
        disposal.approve(repo, proposal.id, "bob", today=datetime(2060, 1, 1).date())
    monkeypatch.undo()
    oid = object_id(plan.unit)
    assert repo.store.exists(oid) and not (home / "replica1" / tombstone_dir(home / "replica1", oid).name).exists()
    before = tree(home / "replica1")
    run = run_audit(repo, Selection(mode), now=datetime.now(UTC), alert=False, report=False)
    assert [(i.code, dict(i.params).get("archive")) for i in run.issues if i.severity.value != "info"
            ] == [("DSP006", plan.unit)]  # (info: AUD027, archives left for the next --due run's budget)
    assert plan.unit not in {a.archive_id for a in run.archives} and run.ok  # a warning: nothing is wrong
    assert tree(home / "replica1") == before  # nothing repaired back into the replica
    assert any("finished the disposal" in n for n in repo.recover_if_idle())
    again = run_audit(repo, Selection(mode), now=datetime.now(UTC), alert=False, report=False)
    assert again.ok and not [i for i in again.issues if i.severity.value != "info"]
