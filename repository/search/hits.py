"""Render a hit from its stored payload: matching items, paper volumes and highlights, the same for both engines.

Highlighting is done here rather than by each engine, so Whoosh and Tantivy return the same fragments: the
query's words are found (case- and width-insensitively) in the stored title, names, identifiers, addresses,
item titles and item text, and wrapped in ``<em>…</em>`` in an HTML-escaped fragment.

A search renders its page of hits with one :class:`Renderer`: what depends only on the query (the compiled
word and identifier patterns, the item conditions) is worked out once for the page, not once per hit.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from ..privacy import mask_text
from . import analysis
from .plan import MatchSpec
from .results import Hit

FRAGMENT_CHARS = 80
_ITEM_KEYS = ("number", "class", "subtype", "title", "date", "pages", "paper")
_escape = html.escape
_SHORT = 256  # texts up to this length have their normal form remembered (titles, names, addresses repeat)


#: full-width ASCII forms (U+FF01-FF5E) and the ideographic space: NFKC maps each to one ASCII character
_FULL_WIDTH = re.compile("[\uff01-\uff5e\u3000]")


#: the commonest of them, replaced without a regular expression
_COMMON_WIDE = tuple((w, chr(ord(w) - 0xFEE0)) for w in "，：；（）！？")


def _half(match: re.Match[str]) -> str:
    ch = match.group()
    return " " if ch == "\u3000" else chr(ord(ch) - 0xFEE0)


def _nfkc_lower(text: str) -> str:
    """:func:`analysis.normalize`, quicker on Chinese text: its full-width commas and colons (which send
    NFKC down its slow path for the whole text) are first replaced by the ASCII characters NFKC gives them.
    The same result: replacing a character by its compatibility decomposition leaves the NFKC form as it is;
    a text already in NFKC (the quick check) is only lower-cased, as NFKC would leave it unchanged."""
    if text.isascii():
        return text.lower()
    if unicodedata.is_normalized("NFKC", text):  # most names, titles and addresses: no NFKC pass at all
        return text.lower()
    for wide, narrow in _COMMON_WIDE:
        if wide in text:
            text = text.replace(wide, narrow)
    if _FULL_WIDTH.search(text) is not None:
        text = _FULL_WIDTH.sub(_half, text)
    return analysis.normalize(text)


@lru_cache(maxsize=32_768)
def _normalize_short(text: str) -> str:
    return _nfkc_lower(text)


def _normalize(text: str) -> str:
    """:func:`analysis.normalize` (NFKC and lower case; NFKC is costly on Chinese text with full-width
    punctuation), remembered for short texts: a page renders the same titles and item texts again and again."""
    return _normalize_short(text) if len(text) <= _SHORT else _nfkc_lower(text)


def _normalized_with_map(text: str) -> tuple[str, list[int] | None]:
    """Normalised text and, when its length differs, the original index of each normalised character."""
    norm = _normalize(text)
    if len(norm) == len(text):
        return norm, None
    pieces, index = [], []
    for i, ch in enumerate(text):
        n = _normalize(ch)
        pieces.append(n)
        index.extend([i] * len(n))
    return "".join(pieces), index


@lru_cache(maxsize=4096)
def _compiled(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    if any(len(t) > 1 for t in terms):
        terms = tuple(t for t in terms if len(t) > 1)  # single characters light up everything: keep longer words
    return re.compile("|".join(map(re.escape, terms))) if terms else None


def _pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    # longest first (an alternation takes its first match); terms of one length never match at one place
    # together, so their order among themselves does not matter and is fixed for the cache
    return _compiled(tuple(sorted({t for t in terms if t}, key=lambda t: (-len(t), t))))


def _spans(text: str, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    norm, index = _normalized_with_map(text)
    spans = [(m.start(), m.end()) for m in pattern.finditer(norm)]
    if index is not None:
        spans = [(index[s], index[e - 1] + 1) for s, e in spans]
    return spans


def fragment(text: str, pattern: re.Pattern[str] | None, width: int = FRAGMENT_CHARS) -> str | None:
    """An escaped fragment of ``text`` around its first match with every match in ``<em>``; None if none."""
    if not text or pattern is None:
        return None
    spans = _spans(text, pattern)
    if not spans:
        return None
    start = 0 if len(text) <= width else max(0, min(spans[0][0] - width // 4, len(text) - width))
    end = min(len(text), start + width)
    out = ["…" if start else ""]
    pos = start
    for s, e in spans:
        if s < pos or e > end:
            continue
        out += [_escape(text[pos:s], quote=False), "<em>", _escape(text[s:e], quote=False), "</em>"]
        pos = e
    out += [_escape(text[pos:end], quote=False), "…" if end < len(text) else ""]
    return "".join(out).replace("</em><em>", "")


def _item_ok(item: Mapping[str, Any], spec: MatchSpec) -> bool:
    for f, allowed in spec.item_conditions:
        if f == "class":
            value = item["class"]
        elif f == "subtype":
            value = _normalize(item["subtype"])
        else:  # year
            value = item["date"][:4]
        if value not in allowed:
            return False
    return True


def matching_items(items: list[dict[str, Any]], spec: MatchSpec,
                   pattern: re.Pattern[str] | None) -> list[dict[str, Any]]:
    """Items meeting the item conditions, narrowed to those whose words match when any do."""
    candidates = [i for i in items if _item_ok(i, spec)] if spec.item_conditions else items
    if pattern is not None:
        search = pattern.search
        worded = [i for i in candidates if search(_normalize(f"{i['title']} {i['subtype']} {i.get('text', '')}"))]
        if worded:
            return worded
    return candidates if spec.item_conditions else []


def found_on(item: Mapping[str, Any], pattern: re.Pattern[str] | None) -> list[dict[str, Any]]:
    """The scanned pages (``{"file", "page"}``) whose OCR text holds a match: from the item's ``ocr`` spans."""
    spans = item.get("ocr")
    if not spans or pattern is None:
        return []
    starts = [s for s, _e in _spans(item.get("text", ""), pattern)]
    return [{"file": f, "page": n} for f, n, s, e in spans if any(s <= a < e for a in starts)]


