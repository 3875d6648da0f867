"""Render a hit from its stored payload: matching items, paper volumes and highlights, the same for both engines.

Highlighting is done here rather than by each engine, so Whoosh and Tantivy return the same fragments: the
query's words are found (case- and width-insensitively) in the stored title, names, identifiers, addresses,
item titles and item text, and wrapped in ``<em>…</em>`` in an HTML-escaped fragment.

A search renders its page of hits with one :class:`Renderer`: what depends only on the query (the compiled
word and identifier patterns, the item conditions) is worked out once for the page, not once per hit. Each hit's
texts are normalised and scanned once, joined (:meth:`Renderer._joined`); a hit whose texts could not be joined
without changing a match (a normal form of another length, say) is scanned text by text, with the same result.
"""

from __future__ import annotations

import html
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from functools import lru_cache
from itertools import accumulate
from typing import Any

import orjson

from .. import filerefs
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


#: joins a hit's texts for one normalisation and one pattern scan (:meth:`Renderer._joined`): a character NFKC
#: and lower-casing leave alone and never combine with a neighbour, so the joined text's normal form is its
#: parts' normal forms joined, and a match never crosses it
_SEP = "\x00"
_SIGMA = "\u03a3"  # the one character whose lower case depends on its neighbours (final sigma)


def _aligned_normal(texts: list[str]) -> str | None:
    """The normal form of ``texts`` joined by :data:`_SEP` when each text's normal form (:func:`_normalize`) is
    as long as the text, so a position in one is the same in the other; else None."""
    blob = _SEP.join(texts)
    if blob.isascii():
        return blob.lower() if blob.count(_SEP) == len(texts) - 1 else None
    if blob.count(_SEP) != len(texts) - 1 or _SIGMA in blob:
        return None
    text = blob
    for wide, narrow in _COMMON_WIDE:  # as _nfkc_lower: each replaced by the one character NFKC gives it
        if wide in text:
            text = text.replace(wide, narrow)
    if _FULL_WIDTH.search(text) is not None:
        text = _FULL_WIDTH.sub(_half, text)
    if unicodedata.is_normalized("NFKC", text):
        norm = text.lower()  # lower case never shortens a character: equal totals mean equal parts
        return norm if len(norm) == len(blob) else None
    norm = analysis.normalize(text)
    if len(norm) != len(blob) or list(map(len, norm.split(_SEP))) != list(map(len, texts)):
        return None
    return norm


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
    return _fragment(text, spans, width) if spans else None


