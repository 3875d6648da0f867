"""The archive page's statements run on SQLite's own cursor (repository.catalog.rawrows) give the rows
SQLAlchemy gives: the same values of the same types (dates, times, JSON, booleans), in the same order; other
databases go through SQLAlchemy; a database error is the catalogue's error, as before."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import text

from repository.catalog import page
from repository.catalog.rawrows import Prepared
from repository.errors import CatalogError

STATEMENTS = ("_PAGE_ARCHIVE", "_VERSIONS", "_ITEMS", "_FILES", "_EVENTS", "_RELATIONS")


def test_the_rows_are_sqlalchemys_rows(catalog, records, build):
    for rec in records.values():
        catalog.record_version(rec)
    seen: dict[str, int] = {}
    for archive_id in (build.HH, build.UN, "HH-000000000-0000000"):
        with catalog.transaction() as conn:
            for name in STATEMENTS:
                prepared: Prepared = getattr(page, name)
                got = prepared.rows(conn, {"archive_id": archive_id})
                expected = list(conn.execute(prepared.statement, {"archive_id": archive_id}))
                assert [tuple(r) for r in got] == [tuple(r) for r in expected], name
                assert [[type(v) for v in r] for r in got] == [[type(v) for v in r] for r in expected], name
                assert [r._fields for r in got[:1]] == [tuple(r._fields) for r in expected[:1]]
                seen[name] = seen.get(name, 0) + len(got)
    assert all(seen[name] for name in STATEMENTS)  # every statement compared on rows, not only on nothing
    with catalog.transaction() as conn:  # the types that need converting were among them
        row = page._PAGE_ARCHIVE.rows(conn, {"archive_id": build.HH})[0]
        item = page._ITEMS.rows(conn, {"archive_id": build.HH})[0]
    assert isinstance(row.created, datetime) and isinstance(row.start_date, date) and isinstance(row.description, dict)
    assert isinstance(item.date, date)
    if catalog.url.startswith("sqlite"):
        assert page._ITEMS._compiled["sqlite"] is not None  # noqa: SLF001 - the own-cursor way was taken


def test_a_database_error_is_the_catalogues_error(catalog):
    broken = Prepared(text("SELECT no_such_column FROM archives WHERE id = :archive_id"))
    with pytest.raises(CatalogError), catalog.transaction() as conn:
        broken.rows(conn, {"archive_id": "x"})
