"""Catalogue: recording versions and answering ``hsar show``, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, insert, select

from repository.catalog import tables as t
from repository.catalog.store import Catalog
from repository.errors import CatalogError
from repository.model import MaterialClass


def counts(catalog: Catalog, archive_id: str | None = None) -> dict[str, int]:
    """Rows per table (of one archive where the table names archives)."""
    result = {}
    with catalog.transaction() as conn:
        for table in t.metadata.sorted_tables:
            query = select(func.count()).select_from(table)
            if archive_id is not None:
                column = table.c.get("archive_id", table.c.get("id") if table is t.archives else None)
                if column is None:
                    continue
                query = query.where(column == archive_id)
            result[table.name] = conn.scalar(query)
    return result


def test_record_v1_and_v2_then_show(catalog, records, build):
    assert catalog.record_version(records["hh1"]) is True
    assert catalog.record_version(records["hh2"]) is True
    view = catalog.show(build.HH)
    assert view is not None
    assert view.archive == build.household(2)
    assert view.head_version == "v2"
    assert view.created == build.T1 and view.updated == build.T2
    assert [(v.number, v.file_count, v.message, v.sip_name) for v in view.versions] == [
        ("v1", 2, "ingest v1", f"{build.HH}-v1.zip"), ("v2", 4, "supplement 2023", f"{build.HH}-v2.zip")]
    assert view.versions[1].bytes == sum(len(build.payload(p)) for p in build.household(2).files())
    assert view.versions[0].checks == build.CHECKS
    assert view.versions[0].created.tzinfo is not None
    assert [f.path for f in view.files] == sorted(build.household(2).files())
    by_path = {f.path: f for f in view.files}
    assert by_path["data/application/0001-申请书.pdf"].puid == "fmt/276"
    assert by_path["data/application/0001-申请书.pdf"].version_added == "v1"
    assert by_path["data/review/0003-审核表.pdf"].version_added == "v2"
    assert by_path["data/application/0002-收入证明.tif"].item_number == 2
    assert view.total_bytes == view.versions[1].bytes


def test_events_in_time_order_with_their_version(catalog, records, build):
    catalog.record_version(records["hh2"])
    catalog.record_version(records["hh1"])  # late arrival of an older version
    events = catalog.show(build.HH).events
    assert [e.datetime for e in events] == sorted(e.datetime for e in events)
    assert len(events) == 6
    assert [e.version for e in events] == ["v1"] * 3 + ["v2"] * 3
    first = events[0]
    assert (first.type, first.agent, first.object_path) == ("format identification", "FIDO",
                                                            "data/application/0001-申请书.pdf")


def test_recording_the_same_version_twice_changes_nothing(catalog, records, build):
    catalog.record_version(records["hh1"])
    catalog.record_version(records["hh2"])
    before, view = counts(catalog), catalog.show(build.HH)
    assert catalog.record_version(records["hh1"]) is False
    assert catalog.record_version(records["hh2"]) is False
    assert counts(catalog) == before
    assert catalog.show(build.HH) == view


def test_same_version_with_other_files_is_refused(catalog, records, build):
    catalog.record_version(records["hh1"])
    changed = dataclasses.replace(records["hh1"].files[0], sha512="0" * 128)
    other = dataclasses.replace(records["hh1"], files=[changed, *records["hh1"].files[1:]])
    with pytest.raises(CatalogError, match="already catalogued"):
        catalog.record_version(other)


def test_an_older_version_arriving_late_does_not_regress_the_description(catalog, records, build):
    catalog.record_version(records["hh2"])
    catalog.record_version(records["hh1"])
    view = catalog.show(build.HH)
    assert view.head_version == "v2"
    assert view.archive == build.household(2)
    assert view.created == build.T1


def test_items_by_class_with_paper_references(catalog, records, build):
    catalog.record_version(records["hh1"])
    catalog.record_version(records["hh2"])
    view = catalog.show(build.HH)
    groups = [(g.material_class, g.label, [i.number for i in g.items]) for g in view.items_by_class]
    assert groups == [(MaterialClass.APPLICATION, "申请材料", [1, 2]), (MaterialClass.REVIEW, "审核材料", [3]),
                      (MaterialClass.PROVISION, "实施保障材料", []), (MaterialClass.DYNAMIC, "动态管理材料", [4])]
    item4 = view.items_by_class[3].items[0]
    assert item4.paper == build.household(2).items[3].paper
    assert item4.files == ("data/dynamic/0004-年度复核表.pdf",)
    assert item4.version_added == "v2"
    assert view.items_by_class[0].items[0].version_added == "v1"
    refs = view.paper_references()
    assert refs["reference_code"] == "J001-ZF·2021-Y-0001"
    assert refs["volume"]["number"] == "2021-0001" and refs["volume"]["shelf_text"] == "1库3排2柜4格"
    assert [(v["volume"], v["box"], v["items"]) for v in refs["volumes"]] == [
        ("2021-0001", "H-0001", [1, 2]), ("2023-0007", "H-0102", [3, 4])]
    assert [(p["item"], p["page_start"], p["page_end"]) for p in refs["items"]] == [(1, 1, 2), (2, 3, 3), (3, 1, 1),
                                                                                    (4, 2, 4)]


def test_a_volumes_item_numbers_are_listed_as_filed_not_as_grouped(catalog, build):
    # item 4, bound in the second volume after item 3, is an application: grouped before item 3 (a review)
    hh = build.household(2)
    items = list(hh.items)
    items[3] = dataclasses.replace(items[3], material_class=MaterialClass.APPLICATION)
    catalog.record_version(build.make_record(dataclasses.replace(hh, items=tuple(items)), 1, build.T1))
    view = catalog.show(build.HH)
    assert [[i.number for i in g.items] for g in view.items_by_class if g.items] == [[1, 2, 4], [3]]
    volumes = [(v["volume"], v["items"]) for v in view.paper_references()["volumes"]]
    assert volumes == [("2021-0001", [1, 2]), ("2023-0007", [3, 4])]  # not [4, 3]
    plain = catalog.show_plain(build.HH)
    assert plain is not None and [v["items"] for v in plain.data["paper_references"]["volumes"]] == [[1, 2], [3, 4]]


def test_unit_items_by_class(catalog, records, build):
    catalog.record_version(records["un1"])
    view = catalog.show(build.UN)
    assert [(g.material_class, len(g.items)) for g in view.items_by_class] == [(MaterialClass.BASIC, 1),
                                                                              (MaterialClass.USE, 1)]
    assert view.archive.unit.area == pytest.approx(58.6)


def test_relations_in_both_directions(catalog, records, build):
    catalog.record_version(records["hh1"])
    hh = catalog.show(build.HH)
    assert [(r.direction, r.type, r.other, r.other_title) for r in hh.relations] == [
        ("out", "occupies", build.UN, None)]  # the unit is not catalogued yet
    catalog.record_version(records["un1"])
    hh, un = catalog.show(build.HH), catalog.show(build.UN)
    assert [(r.direction, r.type, r.other, r.other_title, r.start) for r in hh.relations] == [
        ("out", "occupies", build.UN, "锦绣花园 3 栋 1 单元 502 室", date(2021, 7, 1)),
        ("in", "occupiedBy", build.UN, "锦绣花园 3 栋 1 单元 502 室", date(2021, 7, 1))]
    assert [(r.direction, r.type, r.other, r.other_title) for r in un.relations] == [
        ("out", "occupiedBy", build.HH, "王建国户住房保障档案"), ("in", "occupies", build.HH, "王建国户住房保障档案")]


def _record_audit(catalog: Catalog, archive_id: str) -> None:
    now = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    with catalog.transaction(write=True) as conn:
        conn.execute(insert(t.audits).values(archive_id=archive_id, started=now, finished=now, result="ok",
                                             files_checked=4, bytes_checked=1000))


def test_delete_archive_cascades_but_keeps_its_audits(catalog, records, build):
    for rec in records.values():
        catalog.record_version(rec)
    _record_audit(catalog, build.HH)
    unit_before = counts(catalog, build.UN)
    assert catalog.delete_archive(build.HH) is True
    assert catalog.delete_archive(build.HH) is False
    remaining = counts(catalog, build.HH)
    assert remaining.pop("audits") == 1
    assert set(remaining.values()) == {0}, remaining
    assert catalog.show(build.HH) is None
    assert counts(catalog, build.UN) == unit_before
    assert [r.direction for r in catalog.show(build.UN).relations] == ["out"]


def test_clear_empties_derived_tables_only(catalog, records, build):
    for rec in records.values():
        catalog.record_version(rec)
    _record_audit(catalog, build.UN)
    catalog.clear()
    left = {k: v for k, v in counts(catalog).items() if v}
    assert left == {"audits": 1, "schema_version": 1}
    assert catalog.archive_ids() == []


def test_list_archives_by_division_scope_and_type(catalog, records, build):
    for rec in records.values():
        catalog.record_version(rec)
    assert catalog.archive_ids() == [build.HH, build.UN]
    assert [a.identifier for a in catalog.list_archives()] == [build.UN, build.HH]  # division order
    assert [a.identifier for a in catalog.list_archives(["320102002"])] == [build.HH]
    assert [a.identifier for a in catalog.list_archives(["3201"])] == [build.UN, build.HH]
    assert [a.identifier for a in catalog.list_archives(["3202", "320102"], type="unit")] == [build.UN]
    assert catalog.list_archives([]) == []
    assert catalog.list_archives(["32%"]) == []  # wildcards are literal
    assert [a.identifier for a in catalog.list_archives(limit=1, offset=1)] == [build.HH]
    hh = catalog.list_archives(type="household")[0]
    assert (hh.status, hh.head_version, hh.reference_code) == ("provided", "v2", "J001-ZF·2021-Y-0001")


def test_stats(catalog, records, build):
    for rec in records.values():
        catalog.record_version(rec)
    stats = catalog.stats()
    assert stats.archives == 2
    assert stats.by_type == {"household": 1, "unit": 1}
    assert stats.by_division == {"320102": 1, "320102002": 1}
    assert stats.by_status == {"": 1, "provided": 1}
    assert stats.versions == 3
    assert stats.files == 6
    assert stats.bytes == sum(len(build.payload(p)) for p in build.household(2).files() + build.unit().files())
    scoped = catalog.stats(["320102002"])
    assert (scoped.archives, scoped.versions, scoped.files) == (1, 2, 4)
    assert json.loads(json.dumps(stats.to_dict()))["by_type"] == {"household": 1, "unit": 1}


def test_show_json(catalog, records, build):
    catalog.record_version(records["hh1"])
    catalog.record_version(records["hh2"])
    data = json.loads(json.dumps(catalog.show(build.HH).to_dict(), ensure_ascii=False))
    d = data["description"]
    assert d["household"]["head"] == {"name": "王建国", "resident_id": "11010519491231002X"}
    assert d["status"] == {"status": "provided", "label": "在保", "since": "2021-06-18"}
    assert d["retention_label"] == "永久"
    assert data["head_version"] == "v2" and data["created"] == "2021-03-02T09:00:00+00:00"
    assert [g["material_class"] for g in data["items_by_class"]] == ["application", "review", "provision",
                                                                     "dynamic"]
    assert data["paper_references"]["items"][0]["shelf_text"] == "1库3排2柜4格"
    assert [v["number"] for v in data["versions"]] == ["v1", "v2"]
    assert data["relations"][0]["other"] == build.UN
    assert len(data["events"]) == 6 and len(data["files"]) == 4


def test_show_unknown_archive_is_none(catalog):
    assert catalog.show("no-such-archive") is None


def test_create_is_idempotent_and_stamps_the_schema(catalog):
    catalog.create()
    assert catalog.schema_version() == t.SCHEMA_VERSION


def test_a_catalogue_of_another_schema_version_is_refused(catalog):
    with catalog.transaction(write=True) as conn:
        conn.execute(t.schema_version.update().values(version=t.SCHEMA_VERSION + 1))
    with pytest.raises(CatalogError, match="schema version"):
        catalog.create()


def test_archives_of_a_person_by_resident_id(catalog, records, build):
    catalog.record_version(records["hh1"])
    assert catalog.archives_of_person("11010519491231002X") == [(build.HH, "head")]
    assert catalog.archives_of_person("110105195205150022") == [(build.HH, "member")]
    assert catalog.archives_of_person("110105200001010000") == []
