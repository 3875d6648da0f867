"""The one-pass masking of a researcher's search hits and records gives exactly the answer of the two-pass
masking it replaced (kept here only as the reference): identity numbers masked in every hit first
(``mask_result``), then each hit masked as a record with its archive's people (``mask_record``), over many
generated hits: Chinese names (compound surnames, names inside names), identity numbers in every form the
privacy tests use (full-width digits, spaces, hyphens, inside longer runs, ``<em>`` marks inside), phones,
incomes, HTML-escaped highlight fragments, nested lists and dicts, and odd names holding digits or letters."""

from __future__ import annotations

import html
import random
import re
from dataclasses import replace
from typing import Any

import pytest

from repository import privacy
from repository.privacy import (
    COMPOUND_SURNAMES,
    ID_FIELDS,
    INCOME_FIELDS,
    NAME_FIELDS,
    PHONE_FIELDS,
    mask_income,
    mask_name,
    mask_phone,
    mask_record,
    mask_resident_id,
)
from repository.search.results import Hit, SearchResult
from repository.services import people
from repository.web.gateway import searching

# ---- the reference: privacy.mask_text / mask_value / mask_record and search.masking.mask_result as they were


def _old_mask_text(text: str) -> str:
    if len(text) < privacy.MIN_ID_DIGITS or len(privacy._ID_CHAR.findall(text)) < privacy.MIN_ID_DIGITS:  # noqa: SLF001
        return text
    return privacy._mask_ids(text)  # noqa: SLF001 - unchanged


def _old_mask_value(value: Any) -> Any:  # noqa: ANN401
    if isinstance(value, str):
        return _old_mask_text(value)
    if isinstance(value, dict):
        return {k: _old_mask_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_old_mask_value(v) for v in value)
    return value


def _old_mask_record(value: Any) -> Any:  # noqa: ANN401
    names: set[str] = set()
    _old_collect(value, names)
    return _old_mask(value, [(n, mask_name(n)) for n in sorted(names, key=len, reverse=True)])


def _old_collect(value: Any, names: set[str]) -> None:  # noqa: ANN401
    if isinstance(value, dict):
        for k, v in value.items():
            if k in NAME_FIELDS and isinstance(v, str) and len(v.strip()) > 1:
                names.add(v.strip())
            else:
                _old_collect(v, names)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _old_collect(v, names)


def _old_string(text: str, names: list[tuple[str, str]]) -> str:
    for name, masked in names:
        text = text.replace(name, masked)
    return privacy.mask_personal_text(_old_mask_text(text))  # phones, labelled names and incomes: added since


def _old_mask(value: Any, names: list[tuple[str, str]]) -> Any:  # noqa: ANN401
    if isinstance(value, dict):
        return {k: _old_field(k, v, names) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_old_mask(v, names) for v in value)
    return _old_string(value, names) if isinstance(value, str) else value


def _old_field(key: object, value: Any, names: list[tuple[str, str]]) -> Any:  # noqa: ANN401
    if value is None or isinstance(value, bool):
        return value
    if key in INCOME_FIELDS:
        return mask_income(value)
    if not isinstance(value, str):
        return _old_mask(value, names)
    if key in NAME_FIELDS:
        return mask_name(value)
    if key in PHONE_FIELDS:
        return mask_phone(value)
    if key in ID_FIELDS:
        return mask_resident_id(value)
    return _old_string(value, names)


def _old_masked_hits(result: SearchResult, found: dict[str, list[Any]]) -> list[Hit]:
    hits = []
    for hit in result.hits:
        hit = replace(hit, title=_old_mask_text(hit.title), items=_old_mask_value(hit.items),  # noqa: PLW2901
                      paper=_old_mask_value(hit.paper), highlights={k: _old_mask_text(v) for k, v in hit.highlights.items()})
        plain = hit.to_dict() | {"highlights": {k: searching._plain(v) for k, v in hit.highlights.items()}}  # noqa: SLF001
        masked = _old_mask_record({"people": found[hit.archive_id], "value": plain})["value"]
        hits.append(replace(hit, title=masked["title"], items=tuple(masked["items"]), paper=tuple(masked["paper"]),
                            highlights=masked["highlights"]))
    return hits


