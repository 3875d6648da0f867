"""The state database's schema comes from its Alembic migrations, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, insert, inspect, select

from repository.errors import StateError
from repository.state import tables as t
from repository.state.db import downgrade_state, head_revision, normalize_url, open_state, upgrade_state

STATE_TABLES = {"users", "tokens", "access_register", "jobs", "paper_register", "disposal_proposals",
                "login_failures", "security_log", "scan_reviews"}


def _tables(url: str) -> set[str]:
    engine = create_engine(normalize_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_from_empty_creates_every_table(state_url):
    assert upgrade_state(state_url) == head_revision() == "0007"
    assert _tables(state_url) == STATE_TABLES | {"alembic_version"}
    engine = create_engine(normalize_url(state_url))
    try:
        jobs = {c["name"]: c for c in inspect(engine).get_columns("jobs")}
        indexes = inspect(engine).get_indexes("jobs")
        uniques = inspect(engine).get_unique_constraints("jobs")
    finally:
        engine.dispose()
    assert list(jobs) == ["id", "kind", "state", "username", "params", "dedupe_key", "progress_done",
                          "progress_total", "message", "result", "error_code", "attempts", "created_at",
                          "started_at", "finished_at", "lease_host", "lease_pid", "lease_beat"]
    assert [n for n, c in jobs.items() if not c["nullable"]] == ["id", "kind", "state", "created_at"]
    assert [i["column_names"] for i in indexes if not i.get("duplicates_constraint")] == [["state", "created_at"]]
    assert [u["column_names"] for u in uniques] == [["dedupe_key"]]


def test_the_migrations_make_exactly_the_tables_the_code_uses(state_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    upgrade_state(state_url)
    engine = create_engine(normalize_url(state_url))
    try:
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), t.metadata) == []
    finally:
        engine.dispose()


def test_downgrade_and_upgrade_round_trip(state_url):
    upgrade_state(state_url)
    assert downgrade_state(state_url, "base") == ""
    assert _tables(state_url) == {"alembic_version"}
    assert upgrade_state(state_url) == head_revision()
    with open_state(state_url) as state, state.transaction(write=True) as conn:
        conn.execute(insert(t.jobs).values(id="j1", kind="audit", state="queued", created_at=t_now()))
        row = conn.execute(select(t.jobs)).one()
    assert (row.progress_done, row.attempts, row.params) == (0, 0, None)
    assert upgrade_state(state_url) == head_revision()  # idempotent


def t_now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_opening_a_missing_sqlite_state_writes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'home' / 'state.sqlite'}"
    with pytest.raises(StateError) as caught:
        open_state(url)
    assert caught.value.msgid == "state.missing" and "hsar init" in caught.value.render("zh")
    assert not (tmp_path / "home").exists()


def test_opening_an_unmigrated_state_is_refused_and_writes_nothing(state_url):
    upgrade_state(state_url)
    downgrade_state(state_url, "base")
    with pytest.raises(StateError) as caught:
        open_state(state_url)
    assert caught.value.msgid == "state.outdated" and caught.value.code == "STATE"
    assert _tables(state_url) == {"alembic_version"}


def test_an_unusable_url_is_a_clear_error():
    with pytest.raises(StateError) as caught:
        open_state("nosuchdb://x/y")
    assert caught.value.msgid == "state.unusable_url"
