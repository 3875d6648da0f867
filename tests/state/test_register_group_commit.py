"""The access register's group commit: entries appended at once by many threads of two processes form one
valid chain, each entry written once; threads of one process share a write transaction; a thread returns only
once its own entry is committed. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from repository.access import Principal, Role
from repository.accounts import register
from repository.accounts.register import list_uses, record_use, verify_register
from repository.errors import AccountError, StateError
from repository.state.db import open_state

THREADS, EACH = 4, 15
READER = Principal("li", Role.ARCHIVIST, "320102")


#: a child process: THREADS threads appending EACH entries each, all started together once GO exists
CHILD = """
import sys, threading, time
from pathlib import Path
from repository.access import Principal, Role
from repository.accounts.register import record_use
from repository.state.db import open_state
url, name, go, threads, each = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
reader = Principal("li", Role.ARCHIVIST, "320102")
with open_state(url) as state:
    barrier = threading.Barrier(threads)
    def work(k):
        barrier.wait()
        for n in range(each):
            record_use(state, reader, "view", f"{name}-{k}", "课题研究", item=str(n))
    while not go.exists():
        time.sleep(0.01)
    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
"""


def test_two_processes_appending_at_once_keep_one_valid_chain(state, state_url, tmp_path) -> None:
    record_use(state, READER, "view", "first", "课题研究")
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, state_url, name, str(go), str(THREADS), str(EACH)],
                              env=env) for name in ("p1", "p2")]
    go.touch()
    for proc in procs:
        assert proc.wait(120) == 0
    check = verify_register(state)
    total = 1 + 2 * THREADS * EACH
    assert check.ok and check.checked == check.head_seq == total
    written = [(e.archive_id, e.item) for e in list_uses(state)[1:]]
    assert sorted(written) == sorted((f"{p}-{k}", str(n)) for p in ("p1", "p2") for k in range(THREADS)
                                     for n in range(EACH))  # each once


def test_threads_of_one_process_share_a_transaction_and_wait_for_their_commit(state, monkeypatch) -> None:
    batches: list[int] = []
    first_in, release = threading.Event(), threading.Event()
    chain = register._chained

    def slow_chain(head, batch):
        batches.append(len(batch))
        if len(batches) == 1:  # hold the first batch open while the others queue
            first_in.set()
            assert release.wait(30)
        return chain(head, batch)

    monkeypatch.setattr(register, "_chained", slow_chain)
    results: dict[int, object] = {}

    def use(k: int) -> None:
        results[k] = record_use(state, READER, "view", f"a-{k}", "课题研究")

    first = threading.Thread(target=use, args=(0,))
    first.start()
    assert first_in.wait(30)
    others = [threading.Thread(target=use, args=(k,)) for k in range(1, 4)]
    for th in others:
        th.start()
    while len(register._writer_of(state)._queue) < 3:  # noqa: SLF001 - the three are queued, waiting
        threading.Event().wait(0.01)
    assert results == {}  # nobody has an answer before its entry is committed
    assert list_uses(state) == []
    release.set()
    for th in [first, *others]:
        th.join(30)
    assert batches == [1, 3]  # the three that queued meanwhile went in one transaction
    entries = list_uses(state)
    assert {k: e for k, e in results.items()} == {int(e.archive_id[2:]): e for e in entries}
    assert verify_register(state).ok and [e.seq for e in entries] == [1, 2, 3, 4]


def test_a_failed_batch_fails_every_use_in_it_and_writes_nothing(state, monkeypatch) -> None:
    def broken(head, batch):
        raise StateError(msgid="state.unreadable", url="x", detail="disk full")

    monkeypatch.setattr(register, "_chained", broken)
    with pytest.raises(StateError):
        record_use(state, READER, "view", "a", "课题研究")
    monkeypatch.undo()
    assert list_uses(state) == []
    entry = record_use(state, READER, "view", "a", "课题研究", at=datetime(2026, 1, 1, tzinfo=UTC))
    assert entry.seq == 1 and verify_register(state).ok


def test_a_taken_number_is_chained_again_on_the_new_head(state, monkeypatch) -> None:
    """A writer the lock did not hold off (a database without it) meets the primary key and re-chains."""
    other = record_use(state, READER, "view", "other", "课题研究")  # seq 1, written by "another writer"
    chain, heads = register._chained, []

    def racing(head, batch):
        heads.append(head)
        return chain(None if len(heads) == 1 else head, batch)  # the first attempt chains on a head it missed

    monkeypatch.setattr(register, "_chained", racing)
    entry = record_use(state, READER, "view", "mine", "课题研究")
    assert heads == [(1, other.hash)] * 2 and entry.archive_id == "mine" and entry.seq == 2
    assert [e.archive_id for e in list_uses(state)] == ["other", "mine"] and verify_register(state).ok


def test_a_register_that_stays_busy_is_a_coded_error(state, monkeypatch) -> None:
    from sqlalchemy.exc import IntegrityError

    def always_taken(head, batch):
        raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed: access_register.seq"))

    monkeypatch.setattr(register, "_chained", always_taken)
    with pytest.raises(AccountError) as caught:
        record_use(state, READER, "view", "a", "课题研究")
    assert caught.value.code == "ACC-BUSY"


def test_the_sqlite_state_database_commits_durably(tmp_path) -> None:
    from sqlalchemy import text

    from repository.state.db import upgrade_state

    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    upgrade_state(url)
    with open_state(url) as state, state.transaction() as conn:
        pragma = {name: conn.execute(text(f"PRAGMA {name}")).scalar()
                  for name in ("journal_mode", "synchronous", "busy_timeout")}
    assert pragma == {"journal_mode": "wal", "synchronous": 2, "busy_timeout": 30_000}  # 2: FULL
