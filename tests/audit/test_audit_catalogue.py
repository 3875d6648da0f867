"""The audit's catalogue on plain sqlite3 (repository.catalog.audits_sqlite) against the SQLAlchemy catalogue:
the same rows written, the same answers read; and ``hsar audit`` importing neither SQLAlchemy nor what only
other commands use (issue 15: the whole audit's CPU-seconds, imports included)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert

from repository.catalog import audits, tables
from repository.catalog.audits_sqlite import (
    AuditEvent,
    AuditRecord,
    SqliteAudits,
    open_sqlite,
)
from repository.catalog.store import Catalog
from repository.errors import CatalogError

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)


def _catalogue(path: Path) -> str:
    """A catalogue holding HH-001 (v1, v2) with one event already recorded; its URL."""
    url = f"sqlite:///{path}"
    with Catalog(url) as catalog:
        catalog.create()
        with catalog.transaction(write=True) as conn:
            conn.execute(insert(tables.archives).values(
                id="HH-001", type="household", package_type="household", title="测试户", division="320102",
                institution="示范市住房保障中心", fonds="Z001", reference_code="Z001-HH·2025-Y-0001", year=2025,
                retention="Y", access="restricted", start_date=date(2025, 1, 1), description={}, head_version="v2",
                head_seq=2, created=NOW, updated=NOW))
            for seq in (1, 2):
                conn.execute(insert(tables.versions).values(
                    archive_id="HH-001", number=f"v{seq}", seq=seq, created=NOW, message="ingest", sip_name="sip",
                    package_type="household", file_count=3, bytes=1, separately_filed=False))
            conn.execute(insert(tables.events).values(
                archive_id="HH-001", version_id=1, identifier="urn:uuid:old", type="ingestion", datetime=NOW,
                outcome="success"))
    return url


def _event(identifier: str, when: datetime) -> AuditEvent:
    return AuditEvent(identifier, "fixity check", when, "success", "每个文件 every file", "hsar; 审计员",
                       "v2/content/data/a.pdf", "详情 outcome detail")


def _records() -> list[AuditRecord]:
    east8 = timezone(timedelta(hours=8))
    return [
        AuditRecord("HH-001", "v2", NOW, NOW + timedelta(seconds=2), "intact", 3, 1234, True, None, "hsar",
                    {"codes": [], "log": {"seq": 7, "hash": "ab" * 32}, "findings": [], "说明": "中文"},
                    (_event("urn:uuid:old", NOW), _event("urn:uuid:new-1", NOW.astimezone(east8)))),
        AuditRecord("HH-001", "v9", NOW, NOW + timedelta(seconds=3), "failed", 1, 0, False, "replica1", "hsar",
                    {"codes": ["AUD001"]}, (_event("urn:uuid:new-1", NOW), _event("urn:uuid:new-2", NOW))),
        AuditRecord("HH-404", None, NOW.replace(tzinfo=None), NOW.astimezone(east8), "repaired", 0, 0, None,
                    None, "hsar", {}, (_event("urn:uuid:lost", NOW),)),
    ]


def _rows(path: Path, table: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()  # noqa: S608 - a fixed name


def test_sqlite3_and_sqlalchemy_write_the_same_rows_and_read_the_same_answers(tmp_path: Path) -> None:
    plain, sqla = tmp_path / "plain.sqlite", tmp_path / "sqla.sqlite"
    plain_url, sqla_url = _catalogue(plain), _catalogue(sqla)
    lite = open_sqlite(plain_url, tmp_path)
    with Catalog(sqla_url) as catalog:
        other = audits.CatalogAudits(catalog)
        assert lite.record_audits(_records()) == other.record_audits(_records()) == 2  # new-1, new-2
        assert lite.record_audits([]) == other.record_audits([]) == 0
        for table in ("audits", "events"):
            assert _rows(plain, table) == _rows(sqla, table)
        stored = _rows(plain, "audits")
        assert [r[3] for r in stored] == ["2026-03-01 08:30:15.123456"] * 3  # UTC, as SQLAlchemy writes it
        assert [r[8] for r in stored] == [1, 0, None] and json.loads(stored[0][11])["说明"] == "中文"
        events = {r[3]: r for r in _rows(plain, "events")}
        assert set(events) == {"urn:uuid:old", "urn:uuid:new-1", "urn:uuid:new-2"}  # none twice, none of HH-404
        assert events["urn:uuid:new-2"][2] == 2  # an audited head not catalogued: the newest version's row
        for name in ("archive_ids", "known_heads", "last_checked", "log_anchors"):
            assert getattr(lite, name)() == getattr(other, name)(), name
        asked = ["HH-404", "HH-001", "HH-001"]  # the division of the archives a run names (its report's scope)
        assert lite.divisions_of(asked) == other.divisions_of(asked) == {"HH-001": "320102"}
        assert lite.divisions_of([]) == other.divisions_of([]) == {}
        for catalogue in (Catalog(plain_url), catalog):  # what the rest of hsar reads back from either
            assert audits.last_checked(catalogue)["HH-001"] == (NOW + timedelta(seconds=3), 0)
            assert audits.known_heads(catalogue) == {"HH-001": 9}
            assert audits.log_anchors(catalogue) == [(7, "ab" * 32)]
    lite.close()


def test_the_plain_catalogue_is_refused_as_the_repository_refuses_it(tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite"
    with pytest.raises(CatalogError) as info:
        open_sqlite(f"sqlite:///{missing}", tmp_path)
    assert info.value.code == "HOME-CATALOG" and not missing.exists()  # never created by opening
    (tmp_path / "empty.sqlite").touch()
    with pytest.raises(CatalogError, match="has not been created") as info:
        open_sqlite(f"sqlite:///{tmp_path / 'empty.sqlite'}", tmp_path)
    assert info.value.code == "HOME-CATALOG"
    with sqlite3.connect(tmp_path / "other.sqlite") as conn:
        conn.execute("CREATE TABLE unrelated (x)")
    with pytest.raises(CatalogError) as info:
        open_sqlite(f"sqlite:///{tmp_path / 'other.sqlite'}", tmp_path)
    assert info.value.code == "HOME-CATALOG"
    (tmp_path / "garbage.sqlite").write_bytes(os.urandom(5000))
    with pytest.raises(CatalogError, match="DatabaseError"):
        open_sqlite(f"sqlite:///{tmp_path / 'garbage.sqlite'}", tmp_path)
    url = _catalogue(tmp_path / "newer.sqlite")
    with sqlite3.connect(tmp_path / "newer.sqlite") as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(CatalogError, match="schema version 99"):
        open_sqlite(url, tmp_path)


def test_a_failing_write_rolls_back_and_is_a_catalogue_error(tmp_path: Path) -> None:
    url = _catalogue(tmp_path / "c.sqlite")
    lite = SqliteAudits(tmp_path / "c.sqlite", url)
    with sqlite3.connect(tmp_path / "c.sqlite") as conn:
        conn.execute("DROP TABLE events")  # the audits row goes in, then the events cannot
    with pytest.raises(CatalogError, match="no such table: events"):
        lite.record_audits(_records())
    assert _rows(tmp_path / "c.sqlite", "audits") == []  # nothing half-written
    assert lite.known_heads() == {"HH-001": 2}  # and the connection is usable again
    lite.close()


_PROBE = """
import atexit, sys
sys.path.insert(0, {root!r})
atexit.register(lambda: open({out!r}, "w").write(" ".join(sorted(sys.modules))))
from repository.cli import main
sys.argv[0] = "hsar"
main()
"""


def test_hsar_audit_imports_no_sqlalchemy_nor_what_other_commands_use(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "modules.txt"
    done = subprocess.run([sys.executable, "-c", _PROBE.format(root=str(ROOT), out=str(out)), "--home", str(home),
                           "audit", "--all", "--no-repair"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 0, done.stdout + done.stderr
    loaded = set(out.read_text().split())
    for module in ("sqlalchemy", "repository.catalog.store", "repository.catalog.tables", "repository.catalog.records",
                   "jieba", "flask", "tantivy", "whoosh", "pyhanko.sign", "aiohttp", "smtplib", "email.message",
                   "importlib.metadata", "lxml", "multiprocessing", "repository.audit.scheduler", "repository.model",
                   "cryptography.x509",
                   "repository.cli.users"):
        assert module not in loaded, module
    assert "repository.catalog.audits_sqlite" in loaded
    with sqlite3.connect(home / "catalog.sqlite") as conn:  # the results were recorded all the same
        assert conn.execute("SELECT count(*) FROM audits").fetchone() == (2,)
