"""A home that cannot be written (issue 15): the commands that only read (show, search, audit log, user list,
disposal due) work there and write nothing; the commands that must write are ENV-READONLY; an answer stays the
answer (NOT-FOUND is not turned into ENV-READONLY). A read-only home is a read-only bind mount (the tests run as
root, where ``chmod -w`` blocks nothing); where mounting is not allowed the test is skipped."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from repository.cli import cli
from repository.config import home_read_only, load
from repository.home import Repository


def hsar(home: Path, *args: str):  # noqa: ANN201 - click's Result
    return CliRunner().invoke(cli, ["--home", str(home), "--lang", "en", *args])


@pytest.fixture
def read_only_home(ingested_home: Path, tmp_path: Path):  # noqa: ANN201 - a generator of (source, mounted home)
    source, target = tmp_path / "rw", tmp_path / "ro"
    source.mkdir()
    target.mkdir()
    shutil.copytree(ingested_home, source / "home", symlinks=True)
    if subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True).returncode != 0:
        pytest.skip("bind mounts are not allowed here")
    try:
        if subprocess.run(["mount", "-o", "remount,ro,bind", str(target)], capture_output=True).returncode != 0:
            pytest.skip("read-only remounts are not allowed here")
        yield source / "home", target / "home"
    finally:
        subprocess.run(["umount", str(target)], capture_output=True)


def copies() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("hsar-ro-index-*"))


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if not p.is_symlink()}


def test_reading_commands_work_on_a_read_only_home_and_write_nothing(read_only_home) -> None:
    source, home = read_only_home
    with Repository.open(source) as repo:
        archive_id = sorted(repo.catalog.archive_ids())[0]
    before = _tree(source)
    copies_before = copies()
    assert home_read_only(home) and not home_read_only(source)
    shown = hsar(home, "show", archive_id)
    assert shown.exit_code == 0 and archive_id in shown.output, shown.output
    assert hsar(home, "show", archive_id, "--json").exit_code == 0
    found = hsar(home, "search", "--json")
    assert found.exit_code == 0, found.output
    with Repository.open(source) as repo:
        assert f'"total": {len(repo.catalog.archive_ids())}' in found.stdout
    for args in (("audit", "log"), ("user", "list"), ("disposal", "due")):
        result = hsar(home, *args)
        assert result.exit_code == 0, (args, result.output)
    missing = hsar(home, "show", "no-such-archive")
    assert missing.exit_code == 1 and "[NOT-FOUND]" in missing.output, missing.output
    assert _tree(source) == before  # not a lock, a WAL index, a marker or a journal
    assert copies() == copies_before  # the index searched was a private copy, removed when done


def test_writing_commands_on_a_read_only_home_name_the_cause(read_only_home, demo) -> None:
    source, home = read_only_home
    before = _tree(source)
    for args in (("ingest", str(demo.sips("household")[0])), ("audit", "--all"), ("reindex",)):
        result = hsar(home, *args)
        assert result.exit_code == 1 and "[ENV-READONLY]" in result.output, (args, result.output)
        assert "INTERNAL" not in result.output
    assert _tree(source) == before


def test_a_writable_home_opens_its_databases_as_before(ingested_home: Path) -> None:
    cfg = load(ingested_home)
    assert cfg.state_url == f"sqlite:///{ingested_home.resolve() / 'state.sqlite'}"
    with Repository.open(ingested_home) as repo:
        assert not repo.read_only and "mode=ro" not in str(repo.catalog.url)
