"""Environment failures are named, not "internal errors": a full disk (sip build, ingest, the audit log append)
and a read-only home exit 1 with ENV-NOSPACE / ENV-READONLY, and leave nothing half-written.

A full disk is simulated (os.write / shutil.copyfile raising ENOSPC after a partial write); a read-only home is
a read-only bind mount where the tests may mount (they run as root, where ``chmod -w`` blocks nothing)."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from repository.cli import cli


def hsar(home: Path, *args: str):  # noqa: ANN201 - click's Result
    return CliRunner().invoke(cli, ["--home", str(home), "--lang", "en", *args])


def test_a_full_disk_while_appending_to_the_audit_log_leaves_the_log_whole(ingested_home: Path, tmp_path: Path,
                                                                           monkeypatch) -> None:
    home = tmp_path / "home"
    shutil.copytree(ingested_home, home, symlinks=True)
    log = home / "audit" / "log.jsonl"
    assert hsar(home, "audit", "--all").exit_code == 0
    before = log.read_bytes()
    real_write = os.write

    def full_disk(fd: int, data: bytes) -> int:
        if os.readlink(f"/proc/self/fd/{fd}").endswith("log.jsonl"):
            real_write(fd, bytes(data)[: len(data) // 2])  # the disk took half of it, then filled up
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_disk)
    result = hsar(home, "audit", "--all")
    monkeypatch.undo()
    assert result.exit_code == 1, result.output
    assert "[ENV-NOSPACE]" in result.output and "INTERNAL" not in result.output
    assert log.read_bytes() == before  # nothing half-written
    assert hsar(home, "audit", "log", "--verify").exit_code == 0


def test_a_full_disk_while_building_a_sip_leaves_no_partial_bag(demo, tmp_path: Path, monkeypatch) -> None:
    from repository.sip import build

    sip = demo.sips("household")[0]
    docs = tmp_path / "docs"  # the SIP's documents only: sip build refuses files its metadata does not describe
    shutil.copytree(sip / "data", docs / "data")
    real_copy = shutil.copyfile
    calls = []

    def full_disk(src, dst, *args, **kwargs):  # noqa: ANN001, ANN202
        calls.append(dst)
        if len(calls) == 2:
            Path(dst).write_bytes(b"half")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return real_copy(src, dst, *args, **kwargs)

    monkeypatch.setattr(build.shutil, "copyfile", full_disk)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "h"), "--lang", "en", "sip", "build",
                                      str(docs), str(sip / "metadata" / "descriptive.xml"), str(out / "bag")])
    assert calls, result.output
    assert result.exit_code == 1, result.output
    assert "[ENV-NOSPACE]" in result.output and "INTERNAL" not in result.output
    assert not out.exists() or not any(out.iterdir())  # no bag and no staging left behind


@pytest.fixture
def read_only_mount(tmp_path: Path):  # noqa: ANN201 - a generator of the mounted folder
    """A read-only bind mount of ``tmp_path/rw`` (root only: skipped where mounting is not allowed)."""
    import subprocess

    source, target = tmp_path / "rw", tmp_path / "ro"
    source.mkdir()
    target.mkdir()
    if subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True).returncode != 0:
        pytest.skip("bind mounts are not allowed here")
    try:
        if subprocess.run(["mount", "-o", "remount,ro,bind", str(target)], capture_output=True).returncode != 0:
            pytest.skip("read-only remounts are not allowed here")
        yield source, target
    finally:
        subprocess.run(["umount", str(target)], capture_output=True)


def test_show_on_a_really_read_only_home_names_the_cause(ingested_home: Path, read_only_mount) -> None:
    from repository.home import Repository

    source, target = read_only_mount
    shutil.copytree(ingested_home, source / "home", symlinks=True)
    with Repository.open(source / "home") as repo:
        archive_id = repo.catalog.archive_ids()[0]
    result = hsar(target / "home", "show", archive_id)
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 1:  # SQLite cannot make its WAL index in a read-only folder
        assert "[ENV-READONLY]" in result.output and "read-only" in result.output, result.output
    before = sorted(p.relative_to(source).as_posix() for p in source.rglob("*"))
    assert hsar(target / "home", "audit", "--all").exit_code == 1
    assert sorted(p.relative_to(source).as_posix() for p in source.rglob("*")) == before


def test_a_full_disk_while_receiving_a_sip_names_the_cause_and_stores_nothing(demo, home: Path,
                                                                            monkeypatch) -> None:
    from repository.bags import receive

    sip = demo.sips("household")[0]
    real_copy = receive.copy_and_hash
    calls = []

    def full_disk(source, target, *args, **kwargs):  # noqa: ANN001, ANN202
        calls.append(target)
        if len(calls) == 2:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            Path(target).write_bytes(b"half")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
        return real_copy(source, target, *args, **kwargs)

    monkeypatch.setattr(receive, "copy_and_hash", full_disk)
    result = hsar(home, "ingest", str(sip))
    assert calls and result.exit_code == 1, result.output
    assert "[ENV-NOSPACE]" in result.output and "INTERNAL" not in result.output
    assert not [p for p in (home / "storage").rglob("*") if p.is_file() and "extensions" not in p.parts
                and p.name not in ("0=ocfl_1.1", "ocfl_layout.json", "ocfl_1.1.md")]  # nothing stored
    assert [p.name for p in (home / "staging").iterdir()] in ([], [".ingest.lock"])  # nothing half-written
