"""The security log from the shell: ``hsar user`` changes are logged as made by the shell's login on this host;
``hsar user log`` lists the lines (filters, the newest ``--limit``; ``--json`` valid against
``docs/schemas/user-log.schema.json``); ``hsar user verify-log`` checks the chain (exit 0 intact, 1 broken;
``--json`` against ``user-verify-log.schema.json``)."""

from __future__ import annotations

import getpass
import json
import socket
from pathlib import Path

import jsonschema
from click.testing import CliRunner
from sqlalchemy import update

from repository.accounts.users import sign_in
from repository.cli import cli
from repository.config import load as load_config
from repository.home import init_home
from repository.state import tables as t
from repository.state.db import open_state

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def hsar(home: Path, *args: str, stdin: str | None = None):  # noqa: ANN201 - click's Result
    return CliRunner().invoke(cli, ["--home", str(home), *args], input=stdin, prog_name="hsar")


def _checked(name: str, output: str) -> dict:
    data = json.loads(output)
    jsonschema.validate(data, json.loads((SCHEMAS / f"{name}.schema.json").read_text("utf-8")),
                        format_checker=jsonschema.FormatChecker())
    return data


def test_shell_changes_are_logged_listed_and_verified(tmp_path: Path) -> None:
    home = tmp_path / "home"
    init_home(home)
    assert hsar(home, "user", "add", "wang", "--role", "archivist", "--division", "320102", "--password-stdin",
                stdin="long enough password\n").exit_code == 0
    assert hsar(home, "user", "set", "wang", "--role", "auditor").exit_code == 0
    assert hsar(home, "user", "token", "wang", "--name", "batch").exit_code == 0
    with open_state(load_config(home).state_url) as state:
        sign_in(state, "wang", "wrong", failures=5, minutes=30, address="10.3.3.3")
    assert hsar(home, "user", "unlock", "wang").exit_code == 0

    data = _checked("user-log", hsar(home, "user", "log", "--json").output)
    entries = data["result"]["entries"]
    assert [e["event"] for e in entries] == ["user-add", "user-set", "token-create", "sign-in-failed", "unlock"]
    shell = {(e["username"], e["role"], e["address"]) for e in entries if e["event"] != "sign-in-failed"}
    assert shell == {(getpass.getuser(), "shell", socket.gethostname())}
    assert entries[1]["detail"] == {"role": ["archivist", "auditor"]}

    text = hsar(home, "user", "log", "--event", "sign-in-failed").output
    assert "登录失败" in text and "10.3.3.3" in text and "原因：密码错误" in text and "user-add" not in text
    english = hsar(home, "--lang", "en", "user", "log", "--limit", "2").output.splitlines()
    assert len(english) == 2 and "sign-in failed" in english[0] and "sign-in lock lifted" in english[1]
    assert hsar(home, "user", "log", "--user", "nobody").output.strip() == "没有符合条件的日志"
    early = hsar(home, "user", "log", "--since", "0001-01-01")
    assert early.exit_code == 2 and "Traceback" not in early.output

    intact = hsar(home, "user", "verify-log")
    assert intact.exit_code == 0 and "安全审计日志哈希链完好：共 5 条" in intact.output
    assert _checked("user-verify-log", hsar(home, "user", "verify-log", "--json").output)["ok"]
    with open_state(load_config(home).state_url) as state, state.transaction(write=True) as conn:
        conn.execute(update(t.security_log).where(t.security_log.c.seq == 3).values(subject="li"))
    broken = hsar(home, "--lang", "en", "user", "verify-log")
    assert broken.exit_code == 1 and "[SEC-ALTERED] entry 3: its hash does not match" in broken.output
    data = _checked("user-verify-log", hsar(home, "user", "verify-log", "--json").output)
    assert not data["ok"] and [p["code"] for p in data["result"]["problems"]] == ["SEC-ALTERED"]