# ---- generated data

SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "高", "冯", *sorted(COMPOUND_SURNAMES)[:8]]
GIVEN = "建国华秀英娜丽强军敏静海波杰涵诗平伟芳"
WORDS = ["户住房保障档案", "年度复核表", "审核记录", "租赁合同", "申请", "身份证复印件", "长江路 12 号", "退出", "、",
         "，", "：", "A001-ZF·2019-Y-0001", "电话 ", "账号", " & ", "<b>", "\"引号\"", "2020-01-01", "件号 0001", "ab",
         "X", "x", " ", "-", "　", "*", "元/月"]


def _name(rng: random.Random) -> str:
    if rng.random() < 0.1:  # an odd name: letters, digits, a space, a hyphen or a star in it
        odd = rng.choice(["Ali", "王1", "Li 娜", "阿-依", "王*", "X", "x王", "１２", "7", "-"])
        return odd + rng.choice(GIVEN) if rng.random() < 0.5 else rng.choice(SURNAMES) + odd
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 3)))


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _resident_id(rng: random.Random) -> str:
    plain = rng.choice(["110101", "320106", "440305"]) + _digits(rng, rng.choice([9, 11, 12])) + rng.choice(["", "X", "x", "1"])
    form = rng.randrange(8)
    if form == 0:  # full-width
        plain = plain.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})
    elif form == 1:  # spaces, full-width spaces or hyphens inside
        sep = rng.choice([" ", "　", "-"])
        plain = sep.join(plain[i:i + 4] for i in range(0, len(plain), 4))
    elif form == 2:  # inside a longer run of digits
        plain = _digits(rng, rng.randint(1, 4)) + plain + _digits(rng, rng.randint(0, 3))
    elif form == 3:  # bounded by letters
        plain = rng.choice("aZｘ") + plain
    return plain


def _phone(rng: random.Random) -> str:
    return rng.choice(["138" + _digits(rng, 8), "025-" + _digits(rng, 8), "+86 138 1234 5678", _digits(rng, 5),
                       "025-84561234 13812345678"])


def _text(rng: random.Random, names: list[str]) -> str:
    parts = []
    for _ in range(rng.randint(0, 6)):
        pick = rng.random()
        parts.append(rng.choice(names) if pick < 0.3 and names else _resident_id(rng) if pick < 0.45
                     else _phone(rng) if pick < 0.5 else _digits(rng, rng.randint(1, 20)) if pick < 0.55
                     else rng.choice(WORDS))
    return "".join(parts)


def _fragment(rng: random.Random, names: list[str]) -> str:
    """An HTML-escaped highlight fragment with ``<em>`` marks around random parts (of IDs and names too)."""
    text = html.escape(_text(rng, names), quote=False)
    cuts = sorted(rng.sample(range(len(text) + 1), k=min(len(text) + 1, 2 * rng.randint(0, 3))))
    out, last = [], 0
    for i, at in enumerate(cuts):
        while at > 0 and text.rfind("&", last, at) > text.rfind(";", last, at):  # never inside an entity
            at -= 1
        at = max(at, last)
        out.append(text[last:at] + ("<em>" if i % 2 == 0 else "</em>"))
        last = at
    return "".join(out) + text[last:] + ("</em>" if len(cuts) % 2 else "")


def _household(rng: random.Random, names: list[str]) -> dict[str, Any]:
    head = rng.choice(names)
    return {"head": {"name": head, "resident_id": _resident_id(rng), "phone": _phone(rng)},
            "members": [{"name": rng.choice(names), "resident_id": _resident_id(rng), "relation": "配偶",
                         "income": rng.choice([3200, "3,200 元/月", None])} for _ in range(rng.randint(0, 3))],
            "income_band": "低收入", "monthly_income": rng.choice([3200, 1.5, None, True]),
            "address": _text(rng, names), "tenant": rng.choice(["", head, " 张三 ", "王"])}


