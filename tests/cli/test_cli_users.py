"""``hsar user`` through the real console script and click's runner; ``rebuild-catalog`` leaves accounts alone."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from repository.accounts.tokens import verify_token
from repository.accounts.users import authenticate
from repository.cli import cli
from repository.config import load
from repository.state.db import open_state

PW = "s3cret-pass"


def hsar(home, *args: str, stdin: str | None = None):  # noqa: ANN201 - click's Result
    return CliRunner().invoke(cli, ["--home", str(home), *args], input=stdin, prog_name="hsar")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("home") / "h"
    result = hsar(home, "init")
    assert result.exit_code == 0, result.output
    assert (home / "state.sqlite").is_file()
    return home


def _state(home):
    return open_state(load(home).state_url)


def test_first_admin_then_list_and_login(home):
    result = hsar(home, "user", "add", "admin", "--role", "admin", "--division", "000000", "--name", "管理员",
                  "--password-stdin", stdin=PW + "\n")
    assert result.exit_code == 0, result.output
    assert "已创建用户 admin（系统管理员，000000）" in result.output
    result = hsar(home, "--lang", "en", "user", "add", "wang", "--role", "archivist", "--division", "320102",
                  "--lang", "en", stdin=f"{PW}\n{PW}\n")  # the hidden prompt, twice
    assert result.exit_code == 0, result.output
    assert "added user wang (archivist, 320102)" in result.output
    listed = json.loads(hsar(home, "user", "list", "--json").output)
    assert [(u["username"], u["role"], u["division"], u["active"], u["lang"]) for u in listed] == [
        ("admin", "admin", "000000", True, "zh"), ("wang", "archivist", "320102", True, "en")]
    text = hsar(home, "--lang", "en", "user", "list").output
    assert "wang\twang\tarchivist\t320102\tactive" in text
    with _state(home) as state:
        assert authenticate(state, "admin", PW).display_name == "管理员"


def test_passwd_token_disable(home):
    hsar(home, "user", "add", "robot", "--role", "researcher", "--division", "320102", "--password-stdin",
         stdin=PW + "\n")
    result = hsar(home, "user", "passwd", "robot", "--password-stdin", stdin="a-new-password\n")
    assert result.exit_code == 0 and "已更改用户 robot 的密码" in result.output
    result = CliRunner().invoke(cli, ["--home", str(home), "user", "token", "robot", "--name", "ci"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    with _state(home) as state:
        assert authenticate(state, "robot", "a-new-password") is not None
        assert verify_token(state, token).username == "robot"
    assert hsar(home, "user", "disable", "robot").exit_code == 0
    with _state(home) as state:
        assert verify_token(state, token) is None and authenticate(state, "robot", "a-new-password") is None


def test_set_role_and_scope_enable_and_the_last_administrator(home):
    hsar(home, "user", "add", "liu", "--role", "researcher", "--division", "320102", "--password-stdin",
         stdin=PW + "\n")
    result = hsar(home, "user", "set", "liu", "--role", "auditor", "--division", "320105")
    assert result.exit_code == 0 and "用户 liu：审计员，320105" in result.output, result.output
    result = hsar(home, "user", "set", "liu", "--division", "320100", "--json")
    assert json.loads(result.output)["result"] == {"username": "liu", "role": "auditor", "division": "320100"}
    assert hsar(home, "user", "disable", "liu").exit_code == 0
    result = hsar(home, "user", "enable", "liu")
    assert result.exit_code == 0 and "已启用用户 liu" in result.output
    with _state(home) as state:
        assert authenticate(state, "liu", PW).principal.division == "320100"
    # "admin" (made first) is the only active administrator: it keeps its role and stays enabled
    for args in (("set", "admin", "--role", "archivist"), ("disable", "admin")):
        result = hsar(home, "user", *args)
        assert result.exit_code == 1 and "[ACC-LAST-ADMIN]" in result.output, result.output
    assert hsar(home, "user", "set", "liu", "--role", "admin").exit_code == 0  # a second administrator …
    assert hsar(home, "user", "set", "admin", "--role", "archivist").exit_code == 0  # … and the first may go
    assert hsar(home, "user", "set", "liu", "--role", "researcher").exit_code == 1  # now liu is the last one
    assert hsar(home, "user", "set", "admin", "--role", "admin").exit_code == 0


@pytest.mark.parametrize(("args", "stdin", "code", "message"), [
    (("add", "Bad Name", "--role", "admin", "--division", "320102"), PW, 1, "[ACC-USERNAME]: 用户名 'Bad Name' 不可用"),
    (("add", "ok", "--role", "admin", "--division", "32010"), PW, 1, "[ACC-DIVISION]"),
    (("add", "ok", "--role", "admin", "--division", "110101"), PW, 1, "不在本库的区划树中"),
    (("add", "ok", "--role", "admin", "--division", "320102", "--password-stdin"), "short", 1, "至少 8 个字符"),
    (("add", "ok", "--role", "admin", "--division", "320102"), f"{PW}\nother-pass\n", 1, "两次输入的密码不一致"),
    (("add", "ok", "--role", "boss", "--division", "320102"), PW, 2, "[USAGE]"),
    (("disable", "nobody"), None, 1, "[ACC-UNKNOWN]: 用户 nobody 不存在"),
    (("passwd", "nobody", "--password-stdin"), PW, 1, "[ACC-UNKNOWN]"),
    (("token", "nobody"), None, 1, "[ACC-UNKNOWN]"),
    (("enable", "nobody"), None, 1, "[ACC-UNKNOWN]"),
    (("set", "nobody", "--role", "auditor"), None, 1, "[ACC-UNKNOWN]"),
    (("set", "admin", "--division", "32010"), None, 1, "[ACC-DIVISION]"),
])
def test_bad_input_is_one_coded_line(home, args, stdin, code, message):
    result = hsar(home, "user", *args, stdin=stdin)
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output
    with _state(home) as state, state.transaction() as conn:
        from sqlalchemy import text

        assert conn.scalar(text("SELECT count(*) FROM users WHERE username = 'ok'")) == 0


def test_a_home_without_state_says_run_init(tmp_path):
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "hsar.toml").write_text("")
    result = hsar(tmp_path / "h", "--lang", "en", "user", "list")
    assert result.exit_code == 1 and "[STATE]" in result.output and "run `hsar init`" in result.output
    assert not (tmp_path / "h" / "state.sqlite").exists()


def test_rebuild_catalog_leaves_the_state_untouched(tmp_path):
    home = tmp_path / "h"
    env_run = [sys.executable, "-c", "from repository.cli import main; main()", "--home", str(home)]
    assert subprocess.run([*env_run, "init"], capture_output=True).returncode == 0
    added = subprocess.run([*env_run, "user", "add", "li", "--role", "auditor", "--division", "320102",
                            "--password-stdin"], input=PW + "\n", capture_output=True, text=True)
    assert added.returncode == 0, added.stderr
    state_file = home / "state.sqlite"
    before = hashlib.sha256(state_file.read_bytes()).hexdigest()
    rebuilt = subprocess.run([*env_run, "rebuild-catalog"], capture_output=True, text=True)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert hashlib.sha256(state_file.read_bytes()).hexdigest() == before
    with _state(home) as state:
        assert authenticate(state, "li", PW) is not None
