"""One painter per copy (repository/formats/copylock.py): processes asking for the same researcher's copy at once
paint it once, the others wait and use it; a lock left by a killed process blocks nobody, and the cache bound's
pass removes it while it leaves a held one alone. Real processes (forked), real painting children: each painter's
call is counted in a file the test reads."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from reportlab.pdfgen import canvas

from repository.formats import copylock, research_copies, scan_copies
from repository.formats.cachebound import prune
from repository.formats.copylock import lock_path, painting, remove_stale
from repository.formats.research_copies import ResearchCopies
from repository.formats.scan_copies import ScanCopies

PEOPLE = [{"head": {"name": "Zhang Sanfeng", "resident_id": "110101199001011234"}}]
DIGEST = "ab" * 64
KEY = "c" * 128 + "." + "d" * 16
BOXES = {1: [(10, 10, 60, 40)]}
CTX = multiprocessing.get_context("fork")


def _pdf(path: Path) -> Path:
    c = canvas.Canvas(str(path), pagesize=(595, 842))
    c.setFont("Helvetica", 14)
    c.drawString(72, 700, "ID 110101199001011234 end")
    c.showPage()
    c.save()
    return path


def _scan(path: Path) -> Path:
    Image.new("RGB", (200, 100), (250, 250, 250)).save(path, "PNG")
    return path


def _counting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, calls: Path) -> None:  # noqa: ANN401
    """``module.name`` (the painting child's runner) counted in ``calls``, one line per call, and slowed down so
    that a second maker comes while the first paints (set before the makers are forked: they inherit it)."""
    real = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        with calls.open("a") as out:
            out.write(f"{os.getpid()}\n")
        time.sleep(1.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)


def _at_once(make: Callable[[], Path], out: Path, makers: int = 3) -> list[str]:
    """``make`` run by ``makers`` forked processes started together; what each returned (its path, as text)."""
    start = CTX.Barrier(makers)

    def run(n: int) -> None:
        start.wait()
        (out / f"made-{n}").write_text(str(make()))

    children = [CTX.Process(target=run, args=(n,)) for n in range(makers)]
    for child in children:
        child.start()
    for child in children:
        child.join(120)
        assert child.exitcode == 0
    return [(out / f"made-{n}").read_text() for n in range(makers)]


def _leftovers(root: Path) -> list[str]:
    """What a maker may leave behind only when it is killed: temporary files and locks."""
    return sorted(p.name for p in root.iterdir() if ".tmp" in p.name or copylock.is_lock(p.name))


def test_a_pdf_copy_asked_for_by_three_processes_at_once_is_painted_once(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    source, calls, root = _pdf(tmp_path / "id.pdf"), tmp_path / "calls", tmp_path / "research"
    _counting(monkeypatch, research_copies, "redact_in_child", calls)
    made = _at_once(lambda: ResearchCopies(root).copy_of(source, DIGEST, PEOPLE), tmp_path)
    assert len(calls.read_text().splitlines()) == 1  # the others waited and used its copy
    assert len(set(made)) == 1 and Path(made[0]).is_file() and Path(made[0]).parent == root
    assert _leftovers(root) == []  # the lock is removed by the maker that held it


def test_an_approved_scan_copy_asked_for_by_three_processes_at_once_is_painted_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The archivist's ``scan-copy`` job and researchers' own jobs (or a request) making the same approved copy."""
    source, calls, root = _scan(tmp_path / "scan.png"), tmp_path / "calls", tmp_path / "research"
    _counting(monkeypatch, scan_copies, "_child", calls)
    made = _at_once(lambda: ScanCopies(root).approved(source, KEY, BOXES, 1).pdf, tmp_path)
    assert len(calls.read_text().splitlines()) == 1
    assert len(set(made)) == 1 and Path(made[0]).is_file()
    assert ScanCopies(root).kept_approved(KEY, BOXES, 1) is not None
    assert _leftovers(root) == []


def test_another_copy_is_not_held_up_by_a_copy_being_painted(tmp_path: Path) -> None:
    """The lock is the copy's own: another copy's maker (other names, other boxes) takes its own at once."""
    root = tmp_path / "research"
    root.mkdir()
    with painting(lock_path(root, "one"), wait=5) as held:
        moment = time.monotonic()
        with painting(lock_path(root, "other"), wait=5) as other:
            assert held and other and time.monotonic() - moment < 0.5


def _hold_forever(lock: Path, ready: Path) -> None:
    with painting(lock, wait=5) as held:
        ready.write_text("held" if held else "not held")
        time.sleep(600)


def _holder(tmp_path: Path, lock: Path) -> multiprocessing.process.BaseProcess:
    ready = tmp_path / "ready"
    child = CTX.Process(target=_hold_forever, args=(lock, ready))
    child.start()
    for _ in range(500):
        if ready.is_file():
            break
        time.sleep(0.01)
    if not ready.is_file() or ready.read_text() != "held":
        os.kill(child.pid, signal.SIGKILL)  # (not left asleep when the lock failed)
        child.join(10)
        pytest.fail("the holder did not take the lock")
    ready.unlink()
    return child


def test_a_lock_left_by_a_killed_painter_blocks_nobody_and_the_bound_removes_it(tmp_path: Path) -> None:
    root = tmp_path / "research"
    source = _pdf(tmp_path / "id.pdf")
    copies = ResearchCopies(root)
    lock = lock_path(root, copies.key(DIGEST, PEOPLE))
    root.mkdir()
    child = _holder(tmp_path, lock)
    os.kill(child.pid, signal.SIGKILL)  # killed mid-copy: its lock file stays, the kernel lets go of its lock
    child.join(10)
    assert lock.is_file()
    moment = time.monotonic()
    with painting(lock, wait=60) as held:
        assert held and time.monotonic() - moment < 2
    child = _holder(tmp_path, lock)  # killed again, and this time the bound's pass finds its lock
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)
    assert lock.is_file()
    assert prune(root, 0).removed == 1 and not lock.exists()
    moment = time.monotonic()
    assert copies.copy_of(source, DIGEST, PEOPLE).is_file()
    assert time.monotonic() - moment < research_copies.LOCK_MARGIN  # (not waited for)
    assert _leftovers(root) == []


