"""The statistics census shared by the processes of a home (``cache/census.json``, repository.services.censusfile):
one process counts, under a file lock, and the others read its file; a change of the catalogue makes the file
stale and the next count replaces it; a damaged or foreign file is counted again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from repository.catalog import statistics as figures_of
from repository.home import Repository
from repository.services import census as counts
from repository.services import censusfile
from repository.services.paper import coverage_counts

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(web_home: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(web_home, copy)
    (copy / "cache" / "census.json").unlink(missing_ok=True)  # as a home whose census was never counted
    return copy


@pytest.fixture(autouse=True)
def _fresh_process(monkeypatch) -> None:
    """Each test starts as a process that has counted nothing (the module keeps counts per process)."""
    monkeypatch.setattr(counts, "_DONE", {})
    monkeypatch.setattr(counts, "_RUNNING", {})
    monkeypatch.setattr(counts, "_FAILED", {})


def _count_now(repo: Repository, calls: list[int], pause: float = 0.0):
    def count():
        calls.append(1)
        time.sleep(pause)
        return figures_of.census(repo.catalog), coverage_counts(repo), counts.marks(repo), datetime.now(UTC)

    return count


def _archives(found) -> int:
    return sum(found.census.scoped([""]).by["type"].archives.values())


def test_another_process_reads_the_count_and_does_not_count(home: Path) -> None:
    with Repository.open(home) as repo:
        first = counts.latest(repo, wait=None)
        total = len(repo.catalog.archive_ids())
    assert first.fresh and (home / "cache" / "census.json").is_file()
    script = (
        "import sys\n"
        "from repository.catalog import statistics\n"
        "from repository.home import Repository\n"
        "from repository.services import census\n"
        "def refuse(catalog):\n"
        "    raise SystemExit('counted again')\n"
        "statistics.census = refuse\n"
        "with Repository.open(sys.argv[1]) as repo:\n"
        "    found = census.latest(repo, wait=None)\n"
        "    print(found.fresh, sum(found.counted.census.scoped(['']).by['type'].archives.values()))\n")
    done = subprocess.run([sys.executable, "-c", script, str(home)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", str(total)]


def test_a_change_of_the_catalogue_makes_the_file_stale(home: Path) -> None:
    calls: list[int] = []
    with Repository.open(home) as repo:
        def marks():
            return counts.marks(repo)

        made = censusfile.shared_count(repo, marks, _count_now(repo, calls))
        again = censusfile.shared_count(repo, marks, _count_now(repo, calls))
        assert calls == [1] and made.counted_here and not again.counted_here
        assert again.census == made.census and again.coverage == made.coverage and again.marks == made.marks
        total = _archives(made)
        assert repo.catalog.delete_archive(repo.catalog.archive_ids()[0])
        after = censusfile.shared_count(repo, marks, _count_now(repo, calls))
        assert calls == [1, 1] and after.counted_here and _archives(after) == total - 1
        data = json.loads(repo.paths.census_cache.read_text("utf-8"))
        assert tuple(data["marks"]) == counts.marks(repo)  # replaced at the new marks


def test_one_counts_while_the_others_wait_for_its_file(home: Path) -> None:
    calls: list[int] = []
    results: list[object] = []
    with Repository.open(home) as repo:
        def worker() -> None:
            results.append(censusfile.shared_count(repo, lambda: counts.marks(repo), _count_now(repo, calls, 0.5)))

        threads = [threading.Thread(target=worker) for _ in range(3)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
    assert calls == [1]  # the lock is per open file: threads exclude each other as processes do
    assert sorted(r.counted_here for r in results) == [False, False, True]
    assert len({json.dumps(r.census.archive_rows) for r in results}) == 1


@pytest.mark.parametrize("damage", ["not json", "foreign", "other format"])
def test_a_damaged_or_foreign_file_is_counted_again(home: Path, damage: str) -> None:
    calls: list[int] = []
    with Repository.open(home) as repo:
        def marks():
            return counts.marks(repo)

        censusfile.shared_count(repo, marks, _count_now(repo, calls))
        path = repo.paths.census_cache
        data = json.loads(path.read_text("utf-8"))
        if damage == "not json":
            path.write_text(path.read_text("utf-8")[:100], "utf-8")
        elif damage == "foreign":  # another catalogue's census at the same marks (a home copied or moved)
            path.write_text(json.dumps({**data, "catalog": "sqlite:////elsewhere/catalog.sqlite"}), "utf-8")
        else:
            path.write_text(json.dumps({**data, "format": 0}), "utf-8")
        found = censusfile.shared_count(repo, marks, _count_now(repo, calls))
        assert calls == [1, 1] and found.counted_here
        assert json.loads(path.read_text("utf-8"))["format"] == censusfile.FORMAT


def test_the_statistics_page_of_a_second_app_uses_the_first_ones_count(home: Path, wh, monkeypatch) -> None:
    from repository.web import create_app

    def client():
        c = create_app(home, {"TESTING": True, "SECRET_KEY": "test"}).test_client()
        assert c.post("/login", data={"username": "admin", "password": wh.PASSWORD, "purpose_kind": "work",
                                      "csrf_token": wh.csrf_token(c)}).status_code == 302
        return c

    first = client().get("/stats/type.csv")  # waits for the count
    assert first.status_code == 200
    monkeypatch.setattr(counts, "_DONE", {})  # as another process: nothing counted here

    def refuse(catalog):
        raise AssertionError("counted again")

    monkeypatch.setattr(counts.figures_of, "census", refuse)
    second = client().get("/stats/type.csv")
    assert second.status_code == 200 and second.data == first.data