def _hit_item(item: Mapping[str, Any], pattern: re.Pattern[str] | None) -> dict[str, Any]:
    out = {k: item[k] for k in _ITEM_KEYS}
    pages = found_on(item, pattern)
    if pages:
        out["found_on"] = pages
    return out


class Renderer:
    """Renders the hits of one query (:class:`MatchSpec`): its patterns compiled once for the whole page."""

    def __init__(self, spec: MatchSpec, highlight: bool = True) -> None:
        self.spec, self.highlight = spec, highlight
        self.words = _pattern(spec.words)
        # the index holds identity numbers masked (see .idkeys): a number asked for lights up in its masked form
        self.ids = _pattern((*spec.words, *spec.keywords, *(mask_text(k) for k in spec.keywords)))

    def highlights(self, data: Mapping[str, Any], items: list[dict[str, Any]]) -> dict[str, str]:
        words, ids = self.words, self.ids
        out: dict[str, str] = {}
        if words is None and ids is None:
            return out
        fields = (
            ("title", data["title"], words), ("name", "、".join(data["names"]), words),
            ("resident_id", "、".join(data["ids"]), ids), ("ref", data["ref"], ids),
            ("address", data["address"], words), ("estate", data["estate"], words),
            ("item_title", "；".join(i["title"] for i in items), words),
        )
        for key, text, pat in fields:
            f = fragment(text, pat)
            if f is not None:
                out[key] = f
        if words is not None:
            for item in items:
                f = fragment(item.get("text", ""), words)
                if f is not None:
                    out["text"] = f
                    break
        return out

    def render(self, payload: str, score: float) -> Hit:
        """The :class:`Hit` of one stored payload; an item matched in a scanned page's OCR text names the page
        (``found_on``)."""
        data = json.loads(payload)
        pattern = self.words
        items = matching_items(data["items"], self.spec, pattern)
        return Hit(archive_id=data["id"], title=data["title"], division=data["division"],
                   items=tuple(_hit_item(i, pattern) for i in items), paper=tuple(data["paper"]),
                   highlights=self.highlights(data, items) if self.highlight else {},
                   score=float(score), type=data["type"], version=data["version"])


def render(payload: str, score: float, spec: MatchSpec, highlight: bool = True) -> Hit:
    """The :class:`Hit` of one stored payload (one hit; a page of them: :class:`Renderer`)."""
    return Renderer(spec, highlight).render(payload, score)