def _hold_and_fork(lock: Path, ready: Path) -> None:
    """Hold the lock, fork a child that lives on (as a worker's thread forks a job's child), then wait."""
    with painting(lock, wait=5) as held:
        child = CTX.Process(target=time.sleep, args=(600,))
        child.start()
        ready.write_text(f"{'held' if held else 'not held'} {child.pid}")
        time.sleep(600)


def test_a_child_forked_by_a_killed_painter_does_not_hold_its_lock_on(tmp_path: Path) -> None:
    root = tmp_path / "research"
    root.mkdir()
    lock, ready = lock_path(root, "forked"), tmp_path / "ready"
    painter = CTX.Process(target=_hold_and_fork, args=(lock, ready))
    painter.start()
    for _ in range(500):
        if ready.is_file() and ready.read_text():
            break
        time.sleep(0.01)
    state, pid = ready.read_text().split()
    try:
        assert state == "held"
        os.kill(painter.pid, signal.SIGKILL)
        for _ in range(1000):  # (not join(): the child it forked holds the sentinel open, join waits it out)
            if painter.exitcode is not None:
                break
            time.sleep(0.01)
        assert painter.exitcode == -signal.SIGKILL
        with painting(lock, wait=2) as held:
            assert held  # the child the painter forked (still alive) closed its copy of the lock when it began
    finally:
        os.kill(int(pid), signal.SIGKILL)
        if painter.is_alive():
            os.kill(painter.pid, signal.SIGKILL)


def test_a_held_lock_is_left_alone_by_the_bound_and_a_waiter_gives_up_after_its_wait(tmp_path: Path) -> None:
    """A maker stuck longer than the painting child's limit allows: the next one paints without the lock, as
    before locks (time lost, the copy written whole); the bound's pass neither removes nor counts the lock."""
    root = tmp_path / "research"
    root.mkdir()
    (root / ("e" * 128 + ".0123456789abcdef.v1.pdf")).write_bytes(b"%PDF" + b"\0" * 100)
    lock = lock_path(root, "e" * 128 + ".0123456789abcdef.v1")
    child = _holder(tmp_path, lock)
    try:
        done = prune(root, 0)
        assert (done.removed, done.kept) == (0, 1) and lock.is_file()
        assert not remove_stale(lock)
        moment = time.monotonic()
        with painting(lock, wait=0.5) as held:
            assert not held and 0.5 <= time.monotonic() - moment < 3
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
    assert remove_stale(lock) and not lock.exists()


def test_a_folder_where_no_lock_can_be_made_paints_without_one(tmp_path: Path) -> None:
    with painting(tmp_path / "gone" / ".x.lock", wait=5) as held:
        assert not held
