"""A store other OCFL tools read: new homes use layout extension 0003 and pass ocfl-py's own
``ocfl-validate.py`` (run in a subprocess, no hsar code loaded); homes made with 0004 keep working."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from repository.audit.run import run_audit
from repository.audit.select import Selection
from repository.cli import cli
from repository.home import Repository
from repository.ingest.pipeline import ingest
from repository.preservation.ids import object_id
from repository.preservation.ocfl import OcflStore, SourceFile
from repository.preservation.ocfl_layout import (
    LAYOUT_0003,
    LAYOUT_0004,
    HashedNTupleLayout,
    encode_identifier,
)

VALIDATOR = Path(sys.executable).parent / "ocfl-validate.py"
NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
ODD_ID = "urn:hsar:archive:示范 住房/档案%20 " + "长" * 30  # needs encoding, and is cut at 100 characters


def _ocfl_validate(root: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    if not VALIDATOR.is_file():
        pytest.skip(f"ocfl-py's ocfl-validate.py not found next to {sys.executable}")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    return subprocess.run([sys.executable, "-I", str(VALIDATOR), str(root)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def _add_plain_object(store: OcflStore, staging: Path, identifier: str) -> None:
    source = staging.parent / "plain.txt"
    source.write_bytes(b"plain")
    files = {"data/plain.txt": SourceFile(source, hashlib.sha512(b"plain").hexdigest(), 5)}
    store.add_version(identifier, files, staging=staging, message="test", user=("test", None), created=NOW)


def test_a_new_home_passes_ocfl_validate_py_unmodified(ingested_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(ingested_home, home, symlinks=True)
    with Repository.open(home) as repo:
        store, ids = repo.store, list(repo.catalog.archive_ids())
        _add_plain_object(store, repo.staging, ODD_ID)
    root = home / "storage"
    assert json.loads((root / "ocfl_layout.json").read_text("utf-8"))["extension"] == LAYOUT_0003
    assert len(ids) >= 5
    for archive in ids:  # staff find an archive by its identifier: the directory is named with it
        where = store.object_root(object_id(archive))
        assert where.name == "urn%3ahsar%3aarchive%3a" + encode_identifier(archive) and where.is_dir()
    odd = store.object_root(ODD_ID)
    assert odd.is_dir() and len(odd.name) == 100 + 1 + 64 and odd.name.startswith("urn%3ahsar%3aarchive%3a%e7")
    result = _ocfl_validate(root, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"layout is {LAYOUT_0003}" in result.stderr and "[E" not in result.stdout + result.stderr
    (odd.parent / "stray.txt").write_bytes(b"x")  # the check can fail: a file outside every object (E072)
    assert _ocfl_validate(root, tmp_path).returncode == 1


def test_show_prints_where_the_object_is(ingested_home: Path) -> None:
    with Repository.open(ingested_home) as repo:
        archive = next(iter(repo.catalog.archive_ids()))
        expected = repo.store.object_root(object_id(archive))
    assert expected.is_dir()
    text = CliRunner().invoke(cli, ["--home", str(ingested_home), "--lang", "en", "show", archive])
    assert text.exit_code == 0 and f"Stored at (OCFL object): {expected}" in text.output, text.output
    data = CliRunner().invoke(cli, ["--home", str(ingested_home), "show", archive, "--json"])
    assert json.loads(data.output)["object_path"] == str(expected)


def test_a_0004_home_still_opens_ingests_and_audits(home_template: Path, demo, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(home_template, home, symlinks=True)
    shutil.rmtree(home / "storage")
    OcflStore.init(home / "storage", layout=LAYOUT_0004)  # a home as hsar made them before 0003
    sips = demo.sips()[:3]
    with Repository.open(home) as repo:
        assert repo.store.layout == HashedNTupleLayout()
        outcomes = ingest(repo, sips)
        assert [o.status for o in outcomes] == ["ingested"] * len(sips), [o.to_dict("en") for o in outcomes]
        ids = list(repo.catalog.archive_ids())
        for archive in ids:
            expected = HashedNTupleLayout().object_path(object_id(archive))
            assert (home / "storage" / expected / "inventory.json").is_file()
        run = run_audit(repo, Selection("all"), now=NOW, alert=False)
        assert run.ok and run.counts()["intact"] == len(ids), run.counts()
    assert json.loads((home / "storage/ocfl_layout.json").read_text("utf-8"))["extension"] == LAYOUT_0004
    assert not (home / "storage/extensions" / LAYOUT_0003).exists()
    from repository.preservation.ocfl_validate import validate_with_ocfl_py

    assert validate_with_ocfl_py(home / "storage") == []
