"""The audit as a whole: records, reports, alerts, copies that cannot be repaired, replicas behind or apart."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from repository.audit.run import Selection, run_audit
from repository.errors import UsageError
from repository.home import Repository
from repository.preservation.auditlog import AuditLog
from repository.preservation.ocfl_validate import validate_with_ocfl_py

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
HH1 = "urn:hsar:archive:HH-001"
HH2 = "urn:hsar:archive:HH-002"
APPLICATION = "v1/content/data/application/申请书.pdf"


def primary_root(repo, object_id=HH1) -> Path:
    return repo.store.object_root(object_id)


def configure(home: Path, replicas=("replica1",), **sections) -> Repository:
    lines = ["[storage]", "replicas = [" + ", ".join(f'"{r}"' for r in replicas) + "]"]
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    (home / "hsar.toml").write_text("\n".join(lines) + "\n", "utf-8")
    return Repository.open(home)


def flip(path: Path) -> bytes:
    data = bytearray(path.read_bytes())
    data[10] ^= 0x01
    path.write_bytes(bytes(data))
    return bytes(data)


def test_intact_run_is_recorded_reported_and_logged(repo, home):
    before = AuditLog(home / "audit").head().seq  # the template's replication events
    run = run_audit(repo, Selection("all"), now=NOW)
    assert run.ok and run.counts() == {"intact": 2, "repaired": 0, "failed": 0}
    assert all(item.result == "pass" for a in run.archives for item in a.checks.items)
    assert {i.code for i in run.archives[0].checks.items} >= {"BC-1-1", "BC-1-2", "BC-2-1", "BC-4-1"}
    json_report, html_report = (Path(p) for p in run.reports)
    data = json.loads(json_report.read_text("utf-8"))
    assert data["log_head"] == run.log_head.to_dict() and len(data["archives"]) == 2
    assert data["repository"] == repo.cfg["repository.name"] == "住房保障档案库"  # the default name
    page = html_report.read_text("utf-8")
    assert "定期检查报告" in page and "<title>住房保障档案库 审计报告" in page
    from repository.catalog.audits import last_checked, log_anchors

    seen = last_checked(repo.catalog)
    assert set(seen) == {"HH-001", "HH-002"} and all(size > 0 for _when, size in seen.values())
    assert len(log_anchors(repo.catalog)) == 2
    log = AuditLog(home / "audit")
    assert log.verify().ok and log.head().seq == before + 4  # a fixity check and a signature check each


def test_no_good_copy_left_is_flagged_and_alerted(home, tmp_path):
    script = tmp_path / "alert.py"
    script.write_text("import json, os, sys\nopen(sys.argv[1], 'w').write(json.dumps("
                      "{'stdin': json.load(sys.stdin), 'failed': os.environ['HSAR_AUDIT_FAILED']}))\n")
    out = tmp_path / "alert.json"
    repo = configure(home, replicas=(), alerts={"command": f"{sys.executable} {script} {out}"})
    damaged = flip(primary_root(repo) / APPLICATION)
    run = run_audit(repo, Selection("all"), now=NOW)
    result = {a.object_id: a for a in run.archives}[HH1]
    assert result.result == "failed" and not run.ok
    assert {f.code for f in result.findings} == {"AUD007", "AUD014"} and not any(f.repaired for f in result.findings)
    assert (primary_root(repo) / APPLICATION).read_bytes() == damaged  # nothing was "repaired" from itself
    assert {i.code: i.result for i in result.checks.items}["BC-1-1"] == "fail"
    alert = json.loads(out.read_text())
    assert alert["failed"] == "1" and alert["stdin"]["failed"] == ["HH-001"] and run.alerts[0].ok
    assert "HH-001" in Path(run.reports[1]).read_text("utf-8")
    repo.close()


def test_resigned_version_without_a_good_copy_is_not_trusted(home, signers):
    import importlib.util

    spec = importlib.util.spec_from_file_location("faults", Path(__file__).with_name("test_audit_faults.py"))
    faults = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(faults)
    repo = configure(home, replicas=())
    faults.inject("resigned", primary_root(repo), signers[1])
    result = run_audit(repo, Selection("archive", ("HH-001",)), now=NOW).archives[0]
    codes = {f.code for f in result.findings}
    assert {"AUD015", "AUD010"} <= codes and result.result == "failed" and result.signature_ok is False
    assert not result.repairs
    repo.close()


def _add_version(store, staging, factory, extra: bytes):
    payload = {"data/application/申请书.pdf": b"%PDF-1.4 second archive", "data/dynamic/变更.pdf": extra}
    return factory.add(store, staging, HH2, payload)


def test_a_replica_behind_is_caught_up_and_one_apart_is_flagged(repo, factory, home):
    from repository.preservation.ocfl import OcflStore

    _add_version(repo.store, repo.staging, factory, b"%PDF change notice")
    run = run_audit(repo, Selection("archive", (HH2,)), now=NOW)
    result = run.archives[0]
    assert {f.code for f in result.findings} == {"AUD013"} and result.result == "repaired"
    assert result.repairs[0].action == "caught-up" and result.repairs[0].detail == "v2"
    assert OcflStore(home / "replica1").head(HH2) == "v2"
    assert validate_with_ocfl_py(home / "replica1") == []

    replica = OcflStore(home / "replica1")
    _add_version(repo.store, repo.staging, factory, b"%PDF primary's v3")
    _add_version(replica, home / ".replica1.hsar-staging", factory, b"%PDF replica's own v3")
    result = run_audit(repo, Selection("archive", (HH2,)), now=NOW).archives[0]
    assert "AUD012" in {f.code for f in result.findings} and result.result == "failed"


def test_an_unusable_replica_fails_the_run(home):
    repo = configure(home, replicas=("replica1", "nowhere/replica2"))
    run = run_audit(repo, Selection("all"), now=NOW)
    assert [i.code for i in run.issues] == ["AUD017"] and not run.ok
    assert all(a.result == "intact" for a in run.archives)
    repo.close()


def test_an_object_changed_during_the_audit_is_not_repaired(repo, monkeypatch):
    damaged = flip(primary_root(repo) / APPLICATION)
    from repository.preservation.copies import CopyScan

    monkeypatch.setattr(CopyScan, "changed", lambda scan: True)  # an ingest rewrote the inventory meanwhile
    result = run_audit(repo, Selection("archive", (HH1,)), now=NOW).archives[0]
    assert "AUD018" in {f.code for f in result.findings} and result.result == "failed"
    assert (primary_root(repo) / APPLICATION).read_bytes() == damaged


def test_a_format_the_policy_now_refuses_is_a_warning(home, factory):
    repo = configure(home, replicas=())
    factory.add(repo.store, repo.staging, "urn:hsar:archive:HH-003", {"data/x.exe": b"MZ..."}, puid="x-fmt/411")
    result = run_audit(repo, Selection("archive", ("HH-003",)), now=NOW).archives[0]
    assert [f.code for f in result.findings] == ["AUD016"] and result.result == "intact"
    assert {i.code: i.result for i in result.checks.items}["BC-3-2"] == "warn"
    repo.close()


def test_no_repair_only_reports(repo):
    damaged = flip(primary_root(repo) / APPLICATION)
    run = run_audit(repo, Selection("all", repair=False), now=NOW)
    assert {a.object_id: a.result for a in run.archives}[HH1] == "failed"
    assert (primary_root(repo) / APPLICATION).read_bytes() == damaged


def test_selection_by_archive_and_sample(repo):
    assert [a.archive_id for a in run_audit(repo, Selection("archive", ("HH-002",)), now=NOW).archives] == ["HH-002"]
    assert len(run_audit(repo, Selection("sample", sample=1, seed=3), now=NOW).archives) == 1
    with pytest.raises(UsageError):
        run_audit(repo, Selection("archive", ("HH-999",)), now=NOW)
    with pytest.raises(UsageError):
        Selection("everything")


def test_replicate_copies_only_what_is_missing(repo, factory, home):
    from repository.preservation.replica import replicate

    assert replicate(repo, now=NOW).copied == ()
    _add_version(repo.store, repo.staging, factory, b"%PDF change notice")
    result = replicate(repo, now=NOW)
    assert [(o.object_id, o.versions) for o in result.copied] == [(HH2, ("v2",))] and result.ok
    shutil.rmtree(home / "replica1")  # gone, as an unmounted disk would be: not silently recreated
    refused = replicate(repo, now=NOW)
    assert not refused.ok and refused.copied == () and not (home / "replica1").exists()
    assert "not recreated" in refused.replicas[0].error
    shutil.rmtree(home / ".replica1.hsar-staging")  # the archivist's decision: start this replica again
    result = replicate(repo, now=NOW)
    assert sorted(o.object_id for o in result.copied) == [HH1, HH2]
    assert validate_with_ocfl_py(home / "replica1") == []
    assert AuditLog(home / "audit").verify().ok


def test_events_go_to_the_catalogue_when_the_archive_is_catalogued(repo):
    from datetime import date

    from sqlalchemy import insert, select

    from repository.catalog import tables as t

    with repo.catalog.transaction(write=True) as conn:
        conn.execute(insert(t.archives).values(
            id="HH-001", type="household", package_type="household", title="测试户", division="320102",
            institution="示范市住房保障中心", fonds="Z001", reference_code="Z001-HH·2025-Y-0001", year=2025,
            retention="Y", access="restricted", start_date=date(2025, 1, 1), description={}, head_version="v2",
            head_seq=2, created=NOW, updated=NOW))
        conn.execute(insert(t.versions).values(
            archive_id="HH-001", number="v2", seq=2, created=NOW, message="ingest", sip_name="sip",
            package_type="household", file_count=3, bytes=1, separately_filed=False))
    run_audit(repo, Selection("all"), now=NOW)
    with repo.catalog.transaction() as conn:
        rows = conn.execute(select(t.events.c.type, t.events.c.outcome).where(t.events.c.archive_id == "HH-001")).all()
        audits = conn.execute(select(t.audits.c.archive_id, t.audits.c.result, t.audits.c.signature_ok)).all()
    assert sorted(rows) == [("digital signature validation", "success"), ("fixity check", "success")]
    assert sorted(audits) == [("HH-001", "intact", True), ("HH-002", "intact", True)]


def test_time_budget_and_stop_leave_the_rest_for_the_next_run(home, monkeypatch):
    import itertools
    import threading
    from types import SimpleNamespace

    from repository.audit import work as audit_module

    repo = configure(home, audit={"budget_seconds": 5, "budget_bytes": 10**9})
    ticks = itertools.count(0, 10)  # every look at the clock: ten seconds later
    monkeypatch.setattr(audit_module, "time", SimpleNamespace(monotonic=lambda: next(ticks)))
    run = run_audit(repo, Selection("due"), now=NOW)
    assert (len(run.archives), run.skipped, run.selected) == (1, 1, 2)
    monkeypatch.undo()
    stop = threading.Event()
    stop.set()
    run = run_audit(repo, Selection("all"), now=NOW, stop=stop)
    assert (len(run.archives), run.skipped) == (1, 1)  # the archive under way is finished, then it stops
    repo.close()


def test_replicate_named_objects_only(repo, factory, home):
    from repository.preservation.replica import replicate

    _add_version(repo.store, repo.staging, factory, b"%PDF change notice")
    result = replicate(repo, object_ids=[HH2], now=NOW)
    assert result.checked == 1 and [o.versions for o in result.copied] == [("v2",)]


def test_unreadable_trust_roots_fail_the_locks_but_not_the_fixity_check(home):
    repo = configure(home, signing={"trust_roots": ["keys/missing.pem"]})
    run = run_audit(repo, Selection("all", repair=False), now=NOW)
    assert not run.ok and run.files_checked > 0
    for archive in run.archives:
        assert {f.code for f in archive.findings} == {"AUD010", "AUD015"} and archive.result == "failed"
        assert "could not be evaluated" in archive.findings[-1].issue.message_in("en") + archive.findings[0].issue.message_in("en")
    repo.close()
