"""``hsar init``, ``hsar sip validate`` and ``hsar sip build`` through the real CLI: exit codes, JSON shape,
languages, and no tracebacks on bad input."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from repository.cli import cli
from repository.descriptive import read_descriptive
from repository.ingest.build import write_sip
from repository.resources import METADATA_DIR


@pytest.fixture
def sip(tmp_path: Path) -> Path:
    archive = read_descriptive(METADATA_DIR / "examples" / "household-valid.xml")
    payload = {f: f"scan of {f}".encode() for f in archive.files()}
    return write_sip(archive, payload, tmp_path / "sip", source_organization="玄武区住房保障中心",
                     bagging_date=date(2024, 5, 6))


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_valid_sip(sip: Path) -> None:
    code, out = run("sip", "validate", str(sip), "--json")
    assert code == 0
    assert json.loads(out) == {"valid": True, "issues": []}


def test_invalid_sip_reports_every_problem(sip: Path) -> None:
    target = next((sip / "data").rglob("*.pdf"))
    target.write_bytes(b"tampered after bagging")
    (sip / "data" / "stray.txt").write_text("not in any manifest", "utf-8")
    code, out = run("sip", "validate", str(sip), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["valid"] is False
    codes = {i["code"] for i in report["issues"]}
    assert {"BAG011", "BAG010", "BAG015", "PAY001"} <= codes
    assert set(report["issues"][0]) == {"code", "severity", "message", "path"}


def test_text_output_in_both_languages(sip: Path) -> None:
    (sip / "bagit.txt").unlink()
    code, out = run("--lang", "en", "sip", "validate", str(sip))
    assert code == 1 and "[BAG001] error" in out and "bagit.txt is missing" in out
    code, out = run("sip", "validate", str(sip))
    assert code == 1 and "[BAG001] 错误" in out and "缺少 bagit.txt" in out


def test_bagit_only_ignores_profile_and_metadata(sip: Path) -> None:
    (sip / "metadata" / "descriptive.xml").write_text("<not-ours/>", "utf-8")
    shutil.rmtree(sip / "metadata" / "x", ignore_errors=True)
    code, out = run("sip", "validate", str(sip), "--json")
    assert code == 1
    code, out = run("sip", "validate", str(sip), "--json", "--bagit-only")
    codes = {i["code"] for i in json.loads(out)["issues"]}
    assert "BAG011" in codes and not any(c.startswith(("MD", "PRF")) for c in codes)


def test_zip_package(sip: Path, tmp_path: Path) -> None:
    archive = shutil.make_archive(str(tmp_path / "package"), "zip", sip.parent, sip.name)
    code, out = run("sip", "validate", archive, "--json")
    assert code == 0, out


def test_unusable_arguments_exit_2(tmp_path: Path) -> None:
    code, out = run("sip", "validate", str(tmp_path / "nowhere"))
    assert code == 2


def test_bad_configuration_is_one_line_exit_2(sip: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "hsar.toml").write_text("[limits]\nmax_ratoi = 3\n", "utf-8")
    code, out = run("--home", str(home), "sip", "validate", str(sip))
    assert code == 2
    assert "[CONFIG]" in out and "max_ratoi" in out


def test_init_creates_a_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, out = run("--home", str(home), "init")
    assert code == 0
    for name in ("hsar.toml", "storage/0=ocfl_1.1", "keys/ca.pem", "catalog.sqlite", "rejected", "staging"):
        assert (home / name).exists(), name
    code, out = run("--home", str(home), "init")
    assert code == 0 and "hsar.toml" in out


def test_build_from_json_export(tmp_path: Path) -> None:
    export = METADATA_DIR / "examples" / "export-household.json"
    data = json.loads(export.read_text("utf-8"))
    docs = tmp_path / "docs"
    docs.mkdir()
    for item in data["items"]:
        for f in item["files"]:
            (docs / Path(f).name).write_bytes(b"document " + f.encode())
    code, out = run("sip", "build", str(docs), str(export), str(tmp_path / "built"))
    assert code == 0, out
    code, out = run("sip", "validate", str(tmp_path / "built"), "--json")
    assert json.loads(out)["valid"] is True, out
    code, out = run("sip", "build", str(docs), str(export), str(tmp_path / "built"))
    assert code == 1 and "BUILD-EXISTS" in out
