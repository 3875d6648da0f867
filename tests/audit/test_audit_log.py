"""The audit log is append-only and hash-chained: altered, inserted and deleted entries are all detected."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from repository.audit.run import Selection, run_audit, verify_log
from repository.cli import cli
from repository.preservation.auditlog import AuditLog, entry_hash

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def logged(repo, home) -> Path:
    """A home whose log holds the replication events plus two audit runs."""
    run_audit(repo, Selection("all"), now=NOW)
    run_audit(repo, Selection("all"), now=NOW)
    return home / "audit" / "log.jsonl"


def lines(path: Path) -> list[str]:
    return path.read_text("utf-8").splitlines(keepends=True)


def codes(repo) -> set[str]:
    return {i.code for i in verify_log(repo).issues}


def test_an_untouched_log_verifies(repo, logged):
    result = verify_log(repo)
    assert result.ok and result.entries == len(lines(logged)) == 10
    entry = json.loads(lines(logged)[-1])
    assert entry["event"]["type"] in ("fixity check", "digital signature validation")
    assert {"seq", "prev", "hash", "object_id", "archive_id"} <= set(entry)


def test_an_altered_entry_is_detected(repo, logged):
    text = lines(logged)
    text[4] = text[4].replace('"outcome":"success"', '"outcome":"failure"')
    logged.write_text("".join(text), "utf-8")
    assert codes(repo) == {"AUD019"}


def test_an_altered_entry_with_a_recomputed_hash_breaks_the_chain(repo, logged):
    text = lines(logged)
    entry = json.loads(text[4])
    entry["event"]["detail"] = "nothing to see"
    entry["hash"] = entry_hash(entry)
    text[4] = json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
    logged.write_text("".join(text), "utf-8")
    assert codes(repo) == {"AUD020"}


def test_a_deleted_entry_is_detected(repo, logged):
    text = lines(logged)
    del text[3]
    logged.write_text("".join(text), "utf-8")
    assert "AUD020" in codes(repo)  # (and AUD022 when a catalogue row named the deleted entry)


def test_a_deleted_last_entry_is_detected(repo, logged):
    logged.write_text("".join(lines(logged)[:-1]), "utf-8")
    assert "AUD021" in codes(repo)


def test_deleting_the_last_entries_and_moving_the_head_is_caught_by_the_anchors(repo, logged, home):
    text = lines(logged)[:-2]
    logged.write_text("".join(text), "utf-8")
    last = json.loads(text[-1])
    (home / "audit" / "head.json").write_text(json.dumps({"seq": last["seq"], "hash": last["hash"]}))
    assert codes(repo) == {"AUD022"}  # the last run's report and catalogue rows name the removed entries


def test_an_append_after_truncation_keeps_the_gap_visible(repo, logged, home):
    logged.write_text("".join(lines(logged)[:-1]), "utf-8")
    AuditLog(home / "audit").append([{"kind": "note"}])
    assert "AUD020" in codes(repo)


def test_entries_written_before_a_crash_moved_the_head_are_accepted(repo, logged, home):
    log = AuditLog(home / "audit")
    head = (home / "audit" / "head.json").read_bytes()
    log.append([{"kind": "note"}])
    (home / "audit" / "head.json").write_bytes(head)  # as if killed between the two writes
    result = log.verify()
    assert result.ok and result.beyond_head == 1
    assert log.append([{"kind": "note"}]).seq == result.entries + 1


def test_cli_verify_exit_codes(home, logged):
    runner = CliRunner()
    ok = runner.invoke(cli, ["--home", str(home), "audit", "log", "--verify"])
    assert ok.exit_code == 0, ok.output
    assert "日志完好" in ok.output
    shown = runner.invoke(cli, ["--home", str(home), "--lang", "en", "audit", "log", "--tail", "2"])
    assert shown.exit_code == 0 and len(shown.output.splitlines()) == 2
    logged.write_text("".join(lines(logged)[:-1]), "utf-8")
    bad = runner.invoke(cli, ["--home", str(home), "--lang", "en", "audit", "log", "--verify", "--json"])
    assert bad.exit_code == 1
    assert json.loads(bad.output)["ok"] is False


def _reads_from(log: AuditLog, monkeypatch) -> list[int]:
    """Offsets the log is read from during one append."""
    seen: list[int] = []
    real = AuditLog._entries

    def spy(self, offset=0):
        seen.append(offset)
        return real(self, offset)

    monkeypatch.setattr(AuditLog, "_entries", spy)
    return seen


def test_the_head_records_where_its_line_starts(logged, home):
    recorded = json.loads((home / "audit" / "head.json").read_text("utf-8"))
    tail = logged.read_bytes()[recorded["offset"]:]
    assert tail.endswith(b"\n") and tail.count(b"\n") == 1
    last = json.loads(tail)
    assert (last["seq"], last["hash"]) == (recorded["seq"], recorded["hash"])


def test_an_append_reads_only_from_the_head_line_on(repo, logged, home, monkeypatch):
    log = AuditLog(home / "audit")
    seen = _reads_from(log, monkeypatch)
    head = log.append([{"kind": "note"}])
    assert seen and 0 not in seen  # the whole log was not read
    assert head.seq == len(lines(logged)) and verify_log(repo).ok


@pytest.mark.parametrize("offset, whole_log", [(None, True), (10**9, True), ("12", True), (-1, True),
                                               (True, True), (0, True), (7, False)])
def test_a_missing_or_wrong_offset_still_continues_the_chain(repo, logged, home, monkeypatch, offset, whole_log):
    """No offset, or one past the head line: the whole log is read. One before it: the head is found later."""
    head_file = home / "audit" / "head.json"
    recorded = json.loads(head_file.read_text("utf-8"))
    recorded.pop("offset")
    if offset is not None:
        recorded["offset"] = offset
    head_file.write_text(json.dumps(recorded), "utf-8")  # as written before offsets were kept, or garbled
    log = AuditLog(home / "audit")
    seen = _reads_from(log, monkeypatch)
    head = log.append([{"kind": "note"}])
    assert (0 in seen) is whole_log
    assert head.seq == recorded["seq"] + 1 and verify_log(repo).ok


def test_an_offset_into_a_rewritten_log_does_not_hide_a_deletion(repo, logged, home):
    text = lines(logged)
    del text[2]  # every later line moves: the recorded offset now points elsewhere
    logged.write_text("".join(text), "utf-8")
    AuditLog(home / "audit").append([{"kind": "note"}])
    assert "AUD020" in codes(repo)


def test_groups_are_appended_in_one_write_with_a_head_per_group(repo, logged, home):
    log = AuditLog(home / "audit")
    base = log.head()
    heads = log.append_groups([[{"kind": "a1"}, {"kind": "a2"}], [], [{"kind": "c1"}]])
    assert [h.seq for h in heads] == [base.seq + 2, base.seq + 2, base.seq + 3] and heads[1] == heads[0]
    entries = [json.loads(line) for line in lines(logged)[-3:]]
    assert [e["kind"] for e in entries] == ["a1", "a2", "c1"]
    assert (entries[1]["seq"], entries[1]["hash"]) == (heads[0].seq, heads[0].hash)  # each group's anchor
    assert log.head() == heads[2] and verify_log(repo).ok
    recorded = json.loads((home / "audit" / "head.json").read_text("utf-8"))
    assert json.loads(logged.read_bytes()[recorded["offset"]:])["kind"] == "c1"
    assert log.append_groups([[], []]) == [heads[2], heads[2]] and log.head() == heads[2]


def test_checking_the_log_does_not_import_pyhanko(logged, home):
    """`hsar audit log --verify` verifies no signature, so it does not pay pyHanko's import (~0.5 s)."""
    import subprocess
    import sys

    script = ("import sys\nfrom repository.cli import main\nsys.argv = ['hsar', '--home', sys.argv[1], 'audit', 'log',"
              " '--verify']\ntry:\n    main()\nexcept SystemExit as end:\n    code = end.code\n"
              "print(code, sorted({m.split('.')[0] for m in sys.modules if m.startswith('pyhanko')}))")
    out = subprocess.run([sys.executable, "-c", script, str(home)], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "0 []"


def test_the_audit_module_loads_pyhanko_before_any_shard_worker_forks():
    """The other side: running audits loads what the signature check needs (pyHanko's certificate validator)
    with the module, so forked shard workers share it instead of each importing it; not pyHanko's signer
    stack (aiohttp), which verification never uses."""
    import subprocess
    import sys

    script = ("import sys\nimport repository.audit.run\n"
              "print('pyhanko_certvalidator' in sys.modules, 'pyhanko.sign' in sys.modules, 'aiohttp' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True False False"


def test_a_torn_last_line_is_set_aside_before_the_next_append(repo, logged, home):
    log = AuditLog(home / "audit")
    lines = log.path.read_bytes().count(b"\n")
    with open(log.path, "ab") as handle:
        handle.write(b'{"kind": "premis-event", "seq": 99, "tr')  # a write cut short by a power loss
    run_audit(repo, Selection("all"), now=datetime(2025, 3, 2, tzinfo=UTC))
    data = log.path.read_bytes()
    assert data.endswith(b"\n") and b'"tr{' not in data and data.count(b"\n") > lines
    assert log.verify().ok  # the new entries continue the chain on lines of their own
    torn = (home / "audit" / "log.jsonl.torn").read_bytes().splitlines()
    assert json.loads(torn[0])["bytes"] == len(b'{"kind": "premis-event", "seq": 99, "tr')
    assert torn[1] == b'{"kind": "premis-event", "seq": 99, "tr'