def _value(rng: random.Random, names: list[str], depth: int = 0) -> Any:  # noqa: ANN401
    pick = rng.random()
    if depth > 2 or pick < 0.4:
        return rng.choice([_text(rng, names), rng.randint(0, 10**18), 1.5, None, True, False, _resident_id(rng)])
    if pick < 0.6:
        return [_value(rng, names, depth + 1) for _ in range(rng.randint(0, 3))]
    keys = ["title", "note", "name", "phone", "income", "resident_id", "head_name", "mobile", "file", "page"]
    return {rng.choice(keys): _value(rng, names, depth + 1) for _ in range(rng.randint(0, 4))}


def _hit(rng: random.Random, number: int, names: list[str]) -> Hit:
    items = tuple({"number": i, "class": "review", "subtype": rng.choice(WORDS), "title": _text(rng, names),
                   "date": "2014-08-11", "pages": rng.randint(1, 9),
                   "paper": {"catalogue": "001", "volume": _digits(rng, 6), "item": i, "box": "B00369",
                             "shelf": "B库4排8柜4格"},
                   "found_on": [{"file": f"p{i}.tif", "page": 1, "text": _text(rng, names)}],
                   **({"extra": _value(rng, names)} if rng.random() < 0.3 else {})}
                  for i in range(rng.randint(0, 6)))
    paper = tuple({"reference_code": "A001-ZF·2012-Y-0001479", "volume": _digits(rng, 6), "items": [1, 2, 3],
                   "note": _text(rng, names), "original_volume": None} for _ in range(rng.randint(0, 2)))
    fields = ["title", "name", "address", "estate", "resident_id", "ref", "item_title", "text"]
    highlights = {k: _fragment(rng, names) for k in rng.sample(fields, rng.randint(0, len(fields)))}
    return Hit(f"HH-{number}", _text(rng, names), "320106010", items, paper, highlights, rng.random(), "household", "v1")


@pytest.mark.parametrize("seed", range(40))
def test_a_page_of_hits_is_masked_as_the_two_passes_masked_it(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    pool = [_name(rng) for _ in range(12)]
    hits = [_hit(rng, n, pool) for n in range(20)]
    found = {h.archive_id: [_household(rng, pool) for _ in range(rng.randint(0, 3))] for h in hits}
    result = SearchResult(total=20, hits=hits, facets={})
    monkeypatch.setattr(people, "people_of", lambda _repo, _ids: found)
    new = searching._masked(None, result).hits  # type: ignore[arg-type] # noqa: SLF001
    old = _old_masked_hits(result, found)
    for a, b in zip(new, old, strict=True):
        assert (a.title, a.items, a.paper, a.highlights) == (b.title, b.items, b.paper, b.highlights)
        assert a == b


@pytest.mark.parametrize("seed", range(40))
def test_a_record_is_masked_as_before(seed: int) -> None:
    rng = random.Random(1000 + seed)
    pool = [_name(rng) for _ in range(8)]
    record = {"household": _household(rng, pool), "note": _text(rng, pool), "more": _value(rng, pool)}
    assert mask_record(record) == _old_mask_record(record)
    found = [_household(rng, pool)]
    value = {"title": _text(rng, pool), "items": [_value(rng, pool) for _ in range(3)]}
    assert people.masked_with(found, value) == _old_mask_record({"people": found, "value": value})["value"]


def test_the_generated_data_holds_what_must_be_masked() -> None:
    """The comparison above is worth something only if the hits do hold names, IDs and phones to mask."""
    rng = random.Random(7)
    pool = [_name(rng) for _ in range(12)]
    hits = [_hit(rng, n, pool) for n in range(200)]
    found = {h.archive_id: [_household(rng, pool)] for h in hits}
    masked = _old_masked_hits(SearchResult(total=200, hits=hits, facets={}), found)
    before, after = repr(hits), repr(masked)
    assert before != after
    assert re.search(r"\d{6}\*{8}\d{4}", after) and "<em>" in before
    assert sum(after.count(mask_name(n)) for n in pool) > 100
