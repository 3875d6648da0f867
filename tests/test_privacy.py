"""Masking personal data for researchers: names, phones, incomes, resident IDs, in fields and in text."""

from __future__ import annotations

import pytest

from repository.privacy import mask_income, mask_name, mask_phone, mask_record, mask_text


@pytest.mark.parametrize(("name", "masked"), [
    ("王建国", "王*"), ("李娜", "李*"), ("欧阳娜娜", "欧阳*"), ("司马光", "司马*"), ("诸葛亮", "诸葛*"),
    ("欧阳", "欧*"),  # two characters only: a surname and a given name, not a compound surname alone
    ("王", "*"), ("", ""), (" 张三 ", "张*")])
def test_names_keep_the_surname(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize(("phone", "masked"), [
    ("13812345678", "138****5678"), ("025-84561234", "025-****1234"), ("+86 138 1234 5678", "+86 1** **** 5678"),
    ("12345", "*****")])
def test_phones_keep_three_and_four_digits(phone, masked):
    assert mask_phone(phone) == masked


def test_incomes_are_hidden_whole():
    assert mask_income(52000) == mask_income("3,200 元/月") == "***"


def test_a_record_is_masked_by_field_and_in_free_text():
    record = {
        "title": "王建国户住房保障档案",
        "household": {"head": {"name": "王建国", "resident_id": "11010519491231002X", "phone": "13812345678"},
                      "members": [{"name": "欧阳娜娜", "resident_id": "110105195205150022", "relation": "配偶"}],
                      "income_band": "低收入", "monthly_income": 3200, "address": "长江路 12 号"},
        "note": "欧阳娜娜（110105195205150022）申请变更", "year": 2021, "active": True, "end": None,
    }
    assert mask_record(record) == {
        "title": "王*户住房保障档案",
        "household": {"head": {"name": "王*", "resident_id": "110105********002X", "phone": "138****5678"},
                      "members": [{"name": "欧阳*", "resident_id": "110105********0022", "relation": "配偶"}],
                      "income_band": "***", "monthly_income": "***", "address": "长江路 12 号"},
        "note": "欧阳*（110105********0022）申请变更", "year": 2021, "active": True, "end": None,
    }
    assert record["household"]["head"]["name"] == "王建国"  # the input is not changed


@pytest.mark.parametrize(("text", "hidden"), [
    ("身份证号１１０１０１１９９００１０１１２３４，", "１１０１０１********１２３４"),  # full-width digits
    ("ID 110101 1990 0101 1234 end", "110101 **** **** 1234"),  # spaces inside
    ("ID 110101-19900101-1234 end", "110101-********-1234"),  # hyphens inside
    ("账号9911010119900101123455", "991101************3455"),  # inside a longer run of digits
    ("证号11010119900101123X。", "110101********123X"),
])
def test_ids_however_written_are_masked(text: str, hidden: str) -> None:
    masked = mask_text(text)
    assert hidden in masked, masked
    assert "19900101" not in masked.replace(" ", "").replace("-", "") and "１９９００１０１" not in masked


def test_short_numbers_and_dates_are_left_alone() -> None:
    text = "电话 025-84561234，日期 2020-01-01，件号 0001"
    assert mask_text(text) == text
