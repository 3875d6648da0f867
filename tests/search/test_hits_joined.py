"""Hit rendering's fast path (one normalisation and one scan of a hit's texts joined, :meth:`Renderer._joined`)
gives exactly what the plain path (one per text and item) gives: items, ``found_on`` pages and highlights,
on ordinary Chinese payloads and on texts whose normal form changes length, joins or lower-cases oddly."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from repository.search import hits
from repository.search.plan import MatchSpec

#: characters that NFKC or lower case change in length or by context, the joiners, HTML specials, Chinese
_ODD = ["ΑΣ", "Σ", "İ", "ﬁ", "㍿", "½", "e\u0301", "\u1100\u1161", "\x00", "；", ";", " ", "\u3000", "，", "：",
        "（", "）", "Ａ", "ｂ", "&", "<", ">", "\"", "'", "\n", "、", "Å", "K"]
_CHINESE = list("吕红梅审核记录住房保障档案公共租赁申请书年度复核租金家庭合同南京市溧水区百合公寓栋室")


def _text(rng: random.Random, odd: list[str], longest: int = 40) -> str:
    pool = _CHINESE * 3 + odd
    return "".join(rng.choice(pool) for _ in range(rng.randint(0, longest)))


def _payload(rng: random.Random, odd_ones: bool) -> dict[str, Any]:
    odd = rng.sample(_ODD, 3) if odd_ones else ["，", "：", "（", "）", "Ａ", "1", "2"]
    items = []
    for n in range(1, rng.randint(1, 7)):
        text = _text(rng, odd, 160)
        item: dict[str, Any] = {"number": n, "class": rng.choice(["application", "review"]),
                                "subtype": _text(rng, odd, 6), "title": _text(rng, odd, 12),
                                "date": f"20{rng.randint(10, 24)}-01-02", "pages": 2, "paper": {"volume": "001"},
                                "text": text}
        if text and rng.random() < 0.3:
            cut = rng.randint(0, len(text))
            item["ocr"] = [["a.pdf", 1, 0, cut], ["a.pdf", 2, cut, len(text)]]
        items.append(item)
    return {"id": "HH-1", "type": "household", "title": _text(rng, odd, 20), "division": "320117004",
            "version": "v1", "year": 2020, "ref": "A001-ZF·2020-D30-0002794",
            "names": [_text(rng, odd, 4) for _ in range(rng.randint(0, 3))], "ids": ["320117********7595"],
            "address": _text(rng, odd, 30), "estate": _text(rng, odd, 10), "unit": None, "items": items,
            "paper": [{"reference_code": "A001", "items": [1]}]}


def _words(rng: random.Random, data: dict[str, Any]) -> tuple[str, ...]:
    """Query words as a search makes them (normalised), cut from the payload's own texts so they match."""
    texts = [data["title"], data["address"], data["ref"], *data["names"], *data["ids"],
             *(i["text"] for i in data["items"])]
    words = []
    for _ in range(rng.randint(1, 3)):
        text = hits._nfkc_lower(rng.choice(texts))  # noqa: SLF001
        if text:
            start = rng.randrange(len(text))
            words.append(text[start:start + rng.randint(1, 4)])
    return tuple(dict.fromkeys(w for w in words if w)) or ("审核",)


def _both(spec: MatchSpec, payload: bytes, highlight: bool = True) -> tuple[Any, Any]:
    fast = hits.Renderer(spec, highlight)
    plain = hits.Renderer(spec, highlight)
    plain.joinable = False
    return fast.render(payload, 1.5), plain.render(payload, 1.5)


@pytest.mark.parametrize("odd", [False, True])
def test_the_joined_scan_renders_as_the_text_by_text_one(odd: bool) -> None:
    rng = random.Random(5 if odd else 6)
    joined = lit = 0
    for _ in range(3000):
        data = _payload(rng, odd)
        payload = json.dumps(data, ensure_ascii=False).encode("utf-8")
        conditions = (("class", frozenset({"review"})),) if rng.random() < 0.3 else ()
        keywords = ("a001-zf",) if rng.random() < 0.2 else ()  # an identifier asked for: its own pattern
        spec = MatchSpec(words=_words(rng, data), keywords=keywords, item_conditions=conditions)
        fast, plain = _both(spec, payload, highlight=rng.random() < 0.9)
        assert fast == plain, (spec, data)
        joined += hits.Renderer(spec)._joined(json.loads(payload)) is not None  # noqa: SLF001
        lit += bool(fast.highlights)
    assert joined > (1000 if odd else 2900) and lit > 2000  # the fast path is what was compared, and it lit up


def test_ordinary_chinese_hits_take_the_joined_path_and_light_up_every_field() -> None:
    rng = random.Random(7)
    data = _payload(rng, False)
    data.update(title="吕红梅户住房保障档案", names=["吕红梅", "李四"], address="南京市溧水区百合公寓5栋226室",
                estate="")
    data["items"][0].update(title="吕红梅审核记录", subtype="审核记录",
                            text="经审核，吕红梅家庭符合租金补贴保障条件，<已公示>。", ocr=[["s.pdf", 3, 0, 40]])
    renderer = hits.Renderer(MatchSpec(words=("吕红梅", "吕", "红梅")))
    payload = json.dumps(data, ensure_ascii=False).encode("utf-8")
    assert renderer._joined(json.loads(payload)) is not None  # noqa: SLF001 - the fast path is the one taken
    fast, plain = _both(renderer.spec, payload)
    assert fast == plain
    assert fast.highlights["title"] == "<em>吕红梅</em>户住房保障档案"
    assert fast.highlights["name"] == "<em>吕红梅</em>、李四"
    assert fast.highlights["text"] == "经审核，<em>吕红梅</em>家庭符合租金补贴保障条件，&lt;已公示&gt;。"
    assert fast.items[0]["found_on"] == [{"file": "s.pdf", "page": 3}]


@pytest.mark.parametrize("word", ["a b", "a;b", "甲；乙", "a\x00b"])
def test_a_query_word_holding_a_joiner_takes_the_plain_path(word: str) -> None:
    assert not hits.Renderer(MatchSpec(words=(word,))).joinable


@pytest.mark.parametrize("odd", ["ΑΣ甲", "İ甲", "e\u0301甲", "\x00甲"])
def test_a_text_that_would_not_line_up_takes_the_plain_path(odd: str) -> None:
    data = _payload(random.Random(8), False)
    data["title"] = odd
    assert hits.Renderer(MatchSpec(words=("甲",)))._joined(data) is None  # noqa: SLF001


def test_texts_whose_changes_in_length_cancel_out_take_the_plain_path() -> None:
    data = _payload(random.Random(9), False)
    data.update(title="e\u0301甲", address="甲ﬁ", names=[], estate="")  # one shorter, one longer: the same total
    spec = MatchSpec(words=("甲",))
    assert hits.Renderer(spec)._joined(data) is None  # noqa: SLF001
    fast, plain = _both(spec, json.dumps(data, ensure_ascii=False).encode("utf-8"))
    assert fast == plain and fast.highlights["title"] == "e\u0301<em>甲</em>"
