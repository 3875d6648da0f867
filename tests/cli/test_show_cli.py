"""``hsar show`` over ingested demo archives: every resident ID is hidden with ``--mask``, text and JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from repository.cli import cli
from repository.home import Repository
from repository.privacy import mask_resident_id

_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")


def _show(home: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--home", str(home), "show", *args])
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    return result.output


def _household_ids(home: Path) -> tuple[str, list[str]]:
    """The demo household with the most members, and every resident ID in it."""
    with Repository.open(home) as repo:
        households = [(a, repo.catalog.show(a).archive.household) for a in repo.catalog.archive_ids()
                      if a.startswith("hh-")]
    archive_id, household = max(households, key=lambda pair: len(pair[1].members))
    return archive_id, [household.head.resident_id] + [m.resident_id for m in household.members]


def test_show_reveals_ids_to_the_archivist_and_masks_them_on_request(ingested_home: Path) -> None:
    archive_id, ids = _household_ids(ingested_home)
    assert len(ids) >= 2
    for fmt in ((), ("--json",)):
        plain = _show(ingested_home, archive_id, *fmt)
        masked = _show(ingested_home, archive_id, *fmt, "--mask")
        assert all(i in plain for i in ids), fmt
        assert not _ID.search(masked), (fmt, _ID.findall(masked))
        assert all(mask_resident_id(i) in masked for i in ids), fmt
    view = json.loads(_show(ingested_home, archive_id, "--json", "--mask"))
    assert view["description"]["household"]["head"]["resident_id"] == mask_resident_id(ids[0])
    assert view["identifier"] == archive_id and view["paper_references"]["volume"]  # nothing else is lost


def test_show_speaks_the_interface_language(ingested_home: Path) -> None:
    archive_id, _ids = _household_ids(ingested_home)
    chinese = _show(ingested_home, archive_id)
    result = CliRunner().invoke(cli, ["--home", str(ingested_home), "--lang", "en", "show", archive_id])
    assert result.exit_code == 0, result.output
    assert "档号" in chinese and "版本 (versions):" in chinese
    assert "reference code" in result.output and "versions:" in result.output and "档号" not in result.output


def test_show_of_an_id_that_is_not_utf8_is_not_found(ingested_home: Path) -> None:
    import os
    import subprocess
    import sys

    hsar = Path(sys.executable).parent / "hsar"
    done = subprocess.run([hsar, "--home", os.fsencode(ingested_home),
                           "show", b"bad\xff"], capture_output=True)
    assert done.returncode == 1 and b"[NOT-FOUND]" in done.stderr and b"Traceback" not in done.stderr
    assert b"bad\\xff" in done.stderr


def test_rebuild_catalog_sets_an_unreadable_catalogue_aside_and_starts_afresh(ingested_home: Path, tmp_path) -> None:
    import shutil

    home = tmp_path / "home"
    shutil.copytree(ingested_home, home, symlinks=True)
    archive_id, _ids = _household_ids(home)
    (home / "catalog.sqlite").write_bytes(b"\x00garbage, not a database" * 200)
    result = CliRunner().invoke(cli, ["--home", str(home), "--lang", "en", "rebuild-catalog"])
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    (kept,) = home.glob("catalog.sqlite.unreadable-*")
    assert kept.read_bytes().startswith(b"\x00garbage") and "starting afresh" in result.output
    assert archive_id in _show(home, archive_id)
