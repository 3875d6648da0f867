"""``hsar user verify-register``: the access register's chain checked from the shell; each problem with its
code and its text in the ``--lang`` language (the register's problems were English sentences), ``--json``
valid against ``docs/schemas/user-verify-register.schema.json``; exit 0 intact, 1 broken."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from click.testing import CliRunner
from sqlalchemy import update

from repository.access import Principal, Role
from repository.accounts.register import record_use
from repository.cli import cli
from repository.config import load as load_config
from repository.home import init_home
from repository.state import tables as t
from repository.state.db import open_state

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "user-verify-register.schema.json"
READER = Principal("reader", Role.RESEARCHER, "320100")


def hsar(home: Path, *args: str):  # noqa: ANN201 - click's Result
    return CliRunner().invoke(cli, ["--home", str(home), *args], prog_name="hsar")


def _checked(output: str) -> dict:
    data = json.loads(output)
    jsonschema.validate(data, json.loads(SCHEMA.read_text("utf-8")))
    return data


def test_the_register_is_verified_from_the_shell_in_either_language(tmp_path: Path) -> None:
    home = tmp_path / "home"
    init_home(home)
    url = load_config(home).state_url
    with open_state(url) as state:
        entries = [record_use(state, READER, "view", f"A-{n}", "复核") for n in range(3)]
    intact = hsar(home, "user", "verify-register")
    assert intact.exit_code == 0 and f"共 3 条；链头 3:{entries[2].hash}" in intact.output
    data = _checked(hsar(home, "user", "verify-register", "--json").output)
    assert data["ok"] and data["result"] == {"checked": 3, "head": f"3:{entries[2].hash}", "problems": []}

    with open_state(url) as state, state.transaction(write=True) as conn:
        conn.execute(update(t.access_register).where(t.access_register.c.seq == 2).values(purpose="其他"))
    zh = hsar(home, "user", "verify-register")
    assert zh.exit_code == 1 and "[REG-ALTERED] 第 2 条记录的哈希与其内容不符：该记录被改动" in zh.output
    en = hsar(home, "--lang", "en", "user", "verify-register")
    assert en.exit_code == 1 and "[REG-ALTERED] entry 2: its hash does not match its fields" in en.output
    assert "哈希" not in en.output
    broken = _checked(hsar(home, "--lang", "en", "user", "verify-register", "--json").output)
    assert not broken["ok"] and [(p["seq"], p["code"]) for p in broken["result"]["problems"]] == [(2, "REG-ALTERED")]

    with open_state(url) as state, state.transaction(write=True) as conn:  # the change undone, the newest cut
        conn.execute(update(t.access_register).where(t.access_register.c.seq == 2).values(purpose="复核"))
        conn.execute(t.access_register.delete().where(t.access_register.c.seq == 3))
    assert hsar(home, "user", "verify-register").exit_code == 0  # a shorter chain is still a chain …
    cut = hsar(home, "user", "verify-register", "--expect", f"3:{entries[2].hash}")
    assert cut.exit_code == 1 and "[REG-TRUNCATED]" in cut.output and "截断" in cut.output  # … but not the one noted
    bad = hsar(home, "user", "verify-register", "--expect", "three")
    assert bad.exit_code == 2 and "Traceback" not in bad.output
