"""The archive page's reading (``Catalog.show_plain``): the same plain view as ``show().to_dict()``, read
without the typed view, with the newest audit and the divisions of the linked archives, on SQLite and
PostgreSQL alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from repository.catalog import page
from repository.catalog import tables as t
from repository.catalog.audits import last_checked
from repository.catalog.store import Catalog


def _same(catalog: Catalog, archive_id: str) -> None:
    found = catalog.show_plain(archive_id)
    view = catalog.show(archive_id)
    assert found is not None and view is not None
    # equal, and in the same key order (the API's JSON is the page's data)
    assert json.dumps(found.data, ensure_ascii=False) == json.dumps(view.to_dict(), ensure_ascii=False)
    assert found.last_audit == last_checked(catalog).get(archive_id)
    with catalog.transaction() as conn:
        assert page.plain(conn, archive_id) == found.data


def _audit(catalog: Catalog, archive_id: str, when: datetime, bytes_checked: int) -> None:
    with catalog.transaction(write=True) as conn:
        conn.execute(insert(t.audits).values(archive_id=archive_id, started=when, finished=when, result="ok",
                                             files_checked=1, bytes_checked=bytes_checked))


def test_the_plain_view_is_show_to_dict(catalog, records, build):
    catalog.record_version(records["hh1"])
    _same(catalog, build.HH)  # its unit not catalogued yet: a relation without a title
    assert catalog.show_plain(build.HH).divisions == {}
    for rec in records.values():
        catalog.record_version(rec)
    _audit(catalog, build.HH, datetime(2024, 1, 2, tzinfo=UTC), 10)
    _audit(catalog, build.HH, datetime(2024, 3, 4, tzinfo=UTC), 30)
    for archive_id in (build.HH, build.UN):
        _same(catalog, archive_id)
    hh = catalog.show_plain(build.HH)
    assert hh.last_audit == (datetime(2024, 3, 4, tzinfo=UTC), 30)
    assert hh.divisions == {build.UN: build.unit().division}
    assert catalog.show_plain(build.UN).last_audit is None
    # each value its own: changing one (masking does) leaves the others alone
    shelf = hh.data["items_by_class"][0]["items"][0]["paper"]["shelf"]
    shelf["store"] = "X"
    assert all(v["shelf"]["store"] != "X" for v in hh.data["paper_references"]["volumes"])
    assert all(i["shelf"]["store"] != "X" for i in hh.data["paper_references"]["items"])


def test_an_archive_not_catalogued_is_none(catalog):
    assert catalog.show_plain("HH-000000000-0000000") is None
    with catalog.transaction() as conn:
        assert page.plain(conn, "HH-000000000-0000000") is None


def test_a_stored_description_reads_back_as_the_typed_walk_makes_it(build):
    from repository.catalog.serial import from_plain, normalised, to_plain
    from repository.model import Archive

    def both(data):
        return normalised(Archive, data), to_plain(from_plain(Archive, data))

    for archive in (build.household(1), build.household(2), build.unit()):
        plain = to_plain(archive)
        new, old = both(plain)
        assert json.dumps(new, ensure_ascii=False) == json.dumps(old, ensure_ascii=False)
        older = {k: v for k, v in plain.items() if k not in ("relations", "supplement_of", "unit")}
        older["extra"] = "a key of no field"  # a description written by another version of hsar
        new, old = both(older)
        assert new == old and "extra" not in new and new["relations"] == [] and new["unit"] is None
    unit = to_plain(build.unit())
    unit["unit"]["area"] = 58  # a whole number stored for a float field: read back as 58.0, as before
    new, old = both(unit)
    assert new == old and isinstance(new["unit"]["area"], float)
    broken = to_plain(build.household(1))
    del broken["title"]  # a field without a default: refused alike
    with pytest.raises(TypeError):
        normalised(Archive, broken)
    with pytest.raises(TypeError):
        from_plain(Archive, broken)
    broken = to_plain(build.household(1))
    broken["access"] = "nope"  # not a value of the enum: refused alike
    with pytest.raises(ValueError):
        normalised(Archive, broken)


def test_due_archives_are_counted_and_the_longest_due_listed_first(catalog, records, build):
    from datetime import timedelta

    from repository.catalog.statistics import due_archives

    for rec in records.values():
        catalog.record_version(rec)
    now = datetime(2024, 6, 1, tzinfo=UTC)
    assert due_archives(catalog, None, now) == (2, [(build.HH, None), (build.UN, None)])  # never audited
    _audit(catalog, build.HH, now - timedelta(days=200), 10)  # checked long ago: due, after the never-checked
    assert due_archives(catalog, None, now) == (2, [(build.UN, None), (build.HH, now - timedelta(days=200))])
    assert due_archives(catalog, None, now, limit=1) == (2, [(build.UN, None)])  # counted all, listed one
    _audit(catalog, build.UN, now - timedelta(days=300), 10)
    _audit(catalog, build.UN, now + timedelta(days=1), 10)  # checked since: not due, whatever came before
    assert due_archives(catalog, None, now) == (1, [(build.HH, now - timedelta(days=200))])
    assert due_archives(catalog, [build.household(1).division], now) == (1, [(build.HH, now - timedelta(days=200))])
    assert due_archives(catalog, ["999999"], now) == (0, [])  # another scope: nothing
    assert due_archives(catalog, [], now) == (0, [])  # an empty scope sees nothing
