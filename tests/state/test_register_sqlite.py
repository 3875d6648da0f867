"""The access register's append on a SQLite file's pooled connection (repository.accounts.register_sqlite)
writes the rows SQLAlchemy writes: the same stored text of each column, read back as the same entries, one
valid chain across both ways; a database error is the state database's error."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from repository.access import Principal, Role
from repository.accounts import register, register_sqlite
from repository.accounts.register import list_uses, record_use, verify_register
from repository.errors import StateError
from repository.sqlengine import sqlite_file
from repository.state.db import open_state, upgrade_state

READER = Principal("li", Role.RESEARCHER, "320102")
AT = datetime(2026, 12, 6, 21, 5, 4, 123456, tzinfo=UTC)


@pytest.fixture
def sqlite_state(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    upgrade_state(url)
    with open_state(url) as state:
        yield state


def test_both_ways_store_the_same_text(sqlite_state, monkeypatch) -> None:
    assert register_sqlite.usable(sqlite_state)
    raw = record_use(sqlite_state, READER, "view", "a", "课题研究", item="3", masked=True, at=AT)
    monkeypatch.setattr(register_sqlite, "usable", lambda state: False)  # the SQLAlchemy way
    orm = record_use(sqlite_state, READER, "view", "a", "课题研究", item="3", masked=True, at=AT)
    monkeypatch.undo()
    raw_none = record_use(sqlite_state, READER, "download", "b", "课题研究", at=AT)
    assert (raw.seq, orm.seq, raw_none.seq) == (1, 2, 3) and orm.prev_hash == raw.hash
    assert list_uses(sqlite_state) == [raw, orm, raw_none] and verify_register(sqlite_state).ok
    with sqlite3.connect(sqlite_file(sqlite_state.url)) as db:
        stored = db.execute("SELECT * FROM access_register ORDER BY seq").fetchall()
    first, second = (tuple(v for i, v in enumerate(row) if i not in (0,)) for row in stored[:2])
    differ = {i for i, (x, y) in enumerate(zip(first, second, strict=True)) if x != y}
    assert len(differ) == 2  # the chain's own two: prev_hash and hash; every other column the same text


def test_an_error_is_the_state_databases(sqlite_state, monkeypatch) -> None:
    monkeypatch.setattr(register_sqlite, "_HEAD", "SELECT seq, hash FROM no_such_table")
    with pytest.raises(StateError):
        record_use(sqlite_state, READER, "view", "a", "课题研究")
    monkeypatch.undo()
    assert list_uses(sqlite_state) == []
    assert record_use(sqlite_state, READER, "view", "a", "课题研究").seq == 1


def test_memory_and_other_databases_go_through_sqlalchemy() -> None:
    class Fake:
        def __init__(self, url: str, dialect: str) -> None:
            self.url, self.dialect = url, dialect

    assert not register_sqlite.usable(Fake("sqlite://", "sqlite"))
    assert not register_sqlite.usable(Fake("postgresql+psycopg://u@h/db", "postgresql"))
    assert register._chained(None, []) == []
