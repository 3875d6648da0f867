"""The search page: one box, advanced fields, facets (division names, rolled up the tree), highlights,
paper references on every hit, paging and sort; the URL carries the whole search, so it can be shared.

The page's rows (facet links and labels, the labels of hits) are worked out here in one pass and handed to
the template ready to print: a page of 20 hits and some hundred facet values would otherwise call the
translation and URL helpers from the template for every one of them (most of the page's time)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, render_template, request, url_for
from flask_login import login_required

from ... import access, messages
from ...errors import SearchError, SearchRequestError
from ...services.index_check import check_index
from .. import i18n
from ..context import principal, repo
from ..errors import error_page
from ..gateway import searching

bp = Blueprint("search", __name__)

MAX_QUERY = 500
#: the characters werkzeug's URL builder leaves unescaped in a query string (``werkzeug.urls._urlencode``)
_SAFE = "!$'()*,/:;?@"
PAPER_KEYS = ("reference_code", "catalogue", "volume", "original_volume", "box", "shelf", "items")


def _page(raw: str | None) -> int | None:
    if raw in (None, ""):
        return 1
    return int(raw) if raw.isdigit() and 0 < int(raw) < 10_000 else None


def _args() -> dict[str, str]:
    """The search's own parameters from the URL (others are dropped from links)."""
    keep = ("q", "sort", *searching.ADVANCED)
    return {k: v[:MAX_QUERY] for k in keep if (v := request.args.get(k, "").strip())}


def query_link(base: str, args: Mapping[str, str], page: int, changes: Mapping[str, str | int | None]) -> str:
    """``url_for("search.search", **params)`` of the search ``args`` at ``page`` with ``changes`` (page 1 left
    out), built as werkzeug builds it (same order and escaping) from the page's own URL ``base``."""
    merged = {**args, "page": page, **changes}
    items = [(k, v) for k, v in merged.items() if v not in (None, "") and not (k == "page" and v == 1)]
    return f"{base}?{urlencode(items, safe=_SAFE)}" if items else base


def facet_links(base: str, args: Mapping[str, str], name: str) -> Callable[[str], str]:
    """``value -> query_link(base, args, page, {name: value, "page": 1})`` for one facet, its other
    parameters encoded once (a facet may list hundreds of values)."""
    pairs = [(k, urlencode([(k, v)], safe=_SAFE)) for k, v in args.items() if v not in (None, "")]
    keys = [k for k, _ in pairs]
    at = keys.index(name) if name in keys else len(keys)  # a new parameter goes last ("page" 1 is left out)
    before = [p for _, p in pairs[:at]]
    after = [p for _, p in pairs[at + 1:]]

    def link(value: str) -> str:
        parts = [*before, urlencode([(name, value)], safe=_SAFE), *after] if value not in (None, "") else [
            *before, *after]
        return f"{base}?{'&'.join(parts)}" if parts else base

    return link


def facet_rows(found: searching.SearchPage, base: str,
               args: Mapping[str, str]) -> list[tuple[str, list[tuple[int, str, str, str]]]]:
    """Per facet with values: its title and, per value, (indent depth, link, label, count)."""
    lang = i18n.current_lang()
    number = i18n.number
    rows = []
    for name, values in found.facets.items():
        if not values:
            continue
        link = facet_links(base, args, name)
        if name == "division":
            names = found.division_names
            shown = [(min(v.depth, 4), link(v.value), names.get(v.value, v.value), number(v.count)) for v in values]
        else:
            kind = i18n.SHARED_KINDS.get("web." + name, "web." + name)
            shown = [(min(v.depth, 4), link(v.value), messages.label(kind, v.value, lang), number(v.count))
                     for v in values]
        rows.append((i18n.t("web.field." + name), shown))
    return rows


def hit_rows(found: searching.SearchPage, labels: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Per hit: the hit, its link, its type's label, its division's name, per paper volume its (label, value)
    pairs, and (link, text) of each scanned page its words were found on."""
    lang = i18n.current_lang()
    names = found.division_names
    paper_labels = labels["paper"]
    rows = []
    for hit in found.result.hits:
        papers = [[(paper_labels[k], ", ".join(map(str, p[k])) if k == "items" else p[k])
                   for k in PAPER_KEYS if p.get(k) not in (None, "", [])] for p in hit.paper]
        pages = [(url_for("archives.viewer", archive_id=hit.archive_id, path=f["file"],
                          page=f["page"] if f["file"].lower().endswith((".tif", ".tiff")) else None),
                  messages.text("ocr.hit.page", lang, file=f["file"].rsplit("/", 1)[-1], page=f["page"]))
                 for item in hit.items for f in item.get("found_on", [])]
        rows.append((hit, url_for("archives.show", archive_id=hit.archive_id),
                     messages.label(i18n.SHARED_KINDS.get("web.type", "web.type"), hit.type, lang),
                     names.get(hit.division, hit.division), papers, pages))
    return rows


@bp.route("/search")
@login_required
def search() -> str | tuple[str, int]:
    page = _page(request.args.get("page"))
    args = _args()
    if page is None or any(len(request.args.get(k, "")) > MAX_QUERY for k in args):
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
                               sorts=searching.SORTS, advanced=searching.ADVANCED,
                               error=exc.render(i18n.current_lang()), code=exc.code
                               ), 400 if isinstance(exc, SearchRequestError) else 503
    labels = {"paper": {k: i18n.t("web.paper." + k) for k in PAPER_KEYS}, "paper_title": i18n.t("web.paper.title"),
              "highlight": {k: i18n.t("web.highlight." + k) for h in found.result.hits for k in h.highlights}}
    return render_template("search.html", args=args, found=found, link=link, page=page, sorts=searching.SORTS,
                           advanced=searching.ADVANCED, error=None, code=None,
                           facet_rows=facet_rows(found, base, args), hit_rows=hit_rows(found, labels), labels=labels,
                           behind=behind.text(i18n.current_lang()) if behind else None)
