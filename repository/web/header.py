"""The header of every page (``_header.html``: the brand, the navigation a user's role may use, the user's
name and role, the logout and language forms), made once per language, user, script root and kind of request
(GET or not) and then printed with this request's CSRF token and path filled in.

Printed by ``base.html`` on every page, the header cost some forty template calls (translations, links,
permission checks, the user's name and role): about a fifth of the archive page's template. What it shows
depends only on the key above: the navigation on the user's role (:func:`repository.access.may`), the
texts on the language, the links on the script root; the CSRF token and the ``next`` path change per request
and are put in at two marked places, escaped as autoescape escapes them (a test compares with the header
the template prints for each role and language).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from .i18n import current_lang
from .kept import kept

#: the places of the per-request values in a kept header (characters no escaped value contains)
CSRF, NEXT = "\x00hsar-csrf\x00", "\x00hsar-next\x00"
MAX_KEPT = 512  # languages x users x GET or not: a kept header per signed-in user of a process


def _key() -> tuple[Any, ...]:
    user = current_user
    if getattr(user, "is_authenticated", False):
        return current_lang(), request.script_root, request.method == "GET", user.get_id(), user.principal
    return current_lang(), request.script_root, request.method == "GET", None, None


def make(app: Flask) -> str:
    """The header for this request's key, with the two places marked (rendered by the template)."""
    context: dict[str, Any] = {"csrf": CSRF, "next_path": NEXT}
    app.update_template_context(context)
    return app.jinja_env.get_template("_header.html").render(context)


def page_header() -> Markup:
    """This request's header (the kept one of its key, its CSRF token and path put in)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = kept(app, "hsar.headers", _key(), lambda: make(app), MAX_KEPT)
    path = request.full_path if request.method == "GET" else ""
    return Markup(found.replace(CSRF, str(escape(generate_csrf()))).replace(NEXT, str(escape(path))))


def install(app: Flask) -> None:
    app.jinja_env.globals["page_header"] = page_header
