"""The researchers' copy cache (``cache/research/``) is held to a bound, least recently used first
(repository/formats/cachebound.py): a copy served is marked used and outlives older ones; files being written,
hidden files and files used in the last minutes stay; every regular file under the folder counts alike."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from repository.config import load
from repository.dip.research import prune_copies
from repository.formats import cachebound
from repository.formats.cachebound import IN_USE_SECONDS, Pruned, prune, used
from repository.formats.research_copies import ResearchCopies

KB = 1000
HOUR = 3600.0


def _file(path: Path, size: int, age: float) -> Path:
    """A file of ``size`` bytes last used ``age`` seconds ago."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    moment = time.time() - age
    os.utime(path, (moment, moment))
    return path


def _copy(copies: ResearchCopies, digit: str, size: int, age: float) -> tuple[str, Path]:
    """A kept researcher's copy of the bytes whose SHA-512 is ``digit`` * 128 (masked with no names)."""
    sha512 = digit * 128
    return sha512, _file(copies.root / f"{copies.key(sha512, [])}.pdf", size, age)


def test_a_served_copy_outlives_older_ones_and_the_oldest_goes_first(tmp_path: Path) -> None:
    copies = ResearchCopies(tmp_path / "research")
    served, first = _copy(copies, "a", 400 * KB, 3 * HOUR)  # the oldest, but asked for again below
    _, second = _copy(copies, "b", 400 * KB, 2 * HOUR)
    _, third = _copy(copies, "c", 400 * KB, 1 * HOUR)
    assert copies.kept(served, []) == first  # served: its use recorded
    assert time.time() - first.stat().st_mtime < 5
    done = copies.prune(1000 * KB)  # 1,200 kB held: down to 900 kB, least recently used first
    assert done == Pruned(removed=1, freed=400 * KB, kept=2, kept_bytes=800 * KB, bound=1000 * KB)
    assert first.is_file() and not second.exists() and third.is_file()
    assert copies.prune(1000 * KB).removed == 0  # within the bound: nothing more
    assert copies.kept("b" * 128, []) is None  # removed: made again when next asked for


def test_below_the_bound_nothing_goes_and_a_pass_goes_down_to_ninety_percent(tmp_path: Path) -> None:
    root = tmp_path / "research"
    files = [_file(root / f"{n}.pdf", 100 * KB, (10 - n) * HOUR) for n in range(10)]  # 0.pdf the oldest
    assert prune(root, 1000 * KB) == Pruned(0, 0, 10, 1000 * KB, 1000 * KB)  # at the bound, not above it
    _file(root / "10.pdf", 100 * KB, HOUR / 2)
    done = prune(root, 1000 * KB)
    assert (done.removed, done.kept_bytes) == (2, 900 * KB)
    assert [f.exists() for f in files[:3]] == [False, False, True]


def test_a_bound_of_zero_keeps_everything(tmp_path: Path) -> None:
    root = tmp_path / "research"
    for n in range(5):
        _file(root / f"{n}.pdf", 300 * KB, 100 * HOUR)
    assert prune(root, 0) == Pruned(0, 0, 5, 1500 * KB, 0)
    assert len(list(root.iterdir())) == 5
    assert prune(tmp_path / "never-made", 1) == Pruned(0, 0, 0, 0, 1)


def test_files_being_written_hidden_files_and_files_just_used_stay(tmp_path: Path) -> None:
    root = tmp_path / "research"
    partial = _file(root / "ab.cd.v1.pdf.4242.0a0b0c0d.tmp", 900 * KB, 10 * HOUR)  # a copy being written
    hidden = _file(root / ".lock", 50 * KB, 10 * HOUR)
    fresh = _file(root / "fresh.pdf", 300 * KB, IN_USE_SECONDS / 2)  # just made, about to be sent
    old = _file(root / "old.pdf", 300 * KB, 2 * HOUR)
    done = prune(root, 100 * KB)  # over the bound by far: only what may go goes
    assert done == Pruned(1, 300 * KB, 1, 300 * KB, 100 * KB)  # (the temporary and hidden files are not counted)
    assert partial.is_file() and hidden.is_file() and fresh.is_file() and not old.exists()


