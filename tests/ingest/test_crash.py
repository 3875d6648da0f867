"""kill -9 during ingest, then the next command and the same ingest again (DESIGN principle 2).

A forked child runs the ingest of a household SIP and its supplement and SIGKILLs itself at one point of the
pipeline: inside the OCFL write (the store's step hook), after the store commit but before the catalogue,
after the catalogue but before the index, before the index batch is committed, between SIPs, and after a SIP
was received into staging. Then the next ``hsar`` command's recovery must clear every leftover and leave a
store ocfl-py accepts, and running the same ingest again must end exactly where a clean run ends: the same
catalogue view (timestamps and event ids aside), the archive found by search, nothing left in staging.
A last test kills the whole ``hsar ingest --workers 2`` process group from outside, mid-stream.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from repository.home import Repository
from repository.ingest import ahead, pipeline
from repository.ingest.pipeline import ingest, recover_if_idle
from repository.preservation import ocfl
from repository.preservation.ids import object_id
from repository.search.results import SearchRequest

if not hasattr(os, "fork"):
    pytest.skip("the crash tests fork a child to kill it", allow_module_level=True)


def _die() -> None:
    """kill -9 of the child and every process it started (its format-identification workers)."""
    os.killpg(os.getpgrp(), signal.SIGKILL)


def _after(count: int, action) -> object:  # noqa: ANN001
    """A function that runs ``action`` on its ``count``-th call (1-based)."""
    calls = {"n": 0}

    def hit(*_args: object) -> None:
        calls["n"] += 1
        if calls["n"] == count:
            action()

    return hit


def _arm(point: str, nth: int) -> dict:
    """Install the kill at the ``nth`` time (1-based) ``point`` is reached in this (child) process; the
    keyword arguments for ``ingest``. A new object has no ``inventory-replaced`` or ``sidecar-replaced``
    step (it moves in whole), so the first of those belongs to the second SIP."""
    kind, _, step = point.partition(":")
    hit = _after(nth, _die)
    if kind == "ocfl":
        ocfl._STEP_HOOK = lambda name: hit() if name == step else None
    elif kind == "before-catalogue":
        real_record = pipeline._record

        def record(*args: object, **kwargs: object) -> None:
            hit()
            real_record(*args, **kwargs)

        pipeline._record = record
    elif kind == "before-index":
        real_index = pipeline._index

        def index(*args: object, **kwargs: object) -> None:
            hit()
            real_index(*args, **kwargs)

        pipeline._index = index
    elif kind == "before-index-commit":
        pipeline._finish_intents = lambda repo: _die()
    elif kind == "between-sips":
        return {"progress": lambda outcome: hit()}
    elif kind == "after-receive":
        real_prepare = ahead.prepare

        def prepare(*args: object, **kwargs: object) -> object:
            prepared = real_prepare(*args, **kwargs)
            hit()
            return prepared

        ahead.prepare = prepare
    else:
        raise AssertionError(point)
    return {}


def _child(home: str, sips: list[str], point: str, nth: int) -> None:
    os.setpgrp()  # a process group of its own, so that _die takes its workers along and nothing else
    kwargs = _arm(point, nth)
    with Repository.open(home) as repo:
        ingest(repo, [Path(s) for s in sips], **kwargs)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the kill did not fire: stop the workers, report it
    os.killpg(os.getpgrp(), signal.SIGTERM)
    os._exit(3)


def _run_killed(home: Path, sips: list[Path], point: str, nth: int) -> None:
    ctx = multiprocessing.get_context("fork")
    child = ctx.Process(target=_child, args=(str(home), [str(s) for s in sips], point, nth))
    child.start()
    child.join(120)
    try:
        os.killpg(child.pid, signal.SIGKILL)  # whatever is left of its group, should the kill not have fired
    except ProcessLookupError:
        pass
    child.join(5)
    assert child.exitcode == -signal.SIGKILL, f"the child did not die at {point}"


@pytest.fixture(scope="module")
def sips(demo) -> list[Path]:
    return list(demo.first_with_supplement())


@pytest.fixture(scope="module")
def clean(demo, sips, home_template, tmp_path_factory, ih):
    """What a clean, uninterrupted run of the same SIPs gives."""
    home = ih.copy_home(home_template, tmp_path_factory.mktemp("clean") / "home")
    archive = demo.entry(sips[0])["archive"]
    with Repository.open(home) as repo:
        outcomes = ingest(repo, sips)
        assert [(o.status, o.version) for o in outcomes] == [("ingested", "v1"), ("ingested", "v2")]
        return archive, ih.normalized_view(repo.catalog.show(archive))


POINTS = [
    ("ocfl:content-written", 1),  # v1 built in staging
    ("ocfl:version-moved", 1),  # v1 object moved into the store, transaction not yet finished
    ("ocfl:version-moved", 2),  # v2 directory in the object, root inventory still names v1
    ("ocfl:inventory-replaced", 1),  # v2: root inventory names v2, its sidecar is stale
    ("ocfl:committed", 2),  # stored; the transaction directory is left
    ("before-catalogue", 1),  # v1 stored, neither catalogued nor indexed
    ("before-index", 2),  # v2 catalogued, not indexed
    ("before-index-commit", 1),  # both recorded, the index batch not committed
    ("between-sips", 1),  # the first SIP done, the second not started
    ("after-receive", 2),  # the second SIP received into staging
]


@pytest.mark.parametrize(("point", "nth"), POINTS, ids=[f"{p}@{n}" for p, n in POINTS])
def test_kill_then_next_command_recovers_and_rerun_completes(point, nth, sips, clean, home, ih):
    archive, expected = clean
    _run_killed(home, sips, point, nth)
    assert ih.staging_leftovers(home), "the kill should have left something in staging"

    with Repository.open(home) as repo:  # the next command clears the leftovers; the store validates
        recover_if_idle(repo)
        assert ih.staging_leftovers(home) == []
        ih.assert_store_valid(repo)
        head = repo.store.head(object_id(archive))
        view = repo.catalog.show(archive)
        assert (view.head_version if view else None) == head  # the catalogue agrees with storage

    with Repository.open(home) as repo:  # the same ingest again completes the work
        outcomes = ingest(repo, sips)
        assert [o.status for o in outcomes] in (["ingested", "ingested"], ["duplicate", "ingested"],
                                                ["duplicate", "duplicate"])
        assert [o.version for o in outcomes] == ["v1", "v2"] or outcomes[-1].version == "v2"
        ih.assert_store_valid(repo)
        assert ih.normalized_view(repo.catalog.show(archive)) == expected
        hits = repo.search.search(SearchRequest(query=archive)).hits
        assert [h.archive_id for h in hits] == [archive]
        assert repo.search.count() == 1
    assert ih.staging_leftovers(home) == []
    assert list((home / "rejected").iterdir()) == []


def test_kill_9_of_the_cli_process_group_mid_stream(demo, home, ih):
    """``hsar ingest --workers 2 --json`` killed from outside after its first result, then run again."""
    sips = demo.sips()
    hsar = Path(sys.executable).parent / "hsar"
    if not hsar.is_file():
        pytest.skip(f"the hsar command is not installed beside {sys.executable}")
    command = [str(hsar), "--home", str(home), "--lang", "en", "ingest", "--json", "--workers", "2",
               *map(str, sips)]
    env = dict(os.environ)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True, env=env)
    try:
        first = json.loads(proc.stdout.readline())
        assert first["status"] == "ingested"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    rerun = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr
    lines = [json.loads(line) for line in rerun.stdout.splitlines()]
    assert [line["sip"] for line in lines] == [str(s) for s in sips]
    assert lines[0]["status"] == "duplicate"
    assert {line["status"] for line in lines} <= {"ingested", "duplicate"}
    with Repository.open(home) as repo:
        ih.assert_store_valid(repo)
        for entry in (demo.entry(s) for s in sips):
            view = repo.catalog.show(entry["archive"])
            assert view is not None and int(view.head_version[1:]) >= entry["version"]
        assert repo.search.count() == len({demo.entry(s)["archive"] for s in sips})
    assert ih.staging_leftovers(home) == []
