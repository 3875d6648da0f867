"""Descriptive XML <-> model: exact round trips, and merging a supplement into its archive."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from repository.description.validate import validate_descriptive
from repository.descriptive import merge, parse, read_descriptive, to_xml
from repository.errors import IngestError
from repository.model import (
    Access,
    Archive,
    ArchiveType,
    Household,
    Item,
    MaterialClass,
    Member,
    PackageType,
    PaperRef,
    Person,
    Relation,
    Retention,
    Shelf,
    Status,
    StatusChange,
    SupplementOf,
    Volume,
)
from repository.resources import METADATA_DIR

EXAMPLES = METADATA_DIR / "examples"
VALID = ["household-valid.xml", "unit-valid.xml", "supplement-valid.xml"]


@pytest.mark.parametrize("name", VALID)
def test_examples_round_trip(name):
    archive = read_descriptive(EXAMPLES / name)
    xml = to_xml(archive)
    assert parse(xml) == archive
    assert to_xml(parse(xml)) == xml
    assert validate_descriptive(xml).issues == ()


def test_output_is_pretty_utf8_with_declaration():
    xml = to_xml(read_descriptive(EXAMPLES / "household-valid.xml"))
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<archive xmlns="urn:hsar:archive:1"')
    assert "王建国".encode() in xml
    assert b"\n    <shelf " in xml


def test_parsed_values():
    archive = read_descriptive(EXAMPLES / "household-valid.xml")
    assert archive.type is ArchiveType.HOUSEHOLD and archive.retention is Retention.PERMANENT
    assert archive.year == 2021 and archive.start == date(2021, 3, 2) and archive.end is None
    assert archive.household.status == StatusChange(Status.PROVIDED, date(2021, 6, 18))
    assert archive.household.members[0] == Member("李秀英", "110105195205150025", "配偶")
    assert archive.items[1].paper.page_start == 3 and archive.items[1].paper.shelf == Shelf("1", 3, 2, 4)
    unit = read_descriptive(EXAMPLES / "unit-valid.xml")
    assert unit.unit.area == 58.36 and unit.relations[0].type == "occupiedBy"
    supplement = read_descriptive(EXAMPLES / "supplement-valid.xml")
    assert supplement.volume.separately_filed and supplement.volume.original_volume == "2021-0001"
    assert supplement.supplement_of == SupplementOf("hh-320102-2021-0001", "2021-0001", "2022 年度复核")


def _full_archive() -> Archive:
    shelf = Shelf("2", 1, 1, 1)
    item = Item(7, MaterialClass.DYNAMIC, "退出", "退出通知书", date(2023, 5, 31), 1, ("data/d/0007.pdf",),
                PaperRef("1", "2023-0002", 7, 1, 1, "H-0009", shelf))
    return Archive(
        identifier="hh-320106-2019-0042", type=ArchiveType.HOUSEHOLD, package_type=PackageType.SUPPLEMENT_SIP,
        title="张三户住房保障档案", division="320106001", institution="南京市鼓楼区住房保障中心", fonds="0123",
        reference_code="0123-ZF·2019-D30-000042", year=2019, retention=Retention.LONG, access=Access.OPEN,
        start=date(2019, 1, 2), end=date(2023, 5, 31),
        volume=Volume("1", "2023-0002", "H-0009", shelf, separately_filed=True, original_volume="2019-0042"),
        items=(item,),
        household=Household(Person("张三", "11010519491231002X"), (), "南京市鼓楼区宁海路 1 号", "低收入",
                            "无房", "廉租住房", (StatusChange(Status.WAITING, date(2019, 1, 2)),
                                                 StatusChange(Status.EXITED, date(2023, 5, 31)))),
        relations=(Relation("occupies", "un-320106-0007", date(2019, 6, 1), date(2023, 5, 31)),),
        supplement_of=SupplementOf("hh-320106-2019-0042", "2019-0042"),
    )


def test_constructed_archive_round_trips_and_validates():
    archive = _full_archive()
    xml = to_xml(archive)
    assert parse(xml) == archive
    assert b"<members>" not in xml and b"reason=" not in xml
    result = validate_descriptive(xml)
    assert result.codes() == set() and result.archive == archive


# --- merge --------------------------------------------------------------------------------------------------
@pytest.fixture
def household() -> Archive:
    return read_descriptive(EXAMPLES / "household-valid.xml")


@pytest.fixture
def review() -> Archive:
    return read_descriptive(EXAMPLES / "supplement-valid.xml")


def test_merge_appends_items_and_keeps_the_original(household, review):
    merged = merge(household, review)
    assert [i.number for i in merged.items] == [1, 2, 3]
    assert merged.items[2] == review.items[0]
    assert merged.household == household.household
    assert merged.package_type is PackageType.HOUSEHOLD_SIP and merged.supplement_of is None
    assert (merged.identifier, merged.volume, merged.end) == (household.identifier, household.volume, None)
    assert merged.relations == household.relations
    assert validate_descriptive(to_xml(merged)).issues == ()


def test_merge_sorts_items_by_number(household, review):
    first = merge(household, review)
    late = dataclasses.replace(review, items=(dataclasses.replace(review.items[0], number=5),
                                              dataclasses.replace(review.items[0], number=4)))
    assert [i.number for i in merge(first, late).items] == [1, 2, 3, 4, 5]


def test_merge_exit_replaces_household_sets_end_and_closes_the_relation(household, review):
    exit_date = date(2023, 5, 31)
    new_household = dataclasses.replace(
        household.household, statuses=household.household.statuses + (StatusChange(Status.EXITED, exit_date),))
    closed = dataclasses.replace(household.relations[0], end=exit_date)
    extra = Relation("occupies", "un-320102-0002", date(2022, 1, 1), date(2022, 2, 1))
    exit_supplement = dataclasses.replace(review, household=new_household, relations=(closed, extra))
    merged = merge(household, exit_supplement)
    assert merged.household == new_household and merged.household.status.status is Status.EXITED
    assert merged.end == exit_date
    assert merged.relations == (closed, extra)
    assert validate_descriptive(to_xml(merged)).issues == ()


def test_merge_keeps_end_without_exit(household, review):
    changed = dataclasses.replace(household.household, income_band="最低生活保障")
    merged = merge(household, dataclasses.replace(review, household=changed))
    assert merged.household.income_band == "最低生活保障" and merged.end is None


def test_merge_refuses_what_cannot_be_merged(household, review):
    with pytest.raises(IngestError):
        merge(household, household)  # not a supplement
    with pytest.raises(IngestError):
        merge(household, dataclasses.replace(review, supplement_of=SupplementOf("hh-other-0001", "2021-0001")))
    with pytest.raises(IngestError):
        merge(household, dataclasses.replace(review, items=household.items[:1]))  # item 1 again
    unit = read_descriptive(EXAMPLES / "unit-valid.xml")
    with pytest.raises(IngestError):
        merge(unit, dataclasses.replace(review, supplement_of=SupplementOf(unit.identifier, "2019-0001")))


def test_the_same_bytes_parsed_again_give_the_same_archive_and_other_bytes_their_own():
    from repository import descriptive

    data = descriptive.to_xml(_full_archive())
    first = descriptive.parse(data)
    assert descriptive.parse(bytes(data)) is first  # equal bytes: not parsed again
    other = data.replace(b"<title>", b"<title>X", 1)
    assert descriptive.parse(other) != first and descriptive.parse(other).title.startswith("X")
    assert descriptive.parse(bytearray(data)) == first  # not kept: a bytearray may change
    assert descriptive.parse(data) == first
