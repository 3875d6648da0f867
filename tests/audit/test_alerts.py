"""Alerts: a command gets the run summary on stdin and in its environment; SMTP mail; failures are recorded."""

from __future__ import annotations

import json
import os
import smtplib
import sys
import threading
import time
from pathlib import Path

import pytest

from repository.audit import alerts
from repository.config import load

SUMMARY = {"run_id": "20250301T020000Z", "ok": False, "counts": {"intact": 5, "repaired": 1, "failed": 1},
           "archives_checked": 7, "failed": ["HH-001"], "repaired": ["HH-002"],
           "issues": [{"code": "AUD017", "message": "副本存储根不可用"}], "reports": ["/srv/hsar/reports/a.html"]}


def home_with(tmp_path, **alert_settings):
    lines = ["[alerts]"] + [f"{k} = {json.dumps(v)}" for k, v in alert_settings.items()]
    (tmp_path / "hsar.toml").write_text("\n".join(lines) + "\n", "utf-8")
    return load(tmp_path, environ={})


def test_command_receives_the_summary_on_stdin_and_in_its_environment(tmp_path):
    out = tmp_path / "got.json"
    script = tmp_path / "notify.py"
    script.write_text("import json, os, sys\n"
                      "env = {k: v for k, v in os.environ.items() if k.startswith('HSAR_')}\n"
                      f"open({str(out)!r}, 'w').write(json.dumps({{'stdin': json.load(sys.stdin), 'env': env}}))\n")
    cfg = home_with(tmp_path, command=f"{sys.executable} {script}")
    (outcome,) = alerts.send_alerts(cfg, SUMMARY)
    assert outcome.ok and outcome.channel == "command"
    got = json.loads(out.read_text())
    assert got["stdin"] == SUMMARY
    assert got["env"]["HSAR_AUDIT_FAILED"] == "1" and got["env"]["HSAR_AUDIT_REPAIRED"] == "1"
    assert got["env"]["HSAR_AUDIT_OK"] == "0" and got["env"]["HSAR_AUDIT_REPORT"] == "/srv/hsar/reports/a.html"
    assert got["env"]["HSAR_ALERT_SUBJECT"].startswith("[hsar] 审计发现问题")  # no repository name given


def test_the_subject_names_the_repository():
    subject = alerts.alert_subject({**SUMMARY, "repository": "南京市住房保障档案库"})
    assert subject.startswith("[南京市住房保障档案库] 审计发现问题") and "1 件失败" in subject
    assert alerts.alert_subject(SUMMARY, "en") == "[hsar] audit found problems: 1 failed, 1 repaired (20250301T020000Z)"


BILINGUAL_ISSUE = {"code": "AUD010", "message": "签名无效",
                   "messages": {"zh": "签名无效", "en": "signature not valid"}}


@pytest.mark.parametrize("language, present, absent", [
    ("zh", ["审计发现问题", "检查档案：7", "签名无效"], ["audit found", "Archives checked", "not valid"]),
    ("en", ["audit found problems", "Archives checked: 7", "signature not valid"], ["审计", "检查档案", "签名无效"]),
])
def test_the_mail_is_in_the_configured_language_only(language, present, absent):
    summary = {**SUMMARY, "issues": [BILINGUAL_ISSUE]}
    text = alerts.alert_body(summary, (language,)).split("\n\n{")[0]  # the JSON after it is data, not text
    assert all(p in text for p in present) and not any(a in text for a in absent), text


def test_a_mail_in_both_languages_has_a_whole_part_in_each_and_no_mixed_line():
    summary = {**SUMMARY, "issues": [BILINGUAL_ISSUE]}
    text = alerts.alert_body(summary).split("\n\n{")[0]
    zh, en = text.split("\n\n[hsar] audit")
    assert "检查档案：7" in zh and "Archives checked: 7" in en
    for line in text.splitlines():
        has_zh = any("\u4e00" <= ch <= "\u9fff" for ch in line)
        assert not (has_zh and any(w in line for w in ("failed", "checked", "Repaired", "signature"))), line


@pytest.mark.parametrize("command, expected", [
    (f"{sys.executable} -c 'import sys; sys.exit(3)'", "exit status 3"),
    ("/nonexistent/notify", "FileNotFoundError"),
])
def test_a_failing_command_is_recorded_not_raised(tmp_path, command, expected):
    (outcome,) = alerts.send_alerts(home_with(tmp_path, command=command), SUMMARY)
    assert not outcome.ok and expected in outcome.detail


def test_a_command_that_cannot_be_split_is_recorded_not_raised():
    # the settings refuse such a command when they are loaded; run_command still never raises
    outcome = alerts.run_command("'unterminated", SUMMARY)
    assert not outcome.ok and "ValueError" in outcome.detail


def test_a_hanging_command_times_out(tmp_path):
    outcome = alerts.run_command(f"{sys.executable} -c 'import time; time.sleep(5)'", SUMMARY, timeout=0.2)
    assert not outcome.ok and "TimeoutExpired" in outcome.detail


