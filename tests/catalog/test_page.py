"""The archive page's reading (``Catalog.show_plain``): the same plain view as ``show().to_dict()``, read
without the typed view, with the newest audit and the divisions of the linked archives, on SQLite and
PostgreSQL alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import insert

from repository.catalog import tables as t
from repository.catalog.audits import last_check
from repository.catalog.store import Catalog


def _same(catalog: Catalog, archive_id: str) -> None:
    found = catalog.show_plain(archive_id)
    view = catalog.show(archive_id)
    assert found is not None and view is not None
    # equal, and in the same key order (the API's JSON is the page's data)
    assert json.dumps(found.data, ensure_ascii=False) == json.dumps(view.to_dict(), ensure_ascii=False)
    assert found.last_audit == last_check(catalog, archive_id)


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
