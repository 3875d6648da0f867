"""The search page: one box, advanced fields, facets (division names, rolled up the tree), highlights,
paper references on every hit, paging and sort; the URL carries the whole search, so it can be shared.

The page's rows (facet links and labels, the labels of hits) are worked out here in one pass and handed to
the template ready to print: a page of 20 hits and some hundred facet values would otherwise call the
translation and URL helpers from the template for every one of them (most of the page's time)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, render_template, request, url_for
from flask_login import login_required
from markupsafe import Markup

from ... import access, messages
from ...errors import SearchError, SearchRequestError
from ...services.index_check import check_index
from .. import i18n
from ..context import principal, repo
from ..errors import error_page
from ..escaping import escaped as _e
from ..escaping import escaped_text as text_e
from ..gateway import searching
from ..links import SEGMENT_SAFE
from .search_form import search_form

bp = Blueprint("search", __name__)

MAX_QUERY = 500
#: the characters werkzeug's URL builder leaves unescaped in a query string (``werkzeug.urls._urlencode``)
_SAFE = "!$'()*,/:;?@"


def _lit(fragment: str) -> str:
    """A highlight fragment as :func:`..i18n.highlight` prints it: only its ``<em>`` marks kept as markup."""
    if "&" not in fragment and '"' not in fragment and "'" not in fragment:
        marks = fragment.count("<em>") + fragment.count("</em>")
        if fragment.count("<") == marks and fragment.count(">") == marks:
            return fragment  # only marks and characters escaping leaves alone: printed as it is
    return _e(html.unescape(fragment)).replace("&lt;em&gt;", "<em>").replace("&lt;/em&gt;", "</em>")

PAPER_KEYS = ("reference_code", "catalogue", "volume", "original_volume", "box", "shelf", "items")


def _page(raw: str | None) -> int | None:
    if raw in (None, ""):
        return 1
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 10_000 else None


_KEEP = ("q", "sort", *searching.ADVANCED)


def _args() -> dict[str, str]:
    """The search's own parameters from the URL (others are dropped from links)."""
    given = request.args
    return {k: v[:MAX_QUERY] for k in _KEEP if (v := given.get(k, "").strip())}


def query_link(base: str, args: Mapping[str, str], page: int, changes: Mapping[str, str | int | None]) -> str:
    """``url_for("search.search", **params)`` of the search ``args`` at ``page`` with ``changes`` (page 1 left
    out), built as werkzeug builds it (same order and escaping) from the page's own URL ``base``."""
    merged = {**args, "page": page, **changes}
    items = [(k, v) for k, v in merged.items() if v not in (None, "") and not (k == "page" and v == 1)]
    return f"{base}?{urlencode(items, safe=_SAFE)}" if items else base


@lru_cache(maxsize=16_384)
def _pair(name: str, value: str) -> str:
    """``name=value`` encoded as werkzeug's URL builder encodes it (facet values repeat from page to page)."""
    return urlencode([(name, value)], safe=_SAFE)


@lru_cache(maxsize=16_384)
def _escaped_pair(name: str, value: str) -> str:
    """:func:`_pair` HTML-escaped, for a link in the page."""
    return _e(_pair(name, value))


def _encoded(args: Mapping[str, str]) -> list[tuple[str, str]]:
    """Each parameter of ``args`` with its encoded ``name=value`` pair."""
    return [(k, _pair(k, v)) for k, v in args.items() if v not in (None, "")]


def _around(args: Mapping[str, str], name: str,
            pairs: list[tuple[str, str]] | None = None) -> tuple[str, str]:
    """The encoded parameters of ``args`` (``pairs``: as :func:`_encoded` gives them) before and after the
    place of ``name`` in a facet's links."""
    pairs = _encoded(args) if pairs is None else pairs
    keys = [k for k, _ in pairs]
    at = keys.index(name) if name in keys else len(keys)  # a new parameter goes last ("page" 1 is left out)
    return "&".join(p for _, p in pairs[:at]), "&".join(p for _, p in pairs[at + 1:])


