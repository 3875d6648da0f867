"""Personal data (个人隐私): how resident identity numbers (GB 11643) are shown to people who may not see them.

One rule everywhere (validation messages, ``hsar show``, search hits, the web app): keep the six-digit
division prefix and the last four characters, hide the rest — ``110101199001011234`` becomes
``110101********1234``. Values too short to carry a birth date are hidden whole.

For researchers (利用者, :mod:`repository.access`) more is masked: a person's name shows the surname and one
``*`` (王建国 -> 王*; compound surnames 复姓 such as 欧阳, 司马, 诸葛 keep both characters: 欧阳娜娜 -> 欧阳*),
a phone number its first three and last four digits (138****5678), an income nothing (``***``).
:func:`mask_record` applies all of it to a record by its field names, and to every other string the ID rule and
:func:`mask_personal_text` (phone numbers, and the names and incomes a form labels: 申请人：张三 -> 申请人：张*,
月收入：3200元 -> 月收入：***, in extracted document text whoever they belong to);
:func:`mask_with_people` does the same with the names of the archive's people (a researcher's search hit, in one
pass: each string once, names then identity numbers, short ASCII strings skipped).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_TAG = re.compile(r"</?em>")  # highlight tags in search fragments
_PHONE_DIGIT = re.compile(r"\d")
# 复姓: compound surnames (《百家姓》 and the commonest in use)
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 司空 夏侯 令狐 轩辕 端木 南宫 西门 独孤 呼延 澹台 "
    "公冶 太史 申屠 闻人 万俟 钟离 濮阳 赫连 第五 百里 东郭 拓跋 单于 左丘 公羊 谷梁 仲孙 亓官 鲜于 闾丘".split())
NAME_FIELDS = frozenset({"name", "head_name", "display_name", "applicant", "tenant", "buyer"})
PHONE_FIELDS = frozenset({"phone", "telephone", "mobile", "contact_phone"})
INCOME_FIELDS = frozenset({"income", "income_band", "annual_income", "monthly_income", "household_income", "income_per_capita"})
ID_FIELDS = frozenset({"resident_id", "head_resident_id", "id_number"})
# An identity number however it is written: ASCII or full-width digits (０-９), single spaces, full-width spaces or
# hyphens inside ("110101 1990 0101 1234"), a check character X; and a longer run of digits that may hold one.
# Any run of 15 or more digits is masked (old 15-digit, 18-character, and longer runs alike).
_DIGIT = "0-9\uff10-\uff19"
_LATIN = "A-Za-z\uff21-\uff3a\uff41-\uff5a"  # a number run on into Latin letters is a code (a digest), not a number
_ID = re.compile(rf"(?<![{_DIGIT}{_LATIN}])[{_DIGIT}](?:[ \u3000-]?[{_DIGIT}])*"
                 rf"(?:[ \u3000-]?[XxＸｘ])?(?![{_DIGIT}{_LATIN}])")
_ID_CHAR = re.compile(rf"[{_DIGIT}XxＸｘ]")
# MIN_ID_DIGITS characters of _ID_CHAR anywhere in a text (possessive: one linear scan, no list built)
_ENOUGH_ID_CHARS = re.compile(rf"(?:[^{_DIGIT}XxＸｘ]*+[{_DIGIT}XxＸｘ]){{{15}}}")
MIN_ID_DIGITS = 15


def mask_resident_id(value: str) -> str:
    value = value.strip()
    if len(value) < 11:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_text(text: str) -> str:
    """Mask every identity number in ``text``, which may carry ``<em>`` highlight tags (a tag inside a
    number does not hide it from the mask)."""
    if len(text) < MIN_ID_DIGITS or _ENOUGH_ID_CHARS.match(text) is None:
        return text  # too few digits (and check characters) in the whole text for any number to be masked
    return _mask_ids(text)


def _mask_ids(text: str, runs: re.Pattern[str] = _ID) -> str:
    def hidden(plain: str) -> list[int]:
        out: list[int] = []
        for m in runs.finditer(plain):
            positions = [m.start() + k.start() for k in _ID_CHAR.finditer(m.group())]
            if len(positions) >= MIN_ID_DIGITS:  # the six-digit division and the last four stay, as mask_resident_id
                out += positions[6:-4]
        return out
    return _starred(text, hidden)


def mask_id_runs(text: str, runs: re.Pattern[str]) -> str:
    """``text`` with every match of ``runs`` that holds :data:`MIN_ID_DIGITS` digits or more masked as an identity
    number (its first six and last four kept), for a caller that reads numbers more broadly than :data:`_ID` does
    (a researcher's copy of a page, :mod:`repository.formats.pagetext`)."""
    return _mask_ids(text, runs)


def _starred(text: str, hidden: Callable[[str], list[int]]) -> str:
    """``text`` with ``*`` at the positions ``hidden`` finds in its plain form (the highlight marks left out), the
    marks kept where they were; ``text`` itself when nothing is hidden."""
    parts = _TAG.split(text)
    plain = "".join(parts)
    positions = hidden(plain)
    if not positions:
        return text
    masked = list(plain)
    for at in positions:
        masked[at] = "*"
    tags = _TAG.findall(text)
    out, pos = [], 0
    for i, part in enumerate(parts):
        out.append("".join(masked[pos:pos + len(part)]))
        pos += len(part)
        if i < len(tags):
            out.append(tags[i])
    return "".join(out)


# A phone number in text: a mobile number (11 digits, 1[3-9]…) or a landline with its area code (0 + 2-3 digits,
# then 7-8), ASCII or full-width digits, single spaces or hyphens inside; any other run of 10-14 digits (a number
# written without its area code; runs of 15 or more are the identity-number rule's); and the digits a search
# fragment's "…" cut from a longer number, at its start or its end (…8099686414, 15662472…): never a piece of a
# longer run of digits, nor of a code that runs digits and Latin letters together (a SHA-512 digest in hex). Each keeps its first three and last four digits; a cut run only its outer digits.
_D = f"[{_DIGIT}]"
_PHONE = re.compile(rf"(?<=…)(?P<head>{_D}{{5,}})(?![{_DIGIT}{_LATIN}*])"  # "*": an identity number's mask goes on
                    rf"|(?<![{_DIGIT}{_LATIN}])(?P<tail>{_D}{{5,}})(?=…)"
                    rf"|(?<![{_DIGIT}{_LATIN}])(?:[1１][3-9３-９]{_D}(?:[ \u3000-]?{_D}){{8}}"
                    rf"|[0０]{_D}{{2,3}}[-－ \u3000]?{_D}{{3,4}}[ \u3000-]?{_D}{{4}}|{_D}{{10,14}})(?![{_DIGIT}{_LATIN}])")
_PHONE_CHAR = re.compile(_D)
MIN_PHONE_DIGITS = 5  # the fewest digits masked as (a cut piece of) a phone number
_ENOUGH_PHONE_DIGITS = re.compile(rf"(?:[^{_DIGIT}]*+[{_DIGIT}]){{{MIN_PHONE_DIGITS}}}")
# What a form labels as a person's name or an income: the label, an optional closing bracket, then a colon or
# a line break or space (PDF forms extract as "承租人\n田素芳\n"), then the name (2-4 Han characters, as masking
# takes them: a name run on into other text loses a character or two more) or the amount or income class.
# Highlight marks may sit anywhere. A "name" that is another field's label (表头: 姓名\n关系) is left alone.
_NAME_LABELS = ("户主姓名|申请人姓名|配偶姓名|共同申请人|家庭成员|姓名|户主|申请人|承租人|购房人|买受人|配偶|联系人|"
                "代理人|委托人|受托人|监护人")
_INCOME_LABELS = "家庭年收入|家庭月收入|人均月收入|人均年收入|人均收入|家庭收入|月收入|年收入|月工资|工资|收入"
_EM = "(?:</?em>)?"
_AFTER = rf"{_EM}[)）]?{_EM}(?:[：:]|\s)(?:\s|</?em>)*"
_LABELLED_NAME = re.compile(rf"(?:{_NAME_LABELS}){_AFTER}"
                            rf"(?P<name>[\u4e00-\u9fff](?:{_EM}[\u4e00-\u9fff·]){{1,3}}{_EM})")
_LABELLED_INCOME = re.compile(rf"(?:{_INCOME_LABELS}){_AFTER}"
                              rf"(?P<amount>(?:[{_DIGIT}]|</?em>)(?:[{_DIGIT},，.．]|</?em>)*(?:\s*(?:万元|元))?)"
                              rf"|(?:收入类别|收入情况){_AFTER}(?P<band>(?:[\u4e00-\u9fff]|</?em>){{2,10}})")
_NOT_NAMES = ("身份", "证件", "家庭", "联系", "收入", "保障", "申请", "性别", "民族", "住址", "地址", "电话", "签字",
              "签名", "本人", "关系", "与申", "与户", "出生", "年龄", "工作", "单位", "户籍", "人口", "日期", "情况",
              "信息", "类别", "所属", "现住", "入住", "职业", "备注", "意见", "承诺", "房屋", "证号", "居民")
_LABEL_START = re.compile(rf"(?:{_NAME_LABELS}|{_INCOME_LABELS}|收入类别|收入情况)")


def mask_free_text(text: str) -> str:
    """Free text as a researcher sees it when no names of people are known for it: identity numbers
    (:func:`mask_text`), then phone numbers and labelled names and incomes (:func:`mask_personal_text`)."""
    return mask_personal_text(mask_text(text))


def mask_personal_text(text: str) -> str:
    """Phone numbers, and the names and incomes a form labels, masked in free text; a name found after its label
    is masked wherever else it occurs in the same text too (a form names its tenant again in a table). The text
    may carry ``<em>`` highlight marks: they are kept, a masked part's own marks placed after it."""
    if _LABEL_START.search(text) is not None:
        names: set[str] = set()
        text = _LABELLED_NAME.sub(lambda m: _masked_name(m, names), text)
        text = _LABELLED_INCOME.sub(_masked_income, text)
        for name in sorted(names, key=len, reverse=True):
            if name in text:
                text = text.replace(name, mask_name(name))
    if len(text) >= MIN_PHONE_DIGITS and _ENOUGH_PHONE_DIGITS.match(text) is not None:
        text = _mask_phones(text)
    return text


def _replaced(m: re.Match[str], group: str, masked: str) -> str:
    """The match with ``group`` replaced by ``masked``, the group's highlight marks after it."""
    start, end, at = m.start(group), m.end(group), m.start()
    whole = m.group()
    return whole[:start - at] + masked + "".join(_TAG.findall(whole[start - at:end - at])) + whole[end - at:]


def _masked_name(m: re.Match[str], names: set[str]) -> str:
    name = _TAG.sub("", m.group("name"))
    if name.startswith(_NOT_NAMES):
        return m.group()
    names.add(name)
    return _replaced(m, "name", mask_name(name))


def _masked_income(m: re.Match[str]) -> str:
    return _replaced(m, "amount" if m.group("amount") is not None else "band", mask_income(None))


def _mask_phones(text: str) -> str:
    def hidden(plain: str) -> list[int]:
        out: list[int] = []
        for m in _PHONE.finditer(plain):
            positions = [m.start() + k.start() for k in _PHONE_CHAR.finditer(m.group())]
            if m.group("head") is not None:  # the end of a cut number: its last four digits stay
                out += positions[:-4]
            elif m.group("tail") is not None:  # its start: the first three
                out += positions[3:]
            else:  # the first three and the last four digits stay, as mask_phone does
                out += positions[3:-4]
        return out
    return _starred(text, hidden)


def mask_value(value: Any) -> Any:  # noqa: ANN401 - any JSON-ready value
    """``value`` with :func:`mask_text` applied to every string in it (dict keys are left as they are)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(mask_value(v) for v in value)
    return value


def mask_name(name: str) -> str:
    """Surname and one ``*``: 王建国 -> 王*, 欧阳娜娜 -> 欧阳*; a one-character name is hidden whole."""
    name = name.strip()
    if not name:
        return name
    keep = 2 if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else 1
    return name[:keep] + "*" if len(name) > keep else "*"


def mask_phone(value: str) -> str:
    """The first three and last four digits of a phone number with eight or more digits, every other digit
    as ``*`` (13812345678 -> 138****5678, 025-84561234 -> 025-****1234); shorter numbers are hidden whole."""
    digits = _PHONE_DIGIT.findall(value)
    if len(digits) < 8:
        return _PHONE_DIGIT.sub("*", value)
    out, seen = [], 0
    for ch in value:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen <= 3 or seen > len(digits) - 4 else "*")
        else:
            out.append(ch)
    return "".join(out)


def mask_income(_value: object) -> str:
    """An income is hidden whole, whatever its form (a number, an amount with a unit)."""
    return "***"


def mask_record(value: Any) -> Any:  # noqa: ANN401 - any JSON-ready value
    """A record (JSON-ready dicts and lists) as a researcher sees it: names, phones, incomes and resident IDs
    masked by field name; resident IDs and the record's names masked in every other string."""
    return mask_with_people((), value)


def mask_with_people(people: Any, value: Any, *, ids_first: bool = False) -> Any:  # noqa: ANN401 - JSON-ready
    """``value`` masked as :func:`mask_record` masks it, with the names of ``people`` (household records, JSON-ready:
    the archive's people) masked in its strings as well; ``people`` themselves are only read, not masked.

    ``ids_first``: as if every identity number in ``value`` had been masked before (:func:`mask_value`, as search
    hits are), in one pass: a phone field's value is masked as a text first; and in the rare record whose names
    hold a character an identity number is made of or bounded by (a digit, a Latin letter, a space or hyphen, the
    mask's ``*``), where the order of the two masks matters, the identity numbers are masked first indeed."""
    names: set[str] = set()
    _collect_names(people, names)
    _collect_names(value, names)
    if ids_first and any(_ODD_NAME.search(n) for n in names):
        value = mask_value(value)
        names = set()
        _collect_names(people, names)
        _collect_names(value, names)
    return _Masker(names, ids_first=ids_first).mask(value)


# a character of (or next to) an identity number, as _ID reads it, and the mask's own "*"
_ODD_NAME = re.compile(rf"[{_DIGIT}A-Za-z\uff21-\uff3a\uff41-\uff5a \u3000*-]")


def _collect_names(value: Any, names: set[str]) -> None:  # noqa: ANN401
    if type(value) is dict and NAME_FIELDS.isdisjoint(value):  # most dicts: no name here, only maybe below
        for v in value.values():
            if type(v) not in _SCALARS:
                _collect_names(v, names)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k in NAME_FIELDS and isinstance(v, str) and len(v.strip()) > 1:
                names.add(v.strip())
            elif type(v) not in _SCALARS:
                _collect_names(v, names)
    elif isinstance(value, (list, tuple)):
        for v in value:
            if type(v) not in _SCALARS:
                _collect_names(v, names)


_PLAIN = frozenset({int, float, bool, type(None)})  # left as they are, whatever their key (incomes aside)
_SCALARS = _PLAIN | {str}  # no names below these


class _Masker:
    """One record's masking: its names (longest first, each replaced in turn, as they always were), and the
    masks of the strings already seen in it (hits repeat their names, classes, boxes and shelves)."""

    def __init__(self, names: set[str], *, ids_first: bool = False) -> None:
        # longest first; equal-length names in the order the set iterates (the order they were always replaced in)
        self.names = [(n, mask_name(n)) for n in sorted(names, key=len, reverse=True)]
        self.ids_first = ids_first
        self.ascii_safe = not any(n.isascii() for n in names)  # no name can occur in an ASCII string
        # an ASCII string shorter than this holds neither a name, an identity number nor a phone number: left as it is
        self.short = MIN_PHONE_DIGITS if self.ascii_safe else 0
        self.seen: dict[str, str] = {}

    def text(self, text: str) -> str:
        done = text
        if self.names and not (self.ascii_safe and text.isascii()):
            for name, masked in self.names:
                if name in done:
                    done = done.replace(name, masked)
        done = self.seen[text] = mask_free_text(done)
        return done

    def mask(self, value: Any) -> Any:  # noqa: ANN401
        """``value`` masked: a string by :meth:`text`, a dict's values by their keys (:meth:`field`)."""
        kind = type(value)
        if kind is str:
            return self.seen.get(value) or self.text(value)
        if kind is dict:
            if not _FIELDS.isdisjoint(value):
                return {k: self.field(k, v) for k, v in value.items()}
            get, text, mask, short = self.seen.get, self.text, self.mask, self.short
            return {k: ((get(v) or text(v)) if len(v) >= short or not v.isascii() else v)
                    if type(v) is str else v if type(v) in _PLAIN else mask(v) for k, v in value.items()}
        if kind is list or kind is tuple:
            get, text, mask, short = self.seen.get, self.text, self.mask, self.short
            out = [((get(v) or text(v)) if len(v) >= short or not v.isascii() else v)
                   if type(v) is str else v if type(v) in _PLAIN else mask(v) for v in value]
            return out if kind is list else tuple(out)
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.field(k, v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.mask(v) for v in value)
        return value

    def field(self, key: object, value: Any) -> Any:  # noqa: ANN401
        if isinstance(value, str):
            if key in INCOME_FIELDS:
                return mask_income(value)
            if key in NAME_FIELDS:
                return mask_name(value)
            if key in PHONE_FIELDS:
                return mask_phone(mask_text(value) if self.ids_first else value)
            if key in ID_FIELDS:
                return mask_resident_id(value)
            return self.mask(value)
        if value is None or isinstance(value, bool):
            return value
        if key in INCOME_FIELDS:
            return mask_income(value)
        return self.mask(value)


_FIELDS = NAME_FIELDS | PHONE_FIELDS | INCOME_FIELDS | ID_FIELDS  # masked by their own rule
