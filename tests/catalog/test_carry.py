"""A supplement's unchanged file rows copied in SQL (``CarriedFiles``) equal the rows of the whole record, on
SQLite and PostgreSQL alike: the format policy is derived again in the copying statement (one CASE branch per
PUID, a file without a PUID included) or, with many PUIDs, by an UPDATE per PUID afterwards."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from sqlalchemy import select

from repository.catalog import tables as t
from repository.catalog import write
from repository.catalog.records import CarriedFiles, FileRecord

POLICIES = {"fmt/276": "preferred"}


def policy_of(puid: str | None) -> str | None:
    return POLICIES.get(puid, "acceptable") if puid else None


def _rows(catalog, archive_id: str, version: str) -> list[tuple]:  # noqa: ANN001
    with catalog.transaction() as conn:
        vid, count, size = conn.execute(select(t.versions.c.id, t.versions.c.file_count, t.versions.c.bytes).where(
            t.versions.c.archive_id == archive_id, t.versions.c.number == version)).one()
        rows = sorted((r.path, r.size, r.sha512, r.puid, r.format_name, r.format_version, r.policy, r.item_number,
                       r.version_added) for r in conn.execute(select(t.files).where(t.files.c.version_id == vid)))
    return [(count, size), *rows]


def _expected(files: list[FileRecord]) -> list[tuple]:
    rows = sorted((f.path, f.size, f.sha512, f.puid, f.format_name, f.format_version, f.policy, f.item_number,
                   f.version_added) for f in files)
    return [(len(files), sum(f.size for f in files)), *rows]


@pytest.mark.parametrize("cases", [write.MAX_POLICY_CASES, 0], ids=["in the copy", "updated after"])
def test_carried_rows_equal_the_whole_records_rows_with_the_policy_of_now(catalog, records, monkeypatch, cases):
    monkeypatch.setattr(write, "MAX_POLICY_CASES", cases)
    unknown = FileRecord("data/odd/unknown.bin", 3, hashlib.sha512(b"odd").hexdigest(), None, None, "stale", None,
                         "v1")
    hh1 = dataclasses.replace(records["hh1"], files=[
        *(dataclasses.replace(f, policy="stale") for f in records["hh1"].files), unknown])
    whole = sorted([*(dataclasses.replace(f, policy=policy_of(f.puid)) for f in records["hh2"].files),
                    dataclasses.replace(unknown, policy=None)], key=lambda f: f.path)
    before = {f.path: f.sha512 for f in hh1.files}
    new = [f for f in whole if before.get(f.path) != f.sha512]
    exclude = frozenset(p for p, d in before.items() if p not in {f.path: f for f in whole}
                        or next(f for f in whole if f.path == p).sha512 != d)
    assert new and len(new) < len(whole) and {f.puid for f in whole} >= {None, "fmt/276"}
    hh2 = dataclasses.replace(records["hh2"], files=new,
                              carried=CarriedFiles("v1", exclude, len(whole) - len(new), policy_of))
    catalog.record_version(hh1)
    assert catalog.record_version(hh2)
    archive = hh1.archive_id
    assert _rows(catalog, archive, "v2") == _expected(whole)
    assert {r[6] for r in _rows(catalog, archive, "v1")[1:]} == {"stale"}  # the version before is untouched
    assert not catalog.record_version(hh2)  # recorded already: nothing changes


def test_the_unused_digest_index_is_not_made_and_create_drops_it_from_older_catalogues(catalog):
    from sqlalchemy import inspect

    def names() -> set[str]:
        with catalog.transaction() as conn:
            return {ix["name"] for ix in inspect(conn).get_indexes("files")}

    assert "ix_files_sha512" not in names() and "ix_files_census" in names()
    with catalog.transaction(write=True) as conn:  # as catalogues were made before
        conn.exec_driver_sql("CREATE INDEX ix_files_sha512 ON files (sha512)")
    assert "ix_files_sha512" in names()
    catalog.create()
    assert "ix_files_sha512" not in names() and "ix_files_census" in names()
