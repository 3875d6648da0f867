"""``--json`` of init, sip build, demo-data, scheduler, reindex and rebuild-catalog: one envelope
``{"schema": "hsar/<command>/1", "ok", "result"}``, valid against ``docs/schemas/<command>.schema.json``."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from repository.cli import cli
from repository.resources import METADATA_DIR

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def _json(*args: str) -> dict:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _check(name: str, data: dict) -> dict:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(data, schema, format_checker=jsonschema.FormatChecker())
    assert data["schema"] == f"hsar/{name}/1"
    return data["result"]


def test_every_new_json_output_matches_its_schema(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    created = _check("init", _json("--home", home, "init", "--json"))
    assert any(p.endswith("hsar.toml") for p in created["created"]) and created["kept"] == []
    assert _check("init", _json("--home", home, "init", "--json"))["created"][-1].startswith("sqlite")
    sips = _check("demo-data", _json("demo-data", str(tmp_path / "sips"), "--households", "1", "--units", "0",
                                     "--json"))["sips"]
    assert len(sips) >= 1 and all(Path(p).is_dir() for p in sips)
    assert CliRunner().invoke(cli, ["--home", home, "ingest", *sips]).exit_code == 0
    assert _check("reindex", _json("--home", home, "reindex", "--json"))["indexed"] == 1
    rebuilt = _check("rebuild-catalog", _json("--home", home, "rebuild-catalog", "--json"))
    assert rebuilt["archives"] == 1 and rebuilt["set_aside"] is None
    listed = _check("scheduler-list", _json("--home", home, "scheduler", "--list", "--json"))
    assert {job["name"] for job in listed["jobs"]} == {"audit", "replicate", "paper"}

    export = METADATA_DIR / "examples" / "export-household.json"
    docs = tmp_path / "docs"
    docs.mkdir()
    for item in json.loads(export.read_text("utf-8"))["items"]:
        for f in item["files"]:
            (docs / Path(f).name).write_bytes(b"document " + f.encode())
    built = _check("sip-build", _json("sip", "build", str(docs), str(export), str(tmp_path / "built"), "--json"))
    assert built == {"bag": str(tmp_path / "built"), "algorithms": ["sha512"]}


@pytest.mark.parametrize("name", sorted(p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json")))
def test_each_schema_is_valid_and_refuses_another_envelope(name: str) -> None:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"schema": f"hsar/{name}/2", "ok": True, "result": {}}, schema)


def test_the_scheduler_run_envelope_is_described() -> None:
    schema = json.loads((SCHEMAS / "scheduler-run.schema.json").read_text("utf-8"))
    jsonschema.validate({"schema": "hsar/scheduler-run/1", "ok": True,
                         "result": {"job": "replicate", "finished": "2025-03-01T02:00:00+00:00", "stopped": False,
                                    "error": None, "detail": {"ok": True}}}, schema)


def test_user_commands_print_their_envelopes(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    _json("--home", home, "init", "--json")
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> dict:
        result = runner.invoke(cli, ["--home", home, "user", *args, "--json"], input=stdin)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    added = _check("user-add", run("add", "robot", "--role", "researcher", "--division", "320102",
                                   "--password-stdin", stdin="s3cret-pass-1\n"))
    assert added == {"username": "robot", "role": "researcher", "division": "320102", "display_name": "robot",
                     "lang": "zh"}
    assert _check("user-passwd", run("passwd", "robot", "--password-stdin", stdin="s3cret-pass-2\n")) == {
        "username": "robot"}
    token = _check("user-token", run("token", "robot", "--name", "ci"))
    assert token["name"] == "ci" and len(token["token"]) >= 20
    assert _check("user-disable", run("disable", "robot")) == {"username": "robot"}
    assert _check("user-enable", run("enable", "robot")) == {"username": "robot"}
    assert _check("user-unlock", run("unlock", "robot")) == {"username": "robot", "was_locked": False}
    assert _check("user-set", run("set", "robot", "--role", "auditor", "--division", "320100")) == {
        "username": "robot", "role": "auditor", "division": "320100"}
