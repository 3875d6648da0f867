"""``hsar audit``, ``hsar replicate`` and ``hsar scheduler --list``: output and exit codes."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from repository.cli import cli

from .conftest import HH1


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
    (home / "replica1" / "0=ocfl_1.1").unlink()  # the replica is no longer an OCFL root
    broken = hsar(home, "--lang", "en", "replicate")
    assert broken.exit_code == 1 and broken.output.splitlines()[-1].startswith("✘ ")
    assert broken.output.splitlines()[-1].endswith("; 1 replicas unusable")
    (home / "replica1" / "0=ocfl_1.1").write_text("ocfl_1.1\n")
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


@pytest.mark.parametrize("modes", [("--due", "--all"), ("--all", "--due"), ("--due", "--archive", "HH-001"),
                                   ("--archive", "HH-001", "--sample", "1"), ("--all", "--sample", "1")])
def test_every_combination_of_selections_is_refused_alike(home, modes):
    zh = hsar(home, "audit", *modes)
    assert zh.exit_code == 2 and "错误 [USAGE]: --due、--all、--archive、--sample 只能选一个" in zh.output
    en = hsar(home, "--lang", "en", "audit", *modes)
    assert en.exit_code == 2 and "[USAGE]: choose one of --due, --all, --archive, --sample (got --" in en.output
    assert not (home / "reports").exists()  # nothing ran


def test_audit_options_before_a_subcommand_say_what_is_wrong(home):
    zh = hsar(home, "audit", "--json", "log", "--verify")
    assert zh.exit_code == 2
    assert ("[USAGE]: --json 是 `hsar audit` 本身的选项，不能用于 `hsar audit log`；`log` 的选项写在它后面"
            in zh.output)
    en = hsar(home, "--lang", "en", "audit", "--all", "--no-repair", "log")
    assert en.exit_code == 2 and "Traceback" not in en.output
    assert ("[USAGE]: --all --no-repair: options of `hsar audit` itself, not of `hsar audit log`; put the options "
            "of `log` after it, e.g. `hsar audit log --verify --json`") in en.output


def test_the_scheduler_needs_a_home_and_something_to_run(home, tmp_path, toml_writer):
    for args in (("scheduler", "--list"), ("scheduler",)):
        missing = hsar(tmp_path / "nowhere", "--lang", "en", *args)
        assert missing.exit_code == 2 and "[CONFIG]" in missing.output and "is not a repository home" in missing.output
        assert "next runs" not in missing.output
    toml_writer(home, scheduler={"audit": "", "replicate": "", "paper": ""})
    for args in (("scheduler", "--list"), ("scheduler",)):
        empty = hsar(home, *args)
        assert empty.exit_code == 2 and "[CONFIG]" in empty.output
        assert "scheduler.audit、scheduler.replicate 与 scheduler.paper 均为空" in empty.output  # in --lang (zh)
        assert "no job to run" not in empty.output
    assert "all empty: there is no job to run" in hsar(home, "--lang", "en", "scheduler").output


def test_an_audit_the_scheduler_stopped_reports_what_it_checked(home, toml_writer, stop_the_scheduler):
    toml_writer(home, audit={"budget_bytes": 10**12}, scheduler={"replicate": ""})
    stop_the_scheduler()
    en = hsar(home, "--lang", "en", "scheduler")
    assert en.exit_code == 0, en.output
    lines = en.output.splitlines()
    assert lines[0] == "job audit next runs 2025-03-01 02:00 +0000" and lines[-1] == "scheduler stopped"
    (line,) = [x for x in lines if " job audit: " in x]
    assert line.startswith("2025-03-01 02:00 job audit: stopped: 1 of 2 archives checked, 1 intact, 0 repaired, "
                           "0 failed; 1 not checked, left for the next run; report: ")
    reports = line.split("; report: ")[1].split(", ")
    assert [Path(p).suffix for p in reports] == [".json", ".html"] and all(Path(p).is_file() for p in reports)

    zh = hsar(home, "scheduler")  # the archive left over is all this run selects: it finishes before the stop
    (line,) = [x for x in zh.output.splitlines() if " 任务 audit：" in x]
    assert line.startswith("2025-03-01 02:00 任务 audit：完成：检查 1/1 件档案，完好 1，已修复 0，失败 0；报告：")


def test_stopping_the_scheduler_kills_a_running_alert_command(home, repo, toml_writer, monkeypatch, tmp_path,
                                                              stop_the_scheduler):
    from repository.audit import alerts

    started = tmp_path / "alert-started"
    script = f"import time; open({str(started)!r}, 'w').close(); time.sleep(30)"
    toml_writer(home, audit={"budget_bytes": 10**12}, scheduler={"replicate": ""},
                alerts={"command": f"{sys.executable} -c {json.dumps(script)}"})
    damaged = repo.store.object_root(HH1) / "v1/content/data/review/审核表.pdf"
    damaged.write_bytes(b"damaged")  # in both copies: nothing to repair from, so the audit fails and alerts
    (home / "replica1" / damaged.relative_to(home / "storage")).write_bytes(b"damaged too")
    monkeypatch.setattr(alerts, "COMMAND_TIMEOUT", 2.0)  # without the stop, the alert runs until this ends

    stopped_at = []

    def stop_once_the_alert_runs(stop):
        while not started.exists():
            time.sleep(0.01)
        stopped_at.append(time.monotonic())
        stop.set()

    stop_the_scheduler(stop_once_the_alert_runs)
    en = hsar(home, "--lang", "en", "scheduler")
    assert en.exit_code == 0, en.output
    assert stopped_at and time.monotonic() - stopped_at[0] < 1.0  # not the alert's whole timeout
    (line,) = [x for x in en.output.splitlines() if " job audit: " in x]
    assert "done, problems found: 2 of 2 archives checked" in line
    report = json.loads(Path(line.split("; report: ")[1].split(", ")[0]).read_text())
    assert [a["detail"][:30] for a in report["alerts"]] == ["stopped: hsar is shutting down"]


def test_sigterm_ends_an_audit_like_a_stop_with_its_results_recorded(home, monkeypatch):
    """A stopped audit is not a passed one: it says "stopped", not "budget reached", and exits 143."""
    import os
    import signal

    from repository.audit import run as audit_module

    real, sent = audit_module.scan_copy, []

    def scan_then_terminate(label, root):
        if not sent:
            sent.append(os.kill(os.getpid(), signal.SIGTERM))  # what systemd sends when it stops the unit
        return real(label, root)

    monkeypatch.setattr(audit_module, "scan_copy", scan_then_terminate)
    result = hsar(home, "--lang", "en", "audit", "--all", "--json")
    assert result.exit_code == 143, result.output
    data = json.loads(result.output)
    assert data["archives_checked"] == 1 and data["skipped"] == 1 and data["stopped"] and sent
    assert len(data["reports"]) == 2  # what was checked is recorded and reported
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is the command's only
    sent.clear()
    text = hsar(home, "--lang", "en", "audit", "--all")
    assert text.exit_code == 143 and "audit stopped" in text.output and "budget" not in text.output


def test_a_worker_forked_during_an_audit_does_not_hold_its_lock(home):
    import os
    import signal

    from repository.audit.run import _exclusive

    ready, tell = os.pipe()
    with _exclusive(home):
        child = os.fork()
        if child == 0:  # a shard worker left behind by a killed audit (fork hooks have run by now)
            os.write(tell, b"1")
            time.sleep(30)
            os._exit(0)
        assert os.read(ready, 1) == b"1"
    try:
        with _exclusive(home):  # the next audit gets the lock although the child still runs
            pass
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)


def test_a_busy_home_exits_75_so_cron_can_tell_it_from_a_failure(home):
    import fcntl

    from repository.home import HomePaths

    lock = HomePaths.of(home).audit_lock
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another audit runs
        result = hsar(home, "--lang", "en", "audit", "--all")
    assert result.exit_code == 75, result.output  # EX_TEMPFAIL, not 1
    assert result.stderr.strip() == "error [AUDIT-BUSY]: another audit is running in this home"


def test_a_tail_too_large_for_python_is_a_usage_error(home):
    result = hsar(home, "audit", "log", "--tail", "99999999999999999999")
    assert result.exit_code == 2 and "[USAGE]" in result.stderr and "--tail" in result.stderr, result.output
    assert "OverflowError" not in result.output and "INTERNAL" not in result.output
    assert hsar(home, "audit", "log", "--tail", "1000000000").exit_code == 0