def facet_links(base: str, args: Mapping[str, str], name: str) -> Callable[[str], str]:
    """``value -> query_link(base, args, page, {name: value, "page": 1})`` for one facet, its other
    parameters encoded once (a facet may list hundreds of values)."""
    before, after = _around(args, name)

    def link(value: str) -> str:
        parts = [p for p in (before, _pair(name, value) if value not in (None, "") else "", after) if p]
        return f"{base}?{'&'.join(parts)}" if parts else base

    return link


@lru_cache(maxsize=16_384)
def _facet_value(name: str, value: str, text: str) -> tuple[str, str]:
    """A facet value's escaped query pair and its ``">label</a> <span class="count">`` (labels and values repeat
    from page to page)."""
    return _escaped_pair(name, value), f'">{_e(text)}</a> <span class="count">'


@lru_cache(maxsize=16_384)
def _facet_label(kind: str, value: str, lang: str) -> str:
    return messages.label(kind, value, lang)


def facet_rows(found: searching.SearchPage, base: str, args: Mapping[str, str]) -> list[tuple[str, Markup]]:
    """Per facet with values: its title and its list items (``<li>`` per value: indent depth, link, label and
    count), as HTML escaped here in one pass (a facet may list hundreds of values)."""
    lang = i18n.current_lang()
    texts = messages.catalogue()
    number = i18n.number
    pairs = _encoded(args)  # the search's own parameters, encoded once for every facet
    rows = []
    for name, values in found.facets.items():
        if not values:
            continue
        division = name == "division"
        names = found.division_names
        kind = i18n.SHARED_KINDS.get("web." + name, "web." + name)
        # a value's link is facet_links(...)(value): the facet's fixed prefix and suffix around the value's own
        # pair, each escaped apart (escaping goes character by character), the pair's escaped form remembered
        before, after = _around(args, name, pairs)
        prefix, suffix = _e(f"{base}?{before}&" if before else f"{base}?"), _e(f"&{after}" if after else "")
        items = []
        for v in values:
            value, count = v.value, v.count
            text = names.get(value, value) if division else _facet_label(kind, value, lang)
            if value:
                pair, label = _facet_value(name, value, text)
                href = prefix + pair + suffix
            else:
                href, label = _e(facet_links(base, args, name)(value)), f'">{_e(text)}</a> <span class="count">'
            items.append(f'<li class="depth-{v.depth if v.depth < 4 else 4}"><a href="{href}{label}'
                         f'{f"{count:,}" if type(count) is int else _e(number(count))}</span></li>')
        rows.append((texts["web.field." + name][lang], Markup("".join(items))))
    return rows


#: an archive id the converter leaves as it is and escaping too (no ``&``, ``'``, ``"``, ``<`` or ``>``)
_PLAIN_ID = re.compile(r"[A-Za-z0-9_.~!$()*+,/:;=@-]*")


def archive_links() -> Callable[[str], str]:
    """``archive_id -> url_for("archives.show", archive_id=archive_id)`` for the hits of one page: the URL
    built once, each id quoted as the route's converter quotes it (one URL per hit would cost more than the
    rest of its row)."""
    probe = url_for("archives.show", archive_id="0")
    prefix = probe[:-1]
    return lambda archive_id: prefix + quote(archive_id, safe=SEGMENT_SAFE)


@lru_cache(maxsize=8)
def _hit_labels(lang: str) -> tuple[tuple[tuple[str, str], ...], str, dict[str, str]]:
    """Per language, escaped: each paper key's label (a space after it), the paper title and the highlight
    fields' labels."""
    texts = messages.catalogue()
    paper = tuple((k, _e(texts["web.paper." + k][lang]) + " ") for k in PAPER_KEYS)
    lit = {k[len("web.highlight."):]: _e(v[lang]) for k, v in texts.items() if k.startswith("web.highlight.")}
    return paper, _e(texts["web.paper.title"][lang]), lit


@lru_cache(maxsize=64)
def _type_label(kind: str, value: str, lang: str) -> str:
    return _e(messages.label(kind, value, lang))


