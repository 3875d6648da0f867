"""The search page: one box, advanced fields, facets (division names, rolled up the tree), highlights,
paper references on every hit, paging and sort; the URL carries the whole search, so it can be shared."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_login import login_required

from ... import access
from ...errors import SearchError, SearchRequestError
from ...services.index_check import check_index
from ..context import principal, repo
from ..errors import error_page
from ..gateway import searching
from ..i18n import current_lang

bp = Blueprint("search", __name__)

MAX_QUERY = 500


def _page(raw: str | None) -> int | None:
    if raw in (None, ""):
        return 1
    return int(raw) if raw.isdigit() and 0 < int(raw) < 10_000 else None


def _args() -> dict[str, str]:
    """The search's own parameters from the URL (others are dropped from links)."""
    keep = ("q", "sort", *searching.ADVANCED)
    return {k: v[:MAX_QUERY] for k in keep if (v := request.args.get(k, "").strip())}


@bp.route("/search")
@login_required
def search() -> str | tuple[str, int]:
    page = _page(request.args.get("page"))
    args = _args()
    if page is None or any(len(request.args.get(k, "")) > MAX_QUERY for k in args):
        return error_page(400, "WEB-SEARCH-INPUT")
    fields = {k: v for k, v in args.items() if k in searching.ADVANCED}

    def link(**changes: str | int | None) -> str:
        merged = {**args, "page": page, **changes}
        params: dict[str, Any] = {k: v for k, v in merged.items()
                                  if v not in (None, "") and not (k == "page" and v == 1)}
        return url_for("search.search", **params)

    try:
        behind = check_index(repo(), national=access.scope_division(principal()) is None)  # as `hsar search`
        found = searching.search(repo(), principal(), args.get("q", ""), fields, args.get("sort"), page)
    except SearchError as exc:  # a bad request (400), or an index that cannot answer (SEARCH-STALE: 503)
        return render_template("search.html", args=args, found=None, link=link, page=page,
                               sorts=searching.SORTS, advanced=searching.ADVANCED,
                               error=exc.render(current_lang()), code=exc.code
                               ), 400 if isinstance(exc, SearchRequestError) else 503
    return render_template("search.html", args=args, found=found, link=link, page=page, sorts=searching.SORTS,
                           advanced=searching.ADVANCED, error=None, code=None,
                           behind=behind.text(current_lang()) if behind else None)
