"""The audit over a really ingested store, whose catalogue knows every archive."""

from __future__ import annotations

import shutil
import threading
from datetime import UTC, datetime

from repository.audit import run as audit_module
from repository.audit import shards as audit_shards
from repository.audit.run import Selection, audit, verify_log
from repository.catalog.audits import last_checked
from repository.home import Repository
from repository.preservation.auditlog import AuditLog
from repository.preservation.ids import archive_key

from .conftest import copy_home

NOW = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def test_an_archive_gone_from_every_copy_is_still_audited_and_failed(ingested_home, tmp_path):
    home = copy_home(ingested_home, tmp_path / "home")
    with Repository.open(home) as repo:
        held = sorted(repo.store.iter_object_ids())
        lost = held[len(held) // 2]
        shutil.rmtree(repo.store.object_root(lost))  # only the catalogue remembers it now
        run = audit(repo, Selection("all"), now=NOW)
    by_id = {a.object_id: a for a in run.archives}
    assert set(by_id) == set(held) and run.selected == len(held)
    assert by_id[lost].result == "failed" and "AUD001" in {f.code for f in by_id[lost].findings}
    assert all(a.result == "intact" for oid, a in by_id.items() if oid != lost)
    assert archive_key(lost) in {a.archive_id for a in run.archives}


def test_a_stop_counts_the_archives_only_the_catalogue_knows_as_skipped(ingested_home, tmp_path):
    home = copy_home(ingested_home, tmp_path / "home")
    stop = threading.Event()
    stop.set()  # asked to stop before it starts: the first archive is audited, then it stops
    with Repository.open(home) as repo:
        held = sorted(repo.store.iter_object_ids())
        shutil.rmtree(repo.store.object_root(held[-1]))  # only the catalogue remembers it now
        run = audit(repo, Selection("all"), now=NOW, stop=stop)
    assert run.selected == len(held)  # the lost one is selected, although the run stopped before it
    assert (len(run.archives), run.skipped) == (1, len(held) - 1)


def _verdicts(run) -> list[tuple[str, str, tuple[str, ...]]]:
    return sorted((a.object_id, a.result, tuple(sorted(f.code for f in a.findings))) for a in run.archives)


def _sharded(monkeypatch, size: int = 3) -> list[int]:
    """Shards from the first archive on; the list counts the sharded runs (the spy sits in the parent)."""
    monkeypatch.setattr(audit_shards, "SHARD_MIN", 1)
    monkeypatch.setattr(audit_shards, "SHARD_SIZE", size)
    calls: list[int] = []
    real = audit_module.audit_in_shards

    def spy(run, ids, *args):
        calls.append(len(ids))
        return real(run, ids, *args)

    monkeypatch.setattr(audit_module, "audit_in_shards", spy)
    return calls


def test_shards_in_worker_processes_give_the_in_process_verdicts_and_records(ingested_home, tmp_path, monkeypatch):
    home = copy_home(ingested_home, tmp_path / "home")
    with Repository.open(home) as repo:
        held = sorted(repo.store.iter_object_ids())
        victim = repo.store.object_root(held[1])
        content = sorted(p for p in victim.rglob("*") if p.is_file() and "/content/data/" in p.as_posix())[0]
        content.write_bytes(content.read_bytes() + b"!")  # no replica here: found, not repairable
        shutil.rmtree(repo.store.object_root(held[-2]))  # only the catalogue remembers it
        monkeypatch.setenv("HSAR_AUDIT_PROCESSES", "1")
        single = audit(repo, Selection("all"), now=NOW)
    monkeypatch.delenv("HSAR_AUDIT_PROCESSES")
    calls = _sharded(monkeypatch)
    log = AuditLog(home / "audit")
    before = log.head().seq
    with Repository.open(home) as repo:
        sharded = audit(repo, Selection("all"), now=NOW)
        seen = last_checked(repo.catalog)
    assert calls == [len(held)] and _verdicts(sharded) == _verdicts(single)
    failed = {a.object_id for a in sharded.archives if a.result == "failed"}
    assert failed == {held[1], held[-2]} and sharded.selected == len(held)
    assert log.head().seq - before == sum(len(a.events) for a in sharded.archives)
    assert all(a.log is not None for a in sharded.archives)  # every result was recorded by the parent
    assert {archive_key(oid) for oid in held} <= set(seen)
    with Repository.open(home) as repo:
        assert verify_log(repo).ok


def test_a_stop_ends_a_sharded_run_between_shards(ingested_home, tmp_path, monkeypatch):
    home = copy_home(ingested_home, tmp_path / "home")
    _sharded(monkeypatch, size=2)
    stop = threading.Event()
    stop.set()
    with Repository.open(home) as repo:
        total = len(list(repo.store.iter_object_ids()))
        run = audit(repo, Selection("all"), now=NOW, stop=stop)
    assert len(run.archives) == 2 and run.skipped == total - 2 and all(a.intact for a in run.archives)
