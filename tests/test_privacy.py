"""Masking personal data for researchers: names, phones, incomes, resident IDs, in fields and in text."""

from __future__ import annotations

import pytest

from repository.privacy import mask_income, mask_name, mask_personal_text, mask_phone, mask_record, mask_text


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


@pytest.mark.parametrize(("text", "masked"), [
    ("联系电话：13812345678，", "联系电话：138****5678，"),
    ("手机 138 1234 5678 号", "手机 138 **** 5678 号"),
    ("电话０２５－８４５６１２３４。", "电话０２５－****１２３４。"),  # full-width digits and hyphen
    ("电话 <em>138</em>12345678", "电话 <em>138</em>****5678"),  # a highlight inside the number
    ("申请人：张三 身份证", "申请人：张* 身份证"),
    ("乙方（承租人）：欧阳娜娜，", "乙方（承租人）：欧阳*，"),
    ("申请人：<em>张三</em>", "申请人：<em>张*</em>"),
    # a PDF form as extracted: label and value on their own lines; the tenant named again in a table
    ("承租人\n田素芳\n入住日期\n2022年3月11日\n联系电话\n13467329996\n姓名\n关系\n身份证号\n田素芳\n本人",
     "承租人\n田*\n入住日期\n2022年3月11日\n联系电话\n134****9996\n姓名\n关系\n身份证号\n田*\n本人"),
    ("收入类别\n最低生活保障\n人均月收入\n860 元\n现住址", "收入类别\n***\n人均月收入\n***\n现住址"),
    ("月收入：3,200元，人均收入: 1500", "月收入：***，人均收入: ***"),
    ("申请家庭人均月收入 1500 元，符合", "申请家庭人均月收入 ***，符合"),
    ("收入：<em>3200</em>元", "收入：<em>***</em>"),
    # a search fragment's "…" cut a number: its outer digits only
    ("…8099686414\n家庭人口", "…******6414\n家庭人口"), ("联系电话\n15662472…", "联系电话\n156*****…"),
    ("…320118********842X\n", "…320118********842X\n"),  # an identity number's mask goes on: left as it is
    ("…199001011234，", "…********1234，"), ("身份证号 11010119900…", "身份证号 110********…"),  # cut numbers
])
def test_phones_and_labelled_names_and_incomes_in_free_text_are_masked(text: str, masked: str) -> None:
    assert mask_personal_text(text) == masked
    assert mask_record({"note": text}) == {"note": masked}  # and so in every record a researcher is shown


@pytest.mark.parametrize("text", [
    "日期 2020-01-01，件号 0001，档号 A001-ZF·2019-Y-0001",
    "HH-320106010-0001479 UN-320113-0001",  # archive identifiers
    "家庭成员情况\n姓名\n与申请人关系\n性别",  # a table's header: labels, not names
    "本人及共同申请的家庭成员郑重承诺：所申报的家庭成员、户籍、收入、住房和财产情况真实",
    "编号 201911256，面积 36.36 平方米",  # nine digits or fewer, not cut by a fragment: not a phone
])
def test_free_text_without_personal_data_is_left_as_it_is(text: str) -> None:
    assert mask_personal_text(text) == text


@pytest.mark.parametrize("text", [
    # a version's message names the SIP's SHA-512: its runs of 10-14 digits (and of 15 or more) are the digest's
    "household-sip 0013 sip-sha512:95938aca92f5513869545142be25ad85cb33fc0e00a0f243aa8eea0e40c423ff2",
    "digest f1234567890123456789e, 12345678901a…, …b9876543210",  # cut by a fragment's … too
    "ＡＢ１３８１２３４５６７８ｃ",  # full-width letters as well
])
def test_digits_run_on_into_latin_letters_are_a_code_not_a_phone_or_an_identity_number(text: str) -> None:
    assert mask_personal_text(text) == text
    assert mask_record({"message": text}) == {"message": text}