def _fragment(text: str, spans: list[tuple[int, int]], width: int = FRAGMENT_CHARS) -> str:
    """The fragment of ``text`` around the first of its (non-empty, ordered) match ``spans``."""
    size = len(text)
    start = 0 if size <= width else max(0, min(spans[0][0] - width // 4, size - width))
    end = min(size, start + width)
    out = ["…"] if start else []
    pos = start
    window = text[start:end] if start or end < size else text
    if "&" in window or "<" in window or ">" in window:
        for s, e in spans:
            if s < pos or e > end:
                continue
            out += [_escape(text[pos:s], quote=False), "<em>", _escape(text[s:e], quote=False), "</em>"]
            pos = e
        out.append(_escape(text[pos:end], quote=False))
    else:  # nothing to escape (most texts)
        for s, e in spans:
            if s < pos or e > end:
                continue
            out += [text[pos:s], "<em>", text[s:e], "</em>"]
            pos = e
        out.append(text[pos:end])
    if end < size:
        out.append("…")
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
    """The scanned pages (``{"file", "page", "ref"}``) whose OCR text holds a match: from the item's ``ocr`` spans."""
    spans = item.get("ocr")
    if not spans or pattern is None:
        return []
    return pages_at(item["number"], spans, [s for s, _e in _spans(item.get("text", ""), pattern)])


def pages_at(number: int, spans: list[list[Any]], starts: list[int]) -> list[dict[str, Any]]:
    """The pages of the item ``number``'s ``ocr`` spans holding one of the match ``starts``: the file (its path, as
    the index keeps it: identity numbers masked), the page, and the file's reference (:mod:`repository.filerefs`,
    which a link must use: a path shown masked leads nowhere), absent in spans indexed before it was kept."""
    out = []
    for span in spans:
        if any(span[2] <= a < span[3] for a in starts):
            page = {"file": span[0], "page": span[1]}
            if len(span) > 4:
                page["ref"] = filerefs.ref(number, span[4])
            out.append(page)
    return out


def _hit_item(item: Mapping[str, Any], pattern: re.Pattern[str] | None) -> dict[str, Any]:
    out = {k: item[k] for k in _ITEM_KEYS}
    pages = found_on(item, pattern)
    if pages:
        out["found_on"] = pages
    return out


#: a stored item's keys, the hit's item keys and its text (and where its scanned pages are in the text)
_STORED_ITEM = frozenset((*_ITEM_KEYS, "text"))
_STORED_SCANNED = _STORED_ITEM | {"ocr"}


def _own_hit_item(item: dict[str, Any], pattern: re.Pattern[str] | None) -> dict[str, Any]:
    """:func:`_hit_item` of an item decoded for this hit alone: the item itself, its text dropped, when it holds
    the stored keys only (no copy)."""
    if item.keys() != _STORED_ITEM:
        return _hit_item(item, pattern)  # scanned pages to name, or keys of another shape
    del item["text"]
    return item


#: what the fast path joins with (the separator; the space and the semicolons of the texts it stands for):
#: a query word holding one of them could match across parts, so such a query takes the plain path
_JOINERS = (_SEP, " ", ";", "\uff1b")
_TEXTS = 6  # title, names, identity numbers, reference code, address, estate; then each item's title, subtype, text


class Renderer:
    """Renders the hits of one query (:class:`MatchSpec`): its patterns compiled once for the whole page."""

    def __init__(self, spec: MatchSpec, highlight: bool = True) -> None:
        self.spec, self.highlight = spec, highlight
        self.words = _pattern(spec.words)
        # the index holds identity numbers masked (see .idkeys): a number asked for lights up in its masked form
        self.ids = _pattern((*spec.words, *spec.keywords, *(mask_text(k) for k in spec.keywords)))
        self.joinable = self.words is not None and not any(j in w for w in spec.words for j in _JOINERS)

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

    def render(self, payload: str | bytes, score: float) -> Hit:
        """The :class:`Hit` of one stored payload; an item matched in a scanned page's OCR text names the page
        (``found_on``)."""
        data = orjson.loads(payload)
        joined = self._joined(data) if self.joinable else None
        if joined is None:
            pattern = self.words
            matched = matching_items(data["items"], self.spec, pattern)
            highlights = self.highlights(data, matched) if self.highlight else {}
            items = tuple(_own_hit_item(i, pattern) for i in matched)
        else:
            items, highlights = joined
        return Hit(archive_id=data["id"], title=data["title"], division=data["division"], items=items,
                   paper=tuple(data["paper"]), highlights=highlights, score=float(score), type=data["type"],
                   version=data["version"])

    def _joined(self, data: Mapping[str, Any]) -> tuple[tuple[dict[str, Any], ...], dict[str, str]] | None:
        """What :meth:`render` gives (items, highlights) from one normalisation and one scan of the hit's word
        texts joined, instead of one per text and item; None (the plain path) when a text's normal form
        differs in length (then matches are mapped back per character) or the join could change a text.
        ``data`` is the hit's own decoded payload: its matching items become the hit's (their texts dropped)."""
        items = data["items"]
        texts = [data["title"], "、".join(data["names"]), "、".join(data["ids"]), data["ref"], data["address"],
                 data["estate"]]
        for i in items:
            texts += (i["title"], i["subtype"], i.get("text", ""))
        norm = _aligned_normal(texts)
        if norm is None:
            return None
        # where each text ends in the joined text (after its separator): a match in text k starts before ends[k]
        ends = list(accumulate([len(t) + 1 for t in texts]))
        found: dict[int, list[tuple[int, int]]] = {}
        for m in self.words.finditer(norm):  # type: ignore[union-attr]  # joinable: words is a pattern
            s, e = m.span()
            k = bisect_right(ends, s)  # no word holds the separator: a match lies inside one text
            base = ends[k - 1] if k else 0
            if k in found:
                found[k].append((s - base, e - base))
            else:
                found[k] = [(s - base, e - base)]
        spec = self.spec
        worded = {(k - _TEXTS) // 3 for k in found if k >= _TEXTS}
        if spec.item_conditions:
            candidates = [j for j in range(len(items)) if _item_ok(items[j], spec)]
            matched = [j for j in candidates if j in worded] or candidates
        else:
            matched = sorted(worded)
        out = []
        lit = self._lit(data, items, matched, texts, found) if self.highlight else {}
        for j in matched:
            item = items[j]
            ocr = item.get("ocr")
            if item.keys() == _STORED_ITEM or item.keys() == _STORED_SCANNED:  # decoded for this hit alone: its own
                del item["text"]
                item.pop("ocr", None)
                hit_item = item
            else:
                hit_item = {k: item[k] for k in _ITEM_KEYS}
            if ocr:
                at = [s for s, _e in found.get(_TEXTS + 3 * j + 2, ())]
                pages = pages_at(item["number"], ocr, at)
                if pages:
                    hit_item["found_on"] = pages
            out.append(hit_item)
        return tuple(out), lit

    def _lit(self, data: Mapping[str, Any], items: list[dict[str, Any]], matched: list[int], texts: list[str],
             found: dict[int, list[tuple[int, int]]]) -> dict[str, str]:
        """:meth:`highlights` from the joined scan's matches (``found``: text number -> its spans)."""
        out: dict[str, str] = {}
        same = self.ids is self.words  # no identifier asked for: the scan's matches are the identifiers' too
        for key, k in (("title", 0), ("name", 1), ("resident_id", 2), ("ref", 3), ("address", 4), ("estate", 5)):
            if k in (2, 3) and not same:
                f = fragment(texts[k], self.ids)
                if f is not None:
                    out[key] = f
            elif k in found:
                out[key] = _fragment(texts[k], found[k])
        if any(_TEXTS + 3 * j in found for j in matched):
            spans, at, titles = [], 0, []
            for j in matched:
                title = texts[_TEXTS + 3 * j]
                if _TEXTS + 3 * j in found:
                    spans += [(s + at, e + at) for s, e in found[_TEXTS + 3 * j]]
                at += len(title) + 1
                titles.append(title)
            out["item_title"] = _fragment("；".join(titles), spans)
        for j in matched:
            k = _TEXTS + 3 * j + 2
            if k in found:
                out["text"] = _fragment(texts[k], found[k])
                break
        return out


def render(payload: str | bytes, score: float, spec: MatchSpec, highlight: bool = True) -> Hit:
    """The :class:`Hit` of one stored payload (one hit; a page of them: :class:`Renderer`)."""
    return Renderer(spec, highlight).render(payload, score)
