"""A sign-in lock raises an alert (告警): the failure that locks an account name queues one ``lock-alert`` job
(the sign-in answers at once), which ``hsar worker`` sends through the audit's channels, a real command here
(a script writing what it was given into tmp_path) and mail (the audit alert tests' SMTP stand-in): the name, the
failures, the lock's end and the last address, never a password; further failures while it is locked send
nothing more."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from repository.accounts.securitylog import list_events
from repository.config import load as load_config
from repository.jobs import JobQueue
from repository.jobs.tasks import execute
from repository.state.db import open_state

from ..audit.test_alerts import fake_smtp  # noqa: F401 - the audit alert tests' SMTP stand-in
from .test_login_lockout import _app, _try, home  # noqa: F401 - a home locking a name after 3 failures

SECRET = "wrong-pw-Zq81"  # the password tried: it must appear in no alert


@pytest.fixture
def alerts_to(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The alert command: a script appending, per alert, its standard input and HSAR_ environment as a line."""
    out, script = tmp_path / "alerts.jsonl", tmp_path / "notify.py"
    script.write_text("import json, os, sys\n"
                      "env = {k: v for k, v in os.environ.items() if k.startswith('HSAR_')}\n"
                      f"with open({str(out)!r}, 'a') as f:\n"
                      "    f.write(json.dumps({'stdin': json.load(sys.stdin), 'env': env}) + '\\n')\n")
    monkeypatch.setenv("HSAR_ALERTS_COMMAND", f"{sys.executable} {script}")
    return out


def _alert_jobs(home: Path) -> list[Any]:  # noqa: F811
    with JobQueue.open(home) as queue:
        return [j for j in queue.list(limit=1000) if j.kind == "lock-alert"]


def _work(home: Path) -> list[Any]:  # noqa: F811 - every lock-alert job, run as `hsar worker` runs it
    with JobQueue.open(home) as queue:
        for job in _alert_jobs(home):
            if job.state == "queued":
                execute(queue, job.id, threading.Event())
    return _alert_jobs(home)


def _lock(wh: Any, app: Flask, name: str) -> float:  # noqa: ANN401
    """Three failures of ``name`` from three addresses, the last locking it; how long the locking one took."""
    assert [_try(wh, app, name, SECRET, f"10.0.0.{n}")[0] for n in (1, 2)] == [401, 401]
    started = time.monotonic()
    assert _try(wh, app, name, SECRET, "10.0.0.3")[0] == 429
    return time.monotonic() - started


def test_one_lock_sends_one_alert_with_its_facts_and_no_password(wh: Any, home: Path, alerts_to: Path) -> None:  # noqa: ANN401, F811
    app = _app(home)
    _lock(wh, app, "xuanwu")
    assert not alerts_to.exists()  # the sign-in only queued it
    (job,) = _alert_jobs(home)
    assert job.state == "queued" and job.username is None
    (done,) = _work(home)
    assert done.state == "done" and [o["ok"] for o in done.result["outcomes"]] == [True]
    (line,) = alerts_to.read_text().splitlines()
    got = json.loads(line)
    with open_state(load_config(home).state_url) as state:
        (locked,) = list_events(state, username="xuanwu", event="locked")
    assert got["stdin"]["event"] == "account-locked" and got["stdin"]["username"] == "xuanwu"
    assert got["stdin"]["failures"] == 3 and got["stdin"]["address"] == "10.0.0.3"
    assert got["stdin"]["locked_until"] == locked.detail["until"]  # the lock the security log records
    assert locked.address == "10.0.0.3" and locked.detail["failures"] == 3
    env = got["env"]
    assert env["HSAR_ALERT_KIND"] == "account-locked" and env["HSAR_LOCKED_USER"] == "xuanwu"
    assert env["HSAR_LOCKED_FAILURES"] == "3" and env["HSAR_LOCKED_ADDRESS"] == "10.0.0.3"
    assert "账户已锁定：xuanwu" in env["HSAR_ALERT_SUBJECT"]
    assert SECRET not in line and "password" not in line.lower()

    # locked: further failures, and the right password, are refused and alert nobody again
    for password, address in ((SECRET, "10.0.0.4"), (wh.PASSWORD, "10.0.0.5"), (SECRET, "10.0.0.6")):
        assert _try(wh, app, "xuanwu", password, address)[0] == 429
    assert len(_work(home)) == 1 and len(alerts_to.read_text().splitlines()) == 1
    # another name locked: its own alert
    _lock(wh, app, "ghost")
    assert len(_work(home)) == 2 and [json.loads(n)["stdin"]["username"] for n in
                                      alerts_to.read_text().splitlines()] == ["xuanwu", "ghost"]


def test_the_alert_is_mailed_in_the_repositorys_language(wh: Any, home: Path, fake_smtp: Any,  # noqa: ANN401, F811
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HSAR_ALERTS_SMTP_HOST", "mail.example.org")
    monkeypatch.setenv("HSAR_ALERTS_MAIL_TO", "ops@example.org")
    monkeypatch.setenv("HSAR_REPOSITORY_LANGUAGE", "en")
    _lock(wh, _app(home), "jianye")
    (done,) = _work(home)
    assert done.state == "done" and [o["channel"] for o in done.result["outcomes"]] == ["mail"]
    (address, message), = fake_smtp.sent
    assert address == ("mail.example.org", 25) and message["To"] == "ops@example.org"
    assert message["Subject"].endswith("account locked: jianye")
    body = message.get_content()
    assert "failed to sign in 3 times" in body and "10.0.0.3" in body and "锁定" not in body.split("\n{")[0]
    assert SECRET not in body


def test_a_channel_that_fails_fails_the_job_and_never_the_sign_in(wh: Any, home: Path,  # noqa: ANN401, F811
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HSAR_ALERTS_COMMAND", f"{sys.executable} -c 'import sys; sys.exit(4)'")
    app = _app(home)
    _lock(wh, app, "jianye")
    (done,) = _work(home)
    assert done.state == "failed" and done.error_code == "ALERT-FAILED" and "exit status 4" in done.message
    # a queue that cannot take the alert: the name is locked all the same, the sign-in answers as ever
    from repository.jobs import lockalert

    def broken(*_args: Any, **_kwargs: Any) -> None:  # noqa: ANN401
        raise OSError("the queue's storage is gone")

    monkeypatch.setattr(lockalert.JobQueue, "__init__", broken)
    assert _lock(wh, app, "ghost") < 5


def test_nothing_configured_queues_nothing(wh: Any, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN401, F811
    monkeypatch.delenv("HSAR_ALERTS_COMMAND", raising=False)
    monkeypatch.delenv("HSAR_ALERTS_SMTP_HOST", raising=False)
    _lock(wh, _app(home), "xuanwu")
    assert _alert_jobs(home) == []
