"""Python rules: GB 11643 resident IDs, GB/T 2260 divisions, DA/T 22 reference codes, item continuity."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import pytest

from repository.codes import Severity
from repository.description.rules import (
    check_resident_id,
    continuity_issues,
    division_issues,
    format_ranges,
    id_check_character,
    mask_resident_id,
    reference_code_issues,
    resident_id_issues,
    rule_issues,
)
from repository.descriptive import read_descriptive
from repository.divisions import DivisionTree, default_tree
from repository.model import Member
from repository.resources import METADATA_DIR

EXAMPLES = METADATA_DIR / "examples"


def _with_check(first17: str) -> str:
    return first17 + id_check_character(first17)


@pytest.mark.parametrize(
    "value",
    ["11010519491231002X", "110105195205150025", _with_check("32010219800229123"), _with_check("82000020000101001")],
)
def test_good_resident_ids(value):
    assert check_resident_id(value)


@pytest.mark.parametrize(
    "value",
    [
        "110105194912310021",  # wrong check digit (should be X)
        "11010519491231002x",  # lower-case x
        "110105195205150022",  # wrong check digit (should be 5)
        _with_check("11010519490230002"),  # 30 February
        _with_check("11010519491301002"),  # month 13
        _with_check("32010219810229123"),  # 29 February in a common year
        _with_check("11010518991231002"),  # born before 1900
        _with_check("11010599991231002"),  # born in the future
        _with_check("99010519491231002"),  # no province 99
        _with_check("09010519491231002"),
        "11010519491231002",  # 17 characters
        "11010519491231002XX",
        "1101051949123100２X",  # full-width digit
        "",
    ],
)
def test_bad_resident_ids(value):
    assert not check_resident_id(value)


def test_birth_date_is_judged_against_today():
    value = _with_check("11010520300101001")
    assert not check_resident_id(value, today=date(2025, 1, 1))
    assert check_resident_id(value, today=date(2031, 1, 1))


def test_resident_id_issues_mask_the_birth_date():
    archive = read_descriptive(EXAMPLES / "household-valid.xml")
    assert resident_id_issues(archive) == []
    bad = "110105195205150022"
    household = dataclasses.replace(archive.household, members=(Member("李秀英", bad, "配偶"),))
    found = resident_id_issues(dataclasses.replace(archive, household=household))
    assert [i.code for i in found] == ["RUL001"]
    assert "19520515" not in found[0].message
    assert mask_resident_id(bad) in found[0].message
    assert "member[1]" in found[0].message


def test_division_issues(tmp_path):
    tree = default_tree()
    assert division_issues("320102002", tree) == []
    assert division_issues("320102", tree) == []
    assert [i.code for i in division_issues("190102", tree)] == ["RUL002"]
    assert [i.code for i in division_issues("320100001", tree)] == ["RUL002"]
    assert [i.code for i in division_issues("32010", tree)] == ["RUL002"]
    assert [i.code for i in division_issues("320205001", tree)] == ["RUL003"]
    assert "320205001" in division_issues("320205001", tree)[0].message


def test_division_issues_follow_the_repository_tree(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps([
        {"code": "320000", "name": "江苏省", "parent": None},
        {"code": "320200", "name": "无锡市", "parent": "320000"},
        {"code": "320205", "name": "锡山区", "parent": "320200"},
        {"code": "320205001", "name": "东亭街道", "parent": "320205"},
    ], ensure_ascii=False), "utf-8")
    wuxi = DivisionTree.load(path)
    assert division_issues("320205001", wuxi) == []
    assert [i.code for i in division_issues("320102002", wuxi)] == ["RUL003"]


@pytest.mark.parametrize("code", ["J001-ZF·2021-Y-0001", "0123-WS·1998-D30-000017", "A-Z·2021-D10-9999"])
def test_good_reference_codes(code):
    assert reference_code_issues(code) == []


@pytest.mark.parametrize(
    "code",
    ["J001-ZF·2021-Y-0000", "J001-ZF.2021-Y-0001", "J001-ZF・2021-Y-0001", "J001-ZF·2021-D5-0001",
     "J001-ZF·21-Y-0001", "j001-ZF·2021-Y-0001", "J001-ZF·2021-Y-1", "", "J001-ZF·2021-Y-0001 "],
)
def test_bad_reference_codes(code):
    assert [i.code for i in reference_code_issues(code)] == ["RUL005"]


def test_format_ranges():
    assert format_ranges([]) == ""
    assert format_ranges([3]) == "3"
    assert format_ranges([7, 3, 5, 6, 9, 10]) == "3, 5-7, 9-10"


def test_continuity_issues():
    assert continuity_issues([1, 2, 3]) == []
    assert continuity_issues([]) == []
    assert continuity_issues([3, 1, 2, 2]) == []
    found = continuity_issues([1, 3, 4, 7])
    assert [i.code for i in found] == ["RUL006"]
    assert found[0].severity is Severity.WARNING
    assert dict(found[0].params)["missing"] == "2, 5-6"
    assert dict(continuity_issues([2, 3])[0].params)["missing"] == "1"
    assert continuity_issues([3, 4], start=3) == []


def test_continuity_across_versions():
    """At ingest of a supplement, the archive's numbers so far plus the new ones must still run on."""
    existing = [1, 2]
    assert continuity_issues(existing + [3, 4]) == []
    assert dict(continuity_issues(existing + [4])[0].params)["missing"] == "3"


def test_rule_issues_on_the_examples():
    tree = default_tree()
    for name in ("household-valid.xml", "unit-valid.xml", "supplement-valid.xml"):
        assert rule_issues(read_descriptive(EXAMPLES / name), tree) == [], name


def test_a_supplement_is_checked_from_its_first_number_a_package_from_one():
    tree = default_tree()
    supplement = read_descriptive(EXAMPLES / "supplement-valid.xml")
    assert [i.number for i in supplement.items] == [3]
    assert rule_issues(supplement, tree) == []
    household = read_descriptive(EXAMPLES / "household-valid.xml")
    shifted = tuple(dataclasses.replace(i, number=i.number + 2) for i in household.items)
    found = rule_issues(dataclasses.replace(household, items=shifted), tree)
    assert [(i.code, dict(i.params)["missing"]) for i in found] == [("RUL006", "1-2")]


def test_rule_issues_reports_everything_at_once():
    household = read_descriptive(EXAMPLES / "household-valid.xml")
    bad = dataclasses.replace(
        household,
        division="320205001",
        reference_code="J001-ZF·2021-Y-0000",
        household=dataclasses.replace(household.household, members=(Member("李秀英", "110105195205150022", "配偶"),)),
        items=household.items[:1] + (dataclasses.replace(household.items[1], number=3),),
    )
    assert [i.code for i in rule_issues(bad, default_tree())] == ["RUL001", "RUL003", "RUL005", "RUL006"]
