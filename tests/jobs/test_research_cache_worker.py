"""The worker holds the researchers' copy cache (``cache/research/``) to ``cache.research_max_mb``: when it starts
and every :data:`repository.jobs.worker.CACHE_INTERVAL` seconds of its sweeps, least recently used first."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from repository.jobs import JobQueue, worker

MIB = 1024 * 1024
AgedFile = Callable[[Path, int, float], Path]  # the aged_file fixture (tests/conftest.py)


def _bound(home: Path, mib: int) -> None:
    settings = home / "hsar.toml"
    text = settings.read_text("utf-8")
    assert "\nresearch_max_mb = 2048\n" in text  # the default, written by hsar init
    settings.write_text(text.replace("\nresearch_max_mb = 2048\n", f"\nresearch_max_mb = {mib}\n"), "utf-8")


def _wait(until: Callable[[], bool], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:
        time.sleep(0.05)
    return until()


def test_a_worker_prunes_the_cache_when_it_starts(home: Path, start_worker: Callable[..., Any],
                                                  aged_file: AgedFile) -> None:
    research = home / "cache" / "research"
    oldest = aged_file(research / "a.pdf", MIB // 2, 3)
    older = aged_file(research / "b.pdf", MIB // 2, 2)
    newest = aged_file(research / "c.pdf", MIB // 2, 1)
    _bound(home, 1)
    running = start_worker()
    assert _wait(lambda: "worker started" in running.output() or running.proc.poll() is not None)
    assert running.stop() == 0
    assert not oldest.exists() and not older.exists() and newest.is_file(), running.output()


def test_the_sweeper_prunes_the_cache_every_interval(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                     aged_file: AgedFile) -> None:
    monkeypatch.setattr(worker, "SWEEP_INTERVAL", 0.02)
    monkeypatch.setattr(worker, "CACHE_INTERVAL", 0.05)
    research = home / "cache" / "research"
    _bound(home, 1)
    with JobQueue.open(home) as queue:
        stop = threading.Event()
        sweeper = worker._sweeper(queue, stop)
        try:
            old = aged_file(research / "old.pdf", MIB, 2)  # over the bound once the sweeper runs: it goes
            new = aged_file(research / "new.pdf", MIB // 4, 1)
            assert _wait(lambda: not old.exists(), timeout=30)
            assert new.is_file()
        finally:
            stop.set()
            sweeper.join(timeout=5)
