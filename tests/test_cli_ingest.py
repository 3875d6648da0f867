"""``hsar ingest PATH... [--json] [--workers N]``: JSON Lines shape, exit codes, rejection reports, folders.

Exit 0 when every SIP was ingested or was an exact duplicate, 1 when any was rejected, 2 for unusable
arguments. ``--json`` prints one object per SIP per line: sip, status, archive_id, version, issues (and the
report path of a rejection). A rejected SIP leaves a report in ``rejected/`` and nothing in the store.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from repository.cli import cli
from repository.home import Repository, init_home
from repository.ingest.demo import write_demo_data

KEYS = {"sip", "status", "archive_id", "version", "issues", "report"}


@pytest.fixture(scope="module")
def sips(tmp_path_factory) -> list[Path]:
    """One household with its supplements and one unit, in ingest order."""
    root = tmp_path_factory.mktemp("cli-demo") / "sips"
    return write_demo_data(root, households=1, units=1, seed=3)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("cli-template") / "home"
    init_home(home)
    return home


@pytest.fixture
def home(template, tmp_path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "home"))


def run(home: Path, *args: str):
    result = CliRunner().invoke(cli, ["--home", str(home), "--lang", "en", "ingest", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def lines(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def tampered(sip: Path, target: Path) -> Path:
    shutil.copytree(sip, target)
    victim = sorted((target / "data").rglob("*.*"))[0]
    victim.write_bytes(victim.read_bytes() + b"\0")
    return target


def store_files(home: Path) -> list[str]:
    return sorted(p.relative_to(home).as_posix() for p in (home / "storage").rglob("*") if p.is_file())


def test_json_is_one_object_per_sip_per_line_and_exit_0(sips, home):
    result = run(home, "--json", *map(str, sips))
    assert result.exit_code == 0, result.output
    out = lines(result)
    assert len(out) == len(sips) == len(result.stdout.splitlines())
    for sip, obj in zip(sips, out, strict=True):
        assert set(obj) == KEYS
        assert obj["sip"] == str(sip) and obj["status"] == "ingested" and obj["report"] is None
        assert obj["archive_id"] and obj["version"].startswith("v") and isinstance(obj["issues"], list)
    versions: dict[str, list[str]] = {}
    for obj in out:
        versions.setdefault(obj["archive_id"], []).append(obj["version"])
    assert all(v == [f"v{n}" for n in range(1, len(v) + 1)] for v in versions.values())
    assert max(len(v) for v in versions.values()) >= 2  # a supplement made a v2
    again = run(home, "--json", *map(str, sips))
    assert again.exit_code == 0  # exact duplicates are not failures
    assert [(o["status"], o["report"]) for o in lines(again)] == [("duplicate", None)] * len(sips)
    assert [o["version"] for o in lines(again)] == [versions[o["archive_id"]][-1] for o in out]


def test_a_rejected_sip_exits_1_leaves_a_report_and_nothing_in_the_store(sips, home, tmp_path):
    bad = tampered(sips[1], tmp_path / "bad-bag")
    result = run(home, "--json", str(bad), str(sips[0]))
    assert result.exit_code == 1
    rejected, ok = lines(result)
    assert rejected["status"] == "rejected" and rejected["version"] is None
    assert "BAG011" in {i["code"] for i in rejected["issues"]}
    assert all({"code", "severity", "message", "path"} <= set(i) for i in rejected["issues"])
    report = Path(rejected["report"])
    assert report.parent == home / "rejected" and report.name.startswith("bad-bag-")
    assert "BAG011" in {i["code"] for i in json.loads(report.read_text("utf-8"))["issues"]}
    assert ok["status"] == "ingested"
    with Repository.open(home) as repo:
        assert repo.catalog.archive_ids() == [ok["archive_id"]]
    alone = run(home, "--json", str(bad))  # and on its own: exit 1, the store as it was
    before = store_files(home)
    assert alone.exit_code == 1 and lines(alone)[0]["status"] == "rejected"
    assert store_files(home) == before


def test_text_output_and_summary(sips, home, tmp_path):
    bad = tampered(sips[0], tmp_path / "bad")
    result = run(home, str(sips[0]), str(bad))
    assert result.exit_code == 1
    assert "ingested" in result.stdout and "[BAG011]" in result.stdout and "report:" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1] == "2 SIPs: 1 ingested, 0 duplicate, 1 rejected"


def test_a_folder_of_sips_rejects_what_is_not_a_bag_instead_of_skipping_it(sips, home, tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copytree(sips[0], drop / "a-good")
    broken = shutil.copytree(sips[0], drop / "b-no-bagit-txt")
    (broken / "bagit.txt").unlink()
    (drop / "c-package.rar").write_bytes(b"Rar!\x1a\x07\x00" + b"\0" * 64)
    (drop / "notes.txt").write_text("not a SIP", "utf-8")
    (drop / "z-not-a-bag").mkdir()
    result = run(home, "--json", str(drop))
    assert result.exit_code == 1
    got = {Path(o["sip"]).name: (o["status"], {i["code"] for i in o["issues"]}) for o in lines(result)}
    assert got["a-good"][0] == "ingested"
    assert got["b-no-bagit-txt"] == ("rejected", {"BAG001"})
    assert got["c-package.rar"][0] == "rejected" and "PKG001" in got["c-package.rar"][1]
    assert set(got) == {"a-good", "b-no-bagit-txt", "c-package.rar"}
    assert "skipped" in result.stderr and "notes.txt" in result.stderr and "z-not-a-bag" in result.stderr


def test_nothing_to_ingest_is_a_usage_error(home, tmp_path):
    (tmp_path / "empty").mkdir()
    result = run(home, str(tmp_path / "empty"))
    assert result.exit_code == 2 and "USAGE" in result.stderr


def test_workers_give_the_same_outcomes(sips, home, template, tmp_path):
    other = Path(shutil.copytree(template, tmp_path / "other"))
    one = run(home, "--json", *map(str, sips))
    two = run(other, "--json", "--workers", "2", *map(str, sips))
    assert one.exit_code == two.exit_code == 0
    pick = ("sip", "status", "archive_id", "version")
    assert [{k: o[k] for k in pick} for o in lines(one)] == [{k: o[k] for k in pick} for o in lines(two)]
    with Repository.open(other) as repo:
        assert repo.search.count() == len({o["archive_id"] for o in lines(two)})
        assert [p.name for p in (other / "staging").iterdir() if p.name != ".ingest.lock"] == []


def test_show_clears_what_a_killed_ingest_left(sips, home):
    from repository.ingest import pipeline

    with Repository.open(home) as repo:  # a kill after the store commit, before catalogue and index
        real = pipeline._record
        pipeline._record = lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt)
        try:
            with pytest.raises(KeyboardInterrupt):
                pipeline.ingest(repo, [sips[0]])
        finally:
            pipeline._record = real
        archive = repo.store.iter_object_ids().__next__().rsplit(":", 1)[-1]
        assert repo.catalog.show(archive) is None
    assert any(p.name.startswith("intent-") for p in (home / "staging").iterdir())
    result = CliRunner().invoke(cli, ["--home", str(home), "--lang", "en", "show", "--json", archive])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["head_version"] == "v1"
    assert [p.name for p in (home / "staging").iterdir() if p.name != ".ingest.lock"] == []
