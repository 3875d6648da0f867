"""``hsar init``, ``hsar sip validate`` and ``hsar sip build`` through the real CLI: exit codes, JSON shape,
languages, and no tracebacks on bad input."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from repository.cli import cli
from repository.descriptive import read_descriptive
from repository.resources import METADATA_DIR
from repository.sip.build import write_sip


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


def test_init_force_keeps_the_keys_of_a_home_that_holds_archives(tmp_path: Path) -> None:
    """New keys would make every stored version fail its audit (AUD010) and lose the old CA: refused, and
    nothing changes (hsar.toml edits included); a home with an empty store may still be reset."""
    from repository.demo.generate import write_demo_data
    from repository.home import Repository
    from repository.ingest.pipeline import ingest

    home = tmp_path / "home"
    assert run("--home", str(home), "init")[0] == 0
    assert run("--home", str(home), "init", "--force")[0] == 0  # nothing stored yet: allowed
    [unit] = write_demo_data(tmp_path / "demo", households=0, units=1, seed=5)
    with Repository.open(home) as repo:
        assert [o.status for o in ingest(repo, [unit])] == ["ingested"]
    toml = home / "hsar.toml"
    toml.write_text(toml.read_text("utf-8").replace('contact = ""', 'contact = "archives@example.gov.cn"', 1),
                    "utf-8")
    before = {p.name: p.read_bytes() for p in [toml, *sorted((home / "keys").iterdir())]}
    code, out = run("--home", str(home), "--lang", "en", "init", "--force")
    assert code == 2
    [line] = out.strip().splitlines()
    assert line.startswith("error [INIT-FORCE]: ") and "already holds archives" in line
    assert "without --force" in line
    assert {p.name: p.read_bytes() for p in [toml, *sorted((home / "keys").iterdir())]} == before
    code, out = run("--home", str(home), "init")  # completing the home is still fine
    assert code == 0 and "archives@example.gov.cn" in toml.read_text("utf-8")


def test_demo_data_with_nothing_to_write_is_a_valid_empty_set(tmp_path: Path) -> None:
    code, out = run("--lang", "en", "demo-data", str(tmp_path / "empty"), "--households", "0", "--units", "0")
    assert code == 0, out
    assert "wrote 0 SIPs" in out
    manifest = json.loads((tmp_path / "empty" / "demo_manifest.json").read_text("utf-8"))
    assert manifest["sips"] == [] and [p.name for p in (tmp_path / "empty").iterdir()] == ["demo_manifest.json"]


@pytest.mark.parametrize(("field", "value", "named"), [
    ("title", "申请\x01书", "items[0].title（材料题名）"),
    ("files", ["申请\n书.pdf"], "items[0].files（文件）"),
])
def test_build_refuses_control_characters_naming_the_field(tmp_path: Path, field: str, value: object,
                                                           named: str) -> None:
    data = json.loads((METADATA_DIR / "examples" / "export-household.json").read_text("utf-8"))
    docs = tmp_path / "docs"
    docs.mkdir()
    for item in data["items"]:
        for f in item["files"]:
            (docs / Path(f).name).write_bytes(b"document " + f.encode())
    data["items"][0][field] = value
    export = tmp_path / "export.json"
    export.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    code, out = run("sip", "build", str(docs), str(export), str(tmp_path / "built"))
    assert code == 1, out
    [line] = out.strip().splitlines()
    assert line.startswith("错误 [BUILD-METADATA]: ") and named in line and "U+00" in line
    assert not (tmp_path / "built").exists()
    code, out = run("--lang", "en", "sip", "build", str(docs), str(export), str(tmp_path / "built"))
    [line] = out.strip().splitlines()
    assert line.startswith("error [BUILD-METADATA]: ") and "holds control characters" in line and "含有" not in line


def test_a_payload_name_with_a_control_character_is_invalid(tmp_path: Path) -> None:
    archive = read_descriptive(METADATA_DIR / "examples" / "household-valid.xml")
    first = archive.items[0]
    renamed = first.files[0][:-4] + "\n" + first.files[0][-4:]
    items = (dataclasses.replace(first, files=(renamed, *first.files[1:])), *archive.items[1:])
    archive = dataclasses.replace(archive, items=items)
    sip = write_sip(archive, {f: f"scan of {f}".encode() for f in archive.files()}, tmp_path / "sip",
                    source_organization="玄武区住房保障中心", bagging_date=date(2024, 5, 6))
    code, out = run("--lang", "en", "sip", "validate", str(sip), "--json")
    assert code == 1
    [found] = json.loads(out)["issues"]
    assert found["code"] == "PAY004" and found["severity"] == "error"
    assert found["path"] == renamed.replace("\n", "%0A") and "U+000A" in found["message"]
    code, out = run("sip", "validate", str(sip))
    assert code == 1 and len([line for line in out.splitlines() if "[PAY004]" in line]) == 1
    assert run("sip", "validate", str(sip), "--bagit-only")[0] == 0  # RFC 8493 itself allows such names