def test_a_killed_writers_temporary_file_goes_after_a_day_with_or_without_a_bound(tmp_path: Path) -> None:
    """A writer killed before its rename leaves a ``*.tmp`` file nobody will finish: once it is older than any
    writer may take, every pass removes it, even with no bound; a younger one may still be being written."""
    root = tmp_path / "research"
    left = _file(root / "scans" / "ab.page-1.png.4242.0a0b0c0d.tmp", 700 * KB, cachebound.STALE_TEMP_SECONDS + HOUR)
    writing = _file(root / "cd.v1.pdf.4343.0a0b0c0d.tmp", 200 * KB, HOUR)
    pages = _file(root / ("ab" * 64 + ".0123456789abcdef.tmp-4242-0a0b0c0d.p0001.png"), 50 * KB,
                  cachebound.STALE_TEMP_SECONDS + HOUR)  # a scan's page painted by a child that was killed
    copy = _file(root / "copy.pdf", 100 * KB, 5 * HOUR)
    assert prune(root, 0) == Pruned(2, 750 * KB, 1, 100 * KB, 0)
    assert not left.exists() and not pages.exists() and writing.is_file() and copy.is_file()
    assert prune(root, 0) == Pruned(0, 0, 1, 100 * KB, 0)


def test_every_file_under_the_folder_counts_subfolders_and_error_records_too(tmp_path: Path) -> None:
    """Redacted scan images kept in a subfolder, or a copy's error record, are cache files like any other."""
    root = tmp_path / "research"
    scan = _file(root / "scans" / "ab" / "page-1.png", 500 * KB, 5 * HOUR)
    error = _file(root / ("e" * 128 + ".0123456789abcdef.v1.err"), 1 * KB, 4 * HOUR)
    copy = _file(root / "copy.pdf", 500 * KB, IN_USE_SECONDS / 2)
    link = root / "elsewhere"
    link.symlink_to(tmp_path / "outside", target_is_directory=True)
    outside = _file(tmp_path / "outside" / "big.pdf", 5000 * KB, 9 * HOUR)  # not followed, not counted
    done = prune(root, 600 * KB)  # down to 540 kB: the scan image, the oldest, is enough
    assert (done.removed, done.freed, done.kept) == (1, 500 * KB, 2) and not scan.exists()
    done = prune(root, 500 * KB)  # down to 450 kB: the error record goes, the copy just made stays
    assert (done.removed, done.freed, done.kept) == (1, 1 * KB, 1)
    assert not scan.exists() and not error.exists() and copy.is_file() and outside.is_file()
    assert (root / "scans" / "ab").is_dir()  # folders stay: another writer may be putting a file there


def test_a_file_used_or_removed_while_a_pass_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Between the listing and the removal a copy is served (it stays), another is removed by another
    process's pass (counted as gone, not as removed here)."""
    root = tmp_path / "research"
    served = _file(root / "served.pdf", 400 * KB, 3 * HOUR)
    gone = _file(root / "gone.pdf", 400 * KB, 2 * HOUR)
    third = _file(root / "third.pdf", 400 * KB, 1 * HOUR)
    listed = cachebound._files

    def meanwhile(folder: Path, stale_before: float) -> tuple[list[tuple[float, int, int, Path]], list[tuple[int, Path]]]:
        found = listed(folder, stale_before)
        assert used(served)  # a request serves it
        gone.unlink()  # another host's pass removes it
        return found

    monkeypatch.setattr(cachebound, "_files", meanwhile)
    done = prune(root, 500 * KB)
    assert served.is_file() and not third.exists()
    assert (done.removed, done.freed, done.kept, done.kept_bytes) == (1, 400 * KB, 1, 400 * KB)
    assert not used(gone)  # a reader that finds it gone makes it again


def test_the_setting_bounds_the_homes_copies(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cfg = load(home, environ={})
    assert cfg["cache.research_max_mb"] == 2048  # the default
    folder = home / "cache" / "research"
    old = _file(folder / "old.pdf", 700 * 1024, 2 * HOUR)
    new = _file(folder / "new.pdf", 700 * 1024, 1 * HOUR)
    assert prune_copies(cfg).removed == 0
    done = prune_copies(load(home, environ={"HSAR_CACHE_RESEARCH_MAX_MB": "1"}))
    assert done == Pruned(1, 700 * 1024, 1, 700 * 1024, 1024 * 1024)
    assert not old.exists() and new.is_file()
    assert prune_copies(load(home, environ={"HSAR_CACHE_RESEARCH_MAX_MB": "0"})).bound == 0
