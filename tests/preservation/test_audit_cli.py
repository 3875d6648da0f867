"""``hsar audit``, ``hsar replicate`` and ``hsar scheduler --list``: output and exit codes."""

from __future__ import annotations

import json

from click.testing import CliRunner

from repository.cli import cli


def hsar(home, *args: str):
    return CliRunner().invoke(cli, ["--home", str(home), *args])


def test_audit_all_json_then_damage_then_repair(home, repo):
    ok = hsar(home, "audit", "--all", "--json")
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.output)
    assert data["ok"] and [a["result"] for a in data["archives"]] == ["intact", "intact"]

    path = repo.store.object_root("urn:hsar:archive:HH-001") / "v1/content/data/review/审核表.pdf"
    path.write_bytes(b"damaged")
    bad = hsar(home, "audit", "--archive", "HH-001")
    assert bad.exit_code == 1
    assert "AUD007" in bad.output and "已修复" in bad.output and "报告" in bad.output
    again = hsar(home, "--lang", "en", "audit", "--archive", "HH-001", "--no-repair")
    assert again.exit_code == 0 and "1 archives checked: 1 intact" in again.output


def test_audit_due_is_the_default_and_options_exclude_each_other(home):
    first = hsar(home, "--lang", "en", "audit")
    assert first.exit_code == 0 and "archives checked" in first.output
    both = hsar(home, "audit", "--all", "--sample", "1")
    assert both.exit_code == 2 and "USAGE" in both.output
    unknown = hsar(home, "audit", "--archive", "HH-404")
    assert unknown.exit_code == 2


def test_replicate_and_scheduler_list(home):
    result = hsar(home, "replicate", "--json")
    assert result.exit_code == 0 and json.loads(result.output)["ok"]
    listed = hsar(home, "--lang", "en", "scheduler", "--list")
    assert listed.exit_code == 0
    assert "job audit next runs" in listed.output and "job replicate next runs" in listed.output


def test_scheduler_process_shuts_down_cleanly_on_sigterm(home):
    import signal
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-c", "from repository.cli import main; main()", "--home", str(home),
                                "--lang", "en", "scheduler"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        first = process.stdout.readline()
        assert "next runs" in first
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "scheduler stopped" in out
