"""``kill -9`` of ``hsar audit --all`` after it forked its shard workers: the workers end with it (they neither
block for good holding ``catalog.sqlite`` nor ignore SIGTERM)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# ``hsar audit --all`` with shards from the first archive, each shard held for a minute in its worker.
SCRIPT = """
import sys, time
from repository.audit import shards
real = shards._audit_shard
def slow(ids):
    time.sleep(60)
    return real(ids)
shards._audit_shard, shards.SHARD_MIN = slow, 1
from repository.cli import main
sys.exit(main())
"""


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_shard_workers_end_when_the_audit_is_killed(home: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HSAR_AUDIT_PROCESSES": "2"}
    audit = subprocess.Popen([sys.executable, "-c", SCRIPT, "--home", str(home), "audit", "--all"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline and audit.poll() is None:
            time.sleep(0.1)
            workers = _children(audit.pid)
        assert len(workers) >= 2, "the audit never forked its shard workers"
        time.sleep(0.5)  # the workers are running their initializer, then the (held) shard
        audit.send_signal(signal.SIGKILL)
        audit.wait()
        deadline = time.monotonic() + 10
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [w for w in workers if _alive(w)], "shard workers outlived the killed audit"
    finally:
        for pid in [audit.pid, *workers]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        audit.wait()


def test_a_shard_worker_ends_on_sigterm() -> None:
    """The worker's initializer restores SIGTERM (the audit's handler, inherited by fork, only sets a stop
    event that no one in the worker reads)."""
    from repository.audit.lifecycle import start_worker

    ready, tell = os.pipe()
    child = os.fork()
    if child == 0:
        signal.signal(signal.SIGTERM, lambda *_: None)  # as the audit's handler does: the signal is swallowed
        start_worker(os.getppid())
        os.write(tell, b"1")
        time.sleep(30)
        os._exit(0)
    assert os.read(ready, 1) == b"1"
    os.kill(child, signal.SIGTERM)
    _pid, status = os.waitpid(child, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM
