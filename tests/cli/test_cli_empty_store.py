"""A store root that is valid but holds no archive object while the catalogue lists archives (a store half
mounted or half restored) is not rebuilt from: ``hsar reindex`` and ``hsar rebuild-catalog`` refuse with
STORE-EMPTY and change nothing, unless ``--force``. The bench home, whose catalogue and index are written
without stored objects, lost its index to a plain ``hsar reindex`` this way."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from repository.cli import cli
from repository.home import Repository

from .conftest import copy_home


def _emptied(ingested_home: Path, target: Path) -> tuple[Path, int]:
    """A copy of the home whose storage root keeps its declaration, layout and extensions but no object."""
    home = copy_home(ingested_home, target)
    with Repository.open(home) as repo:
        root, catalogued = repo.store.root, repo.catalog.archive_count()
    for child in root.iterdir():
        if child.is_dir() and child.name != "extensions":
            shutil.rmtree(child)
    with Repository.open(home) as repo:
        assert not list(repo.store.iter_object_roots())
    return home, catalogued


def _run(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--home", str(home), "--lang", "en", *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_reindex_and_rebuild_refuse_an_empty_store_and_change_nothing(ingested_home: Path, tmp_path: Path) -> None:
    home, catalogued = _emptied(ingested_home, tmp_path / "home")
    assert catalogued > 0
    found = json.loads(_run(home, "search", "住房", "--json")[1])["total"]
    assert found > 0
    for command in ("reindex", "rebuild-catalog"):
        code, out = _run(home, command)
        assert code == 1 and "STORE-EMPTY" in out and f"lists {catalogued} archives" in out and "--force" in out
    with Repository.open(home) as repo:
        assert repo.catalog.archive_count() == catalogued
    assert json.loads(_run(home, "search", "住房", "--json")[1])["total"] == found


def test_force_rebuilds_from_the_empty_store(ingested_home: Path, tmp_path: Path) -> None:
    home, _ = _emptied(ingested_home, tmp_path / "home")
    code, out = _run(home, "reindex", "--force", "--json")
    assert code == 0 and json.loads(out)["result"]["indexed"] == 0
    code, out = _run(home, "rebuild-catalog", "--force", "--json")
    assert code == 0 and json.loads(out)["result"]["archives"] == 0
    with Repository.open(home) as repo:
        assert repo.catalog.archive_count() == 0
    assert _run(home, "reindex")[0] == 0  # nothing catalogued, nothing stored: nothing to question


def test_a_reindex_job_is_refused_the_same_way(ingested_home: Path, tmp_path: Path) -> None:
    import threading

    from repository.jobs import JobQueue
    from repository.jobs.tasks import execute

    home, _ = _emptied(ingested_home, tmp_path / "home")
    with JobQueue.open(home) as queue:
        job = queue.submit("reindex", {}, user="admin")
        execute(queue, job.id, threading.Event())
        done = queue.get(job.id)
    assert done.state == "failed" and done.error_code == "STORE-EMPTY"
    assert json.loads(_run(home, "search", "住房", "--json")[1])["total"] > 0  # the index kept
