"""Fixtures for the background-job tests: both queue backends, demo SIPs, homes, and a real ``hsar worker``.

``backend`` runs a test with the embedded SQLite queue and with a throwaway ``redis-server`` (``redis_url``,
tests/conftest.py: the Redis half is skipped, with the reason, when ``redis-server`` is missing). The queue is chosen per home with the
environment variable ``HSAR_JOBS_URL``, which ``hsar worker`` subprocesses inherit.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from repository.home import init_home
from repository.jobs import Job, JobQueue


@pytest.fixture(scope="session")
def jh() -> ModuleType:
    """The helpers below (Worker, wait_for, hsar_command), for test modules: conftest is not importable."""
    return sys.modules[__name__]


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The queue of this test: ``sqlite`` (jobs.url empty) or ``redis`` (a fresh, flushed database)."""
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        import redis

        client = redis.Redis.from_url(url)
        client.flushdb()
        client.close()
        monkeypatch.setenv("HSAR_JOBS_URL", url)
    else:
        monkeypatch.delenv("HSAR_JOBS_URL", raising=False)
    return request.param


@pytest.fixture(scope="session")
def sips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three household SIPs (no supplements), made by the demo generator."""
    from repository.demo.generate import write_demo_data

    root = tmp_path_factory.mktemp("demo") / "sips"
    write_demo_data(root, households=3, units=0, seed=11, defects=False)
    manifest = json.loads((root / "demo_manifest.json").read_text("utf-8"))
    return [root / e["path"] for e in manifest["sips"] if e["kind"] == "household" and e["version"] == 1]


@pytest.fixture(scope="session")
def home_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("template") / "home"
    init_home(home)
    return home


@pytest.fixture
def home(home_template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(home_template, tmp_path / "home", symlinks=True))


@pytest.fixture
def queue(home: Path, backend: str) -> Iterator[JobQueue]:
    with JobQueue.open(home) as q:
        yield q


def hsar_command() -> Path:
    hsar = Path(sys.executable).parent / "hsar"
    if not hsar.is_file():
        pytest.skip(f"the hsar command is not installed beside {sys.executable}")
    return hsar


class Worker:
    """``hsar worker`` in a process group of its own (so a SIGKILL takes its helpers too)."""

    def __init__(self, home: Path, log: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.log = log
        with open(log, "ab") as err:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen([str(hsar_command()), "--home", str(home), "--lang", "en", "worker", *args],
                                         stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
                                         env={**os.environ, **(env or {})})

    def stop(self) -> int:
        """SIGTERM, as systemd stops a unit; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=120)

    def kill(self) -> None:
        """SIGKILL to the worker and everything it started; reaped, so its pid is gone."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")


@pytest.fixture
def start_worker(home: Path, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Worker:
        worker = Worker(home, tmp_path / f"worker-{len(started)}.log", *args, env=env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.proc.poll() is None:
            worker.kill()


def wait_for(queue: JobQueue, job_id: str, until: Callable[[Job], bool], timeout: float = 120,
             worker: Worker | None = None) -> Job:
    """Poll the job's record until ``until`` holds (fails with the record and the worker's log if not)."""
    deadline = time.monotonic() + timeout
    while True:
        job = queue.get(job_id)
        assert job is not None
        if until(job):
            return job
        if time.monotonic() > deadline or (worker is not None and worker.proc.poll() is not None):
            log = worker.output() if worker is not None else ""
            pytest.fail(f"job never reached the state wanted: {job.to_dict()}\nworker log:\n{log}")
        time.sleep(0.1)