def gone(pid: int) -> bool:
    """No such process any more, or only a zombie waiting for its parent (init, which may never reap it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


def wait_gone(*pids: int, within: float = 1.0) -> bool:
    deadline = time.monotonic() + within  # SIGKILL is delivered at once; allow the kernel a moment
    while not all(gone(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_background_child_does_not_hold_the_run_and_is_not_left_behind(tmp_path):
    pid_file, got = tmp_path / "child.pid", tmp_path / "got.json"
    big = {**SUMMARY, "failed": [f"HH-{n:06d}" for n in range(20000)]}  # far more than a pipe buffer holds
    started = time.monotonic()
    outcome = alerts.run_command(f"sh -c 'sleep 30 & echo $! > {pid_file}; cat > {got}; exit 0'", big, timeout=1.5)
    assert time.monotonic() - started < 1.0
    assert outcome.ok and outcome.detail == "sh exit status 0"  # sh exited 0: that is the outcome
    assert json.loads(got.read_text()) == big  # the summary still arrives whole on stdin
    assert wait_gone(int(pid_file.read_text()))


def test_a_timeout_kills_the_whole_process_group_and_keeps_the_output_tail(tmp_path):
    pids = tmp_path / "pids"
    command = f"sh -c 'sleep 30 & echo $$ $! > {pids}; echo partial progress >&2; sleep 30'"
    started = time.monotonic()
    outcome = alerts.run_command(command, SUMMARY, timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert not outcome.ok and "TimeoutExpired" in outcome.detail and "partial progress" in outcome.detail
    assert wait_gone(*(int(p) for p in pids.read_text().split()))


def test_the_stop_event_kills_a_running_command_at_once(tmp_path):
    pid_file = tmp_path / "pid"
    script = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(30)"
    cfg = home_with(tmp_path, command=f"{sys.executable} -c {json.dumps(script)}")
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    (outcome,) = alerts.send_alerts(cfg, SUMMARY, stop=stop)  # the long default timeout never runs out
    assert time.monotonic() - started < 1.5
    assert not outcome.ok and outcome.detail.startswith("stopped: hsar is shutting down")
    assert wait_gone(int(pid_file.read_text()))
    already = alerts.send_alerts(cfg, SUMMARY, stop=stop)  # stopping already: the command is not started
    assert [o.detail for o in already] == ["stopped: hsar is shutting down, not run"]


class FakeSMTP:
    sent: list = []
    fail: Exception | None = None

    def __init__(self, host, port, timeout=None):
        if FakeSMTP.fail is not None:
            raise FakeSMTP.fail
        self.address = (host, port)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send_message(self, message):
        FakeSMTP.sent.append((self.address, message))
        return {}


@pytest.fixture
def fake_smtp(monkeypatch):
    FakeSMTP.sent, FakeSMTP.fail = [], None
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    return FakeSMTP


def test_mail_is_sent_through_smtp(tmp_path, fake_smtp):
    cfg = home_with(tmp_path, smtp_host="mail.example.org", smtp_port=2525, mail_from="hsar@example.org",
                    mail_to=["ops@example.org", "archive@example.org"])
    (outcome,) = alerts.send_alerts(cfg, SUMMARY)
    assert outcome.ok
    (address, message), = fake_smtp.sent
    assert address == ("mail.example.org", 2525)
    assert message["To"] == "ops@example.org, archive@example.org" and message["From"] == "hsar@example.org"
    assert "1 件失败" in message["Subject"]
    body = message.get_content()
    assert "HH-001" in body and "AUD017" in body and "/srv/hsar/reports/a.html" in body


def test_mail_follows_repository_language(tmp_path, fake_smtp):
    (tmp_path / "hsar.toml").write_text('[repository]\nlanguage = "en"\n[alerts]\nsmtp_host = "mail.example.org"\n'
                                        'mail_to = ["ops@example.org"]\n', "utf-8")
    (outcome,) = alerts.send_alerts(load(tmp_path, environ={}), {**SUMMARY, "issues": [BILINGUAL_ISSUE]})
    (_address, message), = fake_smtp.sent
    body = message.get_content().split("\n\n{")[0]
    assert outcome.ok and message["Subject"].startswith("[hsar] audit found problems: 1 failed")
    assert "signature not valid" in body and "签名" not in body and "检查档案" not in body


def test_mail_failures_are_recorded(tmp_path, fake_smtp):
    fake_smtp.fail = ConnectionRefusedError(111, "Connection refused")
    cfg = home_with(tmp_path, smtp_host="mail.example.org", mail_to=["ops@example.org"], command="")
    (outcome,) = alerts.send_alerts(cfg, SUMMARY)
    assert not outcome.ok and "Connection refused" in outcome.detail
    (missing,) = alerts.send_alerts(home_with(tmp_path, smtp_host="mail.example.org"), SUMMARY)
    assert not missing.ok and "mail_to" in missing.detail


def test_nothing_configured_sends_nothing(tmp_path):
    assert alerts.send_alerts(home_with(tmp_path), SUMMARY) == ()
