"""``--home``: an empty value is refused (it would silently mean ./hsar-data), and a home where nothing can be
written is a clear error with a code, not an internal error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from repository.cli import cli


def test_an_empty_home_is_refused_not_taken_for_hsar_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hsar-data").mkdir()  # a home here must not be picked silently
    result = CliRunner().invoke(cli, ["--home", "", "--lang", "en", "init"])
    assert result.exit_code == 2 and result.stderr.startswith("error [USAGE]: --home (or HSAR_HOME) is empty")
    assert not (tmp_path / "hsar-data" / "hsar.toml").exists()
    result = CliRunner().invoke(cli, ["init"], env={"HSAR_HOME": ""})
    assert result.exit_code == 2 and "[USAGE]" in result.stderr and "HSAR_HOME" in result.stderr
    assert os.listdir(tmp_path / "hsar-data") == []


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_init_where_nothing_can_be_written_names_the_cause() -> None:
    result = CliRunner().invoke(cli, ["--home", "/proc", "--lang", "en", "init"])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error [INIT-WRITE]: cannot create a repository home in /proc: ")
    assert "/proc/hsar.toml" in result.stderr and "INTERNAL" not in result.output


def test_init_in_a_read_only_folder_is_init_write(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into a read-only folder")
    tmp_path.chmod(0o500)
    try:
        result = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), "init"])
    finally:
        tmp_path.chmod(0o700)
    assert result.exit_code == 1 and "[INIT-WRITE]" in result.stderr
