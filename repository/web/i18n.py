"""The user's language and localised values in pages: the ``t`` translation helper (around
:func:`repository.messages.text`), labels, Asia/Shanghai times and grouped numbers.

zh-CN is the default; a signed-in user's own language wins, then the language chosen in this session.
"""

from __future__ import annotations

import html

from flask import Flask, g, session
from flask_login import current_user
from markupsafe import Markup, escape

from .. import messages

ZONE = messages.LOCAL_ZONE


def current_lang() -> str:
    """The language of this request (worked out once per request: a page asks it for every text)."""
    found = g.get("hsar_lang")
    if found is None:
        if getattr(current_user, "is_authenticated", False):
            found = messages.normalise_lang(current_user.lang)
        else:
            found = messages.normalise_lang(session.get("lang"))
        g.hsar_lang = found
    return found


def t(key: str, **params: object) -> str:
    """The message ``key`` in the user's language."""
    return messages.text(key, current_lang(), **params)


#: label kinds of the pages kept under the shared label names of labels.json (one copy of each label)
SHARED_KINDS = {"web.security": "security_type"}


def label(kind: str, value: object) -> str:
    return messages.label(SHARED_KINDS.get(kind, kind), value, current_lang())


#: the one time formatter (Beijing time, no ``Z``), shared with the command line: :func:`messages.local_time`
local_time = messages.local_time


def number(value: int | float | None) -> str:
    """``12345`` -> ``12,345`` (grouping is the same in zh-CN and English)."""
    if value is None:
        return ""
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def size(value: int) -> str:
    """Bytes for people: ``1.2 MB``."""
    amount = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{int(amount)} {unit}" if unit == "B" else f"{amount:,.1f} {unit}"
        amount /= 1024
    return str(value)


def highlight(fragment: str) -> Markup:
    """A search fragment with only its ``<em>`` match marks kept as markup; everything else is escaped."""
    plain = html.unescape(fragment)
    return Markup(str(escape(plain)).replace("&lt;em&gt;", "<em>").replace("&lt;/em&gt;", "</em>"))


def _bound() -> dict[str, object]:
    """``t`` and ``label`` bound to this request's language, for the template being rendered (a context
    processor: worked out once per page, where the globals ask for the language on every text, a few
    hundred times on an archive page). Templates imported without context use the globals, which say the same."""
    lang = current_lang()
    texts = messages.catalogue()

    def bound_t(key: str, **params: object) -> str:
        return messages.text(key, lang, **params) if params else texts[key][lang]

    def bound_label(kind: str, value: object) -> str:
        return messages.label(SHARED_KINDS.get(kind, kind), value, lang)

    return {"t": bound_t, "label": bound_label}


def install(app: Flask) -> None:
    app.jinja_env.globals.update(t=t, label=label, current_lang=current_lang, langs=messages.LANGS)
    app.context_processor(_bound)
    app.jinja_env.filters.update(local_time=local_time, number=number, size=size, highlight=highlight)
