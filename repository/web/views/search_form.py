"""The search page's form (``_search_form.html``: the box, the advanced fields and the sort), rendered once per
language and script root and then filled with this request's values.

The form cost the page some forty template calls (a translation and a value per field, per sort option) and a
hundred printed pieces. What it shows depends only on the language, on the script root (its action) and on the
search's own parameters; the partial is rendered with a mark in each place a parameter goes (the query and
each advanced field's value, the advanced section's ``open``, each sort option's ``selected``), and each
request fills them in, its values escaped as autoescape escapes them (a test compares with the partial
rendered for each request).
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import current_app, request
from markupsafe import Markup

from ..escaping import escaped
from ..gateway import searching
from ..i18n import current_lang
from ..kept import kept

MARK = "\x00"  # around each place's name in the rendered partial (no catalogue text or URL holds it)
MAX_KEPT = 64  # languages x script roots
_OPEN, _SORT = "open", "sort:"


def context(values: Mapping[str, str], opened: str, selected: Mapping[str, str]) -> dict[str, object]:
    """The partial's own variables: each field's value, the details' ``open`` and each sort's ``selected``."""
    return {"values": values, "open": opened, "selected": selected, "advanced": searching.ADVANCED,
            "sorts": searching.SORTS}


def _marked() -> tuple[str, ...]:
    """The partial rendered with marks: its fixed text and the places' names, alternating."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    marks = context({k: Markup(f"{MARK}{k}{MARK}") for k in ("q", *searching.ADVANCED)}, Markup(f"{MARK}{_OPEN}{MARK}"),
                    {s: Markup(f"{MARK}{_SORT}{s}{MARK}") for s in searching.SORTS})
    app.update_template_context(marks)
    return tuple(app.jinja_env.get_template("_search_form.html").render(marks).split(MARK))


def search_form(args: Mapping[str, str]) -> Markup:
    """The form with the search ``args`` in it (as the partial prints them)."""
    parts = kept(current_app, "hsar.search_form", (current_lang(), request.script_root), _marked, MAX_KEPT)
    sort = args.get("sort", "relevance")
    opened = any(k in args for k in searching.ADVANCED)
    out = []
    for i, part in enumerate(parts):
        if not i % 2:
            out.append(part)
        elif part == _OPEN:
            out.append(" open" if opened else "")
        elif part.startswith(_SORT):
            out.append(" selected" if part[len(_SORT):] == sort else "")
        else:
            out.append(escaped(args.get(part, "")))
    return Markup("".join(out))
