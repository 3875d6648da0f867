"""The register's writers take turns on a lock file beside a SQLite state database (repository.accounts.turns):
a writer waits while another open file holds the turn, and goes on the moment it is let go; a database with
no such file (in memory, read-only) writes without it."""

from __future__ import annotations

import fcntl
import os
import threading

from repository.access import Principal, Role
from repository.accounts import register
from repository.accounts.register import list_uses, record_use, verify_register
from repository.accounts.turns import SUFFIX, Turns

READER = Principal("li", Role.ARCHIVIST, "320102")


def test_a_writer_waits_for_the_turn_another_process_holds(state, state_url) -> None:
    if not state_url.startswith("sqlite"):  # no turn file for PostgreSQL (it locks the register table)
        assert Turns(state_url).path is None
        record_use(state, READER, "view", "first", "课题研究")
        assert register._writer_of(state).turns.path is None  # noqa: SLF001
        assert [e.archive_id for e in list_uses(state)] == ["first"] and verify_register(state).ok
        return
    record_use(state, READER, "view", "first", "课题研究")
    path = register._writer_of(state).turns.path  # noqa: SLF001
    assert path is not None and path.name == "state.sqlite" + SUFFIX and path.exists()
    other = os.open(path, os.O_WRONLY)  # another open file: flock excludes it as it would another process
    try:
        fcntl.flock(other, fcntl.LOCK_EX)
        done = threading.Event()
        writer = threading.Thread(target=lambda: (record_use(state, READER, "view", "second", "课题研究"), done.set()))
        writer.start()
        assert not done.wait(0.5)  # waiting for its turn, nothing written
        assert [e.archive_id for e in list_uses(state)] == ["first"]
        fcntl.flock(other, fcntl.LOCK_UN)
        assert done.wait(10)
        writer.join(10)
    finally:
        os.close(other)
    assert [e.archive_id for e in list_uses(state)] == ["first", "second"] and verify_register(state).ok


def test_no_turn_file_for_memory_read_only_or_other_databases(tmp_path) -> None:
    assert Turns("sqlite://").path is None
    assert Turns(f"sqlite:///file:{tmp_path / 's.sqlite'}?mode=ro&uri=true").path is None
    assert Turns("postgresql+psycopg://u@localhost/db").path is None
    with Turns("sqlite://").turn():  # nothing to take: the block runs
        pass


def test_a_folder_where_no_turn_file_can_be_made_writes_without_one(tmp_path) -> None:
    turns = Turns(f"sqlite:///{tmp_path / 'missing-folder' / 'state.sqlite'}")
    ran = []
    with turns.turn():
        ran.append(1)
    assert ran == [1] and turns.path is None