_EMPTY: tuple[object, ...] = (None, "", [])  # paper values not shown


def hit_rows(found: searching.SearchPage) -> list[Markup]:
    """Per hit, its ``<article>``: its link and title, its type's label, its division's name and id, per paper
    volume its labelled values, its highlights, and a link to each scanned page its words were found on; as
    HTML escaped here in one pass (the template prints it)."""
    lang = i18n.current_lang()
    names = found.division_names
    paper_labels, paper_title, lit = _hit_labels(lang)
    kind_of = i18n.SHARED_KINDS.get("web.type", "web.type")
    show = _e(archive_links()(""))
    plain_id = _PLAIN_ID.fullmatch
    divisions: dict[str, str] = {}
    rows = []
    for hit in found.result.hits:
        archive_id, division = hit.archive_id, hit.division
        if plain_id(archive_id):  # quoted and escaped as it is (most ids)
            href, shown_id = show + archive_id, archive_id
        else:
            href, shown_id = show + _e(quote(archive_id, safe=SEGMENT_SAFE)), _e(archive_id)
        where = divisions.get(division)
        if where is None:
            where = divisions[division] = _e(names.get(division, division))
        title = hit.title
        out = [f'<article class="hit"><h2><a href="{href}">{text_e(title) if type(title) is str else _e(title)}'
               '</a></h2><p class="meta">'
               f'{_type_label(kind_of, hit.type, lang)} · {where} · <code>{shown_id}</code></p>']
        for p in hit.paper:
            spans = []
            for k, label in paper_labels:
                value: Any = p.get(k)
                if value or value not in _EMPTY:  # (a true JSON value is none of them)
                    if k == "items":
                        value = ", ".join(map(str, value))
                    spans.append(f"<span>{label}{text_e(value) if type(value) is str else _e(value)}</span>")
            out.append(f'<p class="paper">{paper_title}: {"".join(spans)}</p>')
        if hit.highlights:
            out.append('<dl class="highlights">' + "".join(
                f"<dt>{lit[field]}</dt><dd>{_lit(fragment)}</dd>" for field, fragment in hit.highlights.items())
                + "</dl>")
        for item in hit.items:
            for f in item.get("found_on", ()):
                href = url_for("archives.viewer", archive_id=archive_id, path=f.get("ref") or f["file"],
                               page=f["page"] if f["file"].lower().endswith((".tif", ".tiff")) else None)
                text = messages.text("ocr.hit.page", lang, file=f["file"].rsplit("/", 1)[-1], page=f["page"])
                out.append(f'<p class="found-on"><a href="{_e(href)}">{_e(text)}</a></p>')
        out.append("</article>")
        rows.append(Markup("".join(out)))
    return rows


@bp.route("/search")
@login_required
def search() -> str | tuple[str, int]:
    given = request.args
    page = _page(given.get("page"))
    args = _args()
    if page is None or any(len(given.get(k, "")) > MAX_QUERY for k in args):
        return error_page(400, "WEB-SEARCH-INPUT")
    fields = {k: v for k, v in args.items() if k in searching.ADVANCED}
    base = url_for("search.search")

    def link(**changes: str | int | None) -> str:
        return query_link(base, args, page, changes)

    try:
        behind = check_index(repo(), national=access.scope_division(principal()) is None)  # as `hsar search`
        found = searching.search(repo(), principal(), args.get("q", ""), fields, args.get("sort"), page)
    except SearchError as exc:  # a bad request (400), or an index that cannot answer (SEARCH-STALE: 503)
        return render_template("search.html", args=args, found=None, link=link, page=page,
                               search_form=search_form(args),
                               error=exc.render(i18n.current_lang()), code=exc.code
                               ), 400 if isinstance(exc, SearchRequestError) else 503
    return render_template("search.html", args=args, found=found, link=link, page=page,
                           search_form=search_form(args), error=None, code=None,
                           facet_rows=facet_rows(found, base, args), hit_rows=hit_rows(found),
                           behind=behind.text(i18n.current_lang()) if behind else None)
