"""The purpose of use (利用目的) a user gives, for the access register: asked once per session (at sign-in
or on the purpose page the first time a use would be registered), shown on every archive page with a link
to change it, and passed with every register line the pages write. The API takes it per request
(``purpose`` parameter or ``X-HSAR-Purpose`` header).

A purpose is one of :data:`KINDS` (a short list) with an optional note; "other" needs the note. The register
keeps its Chinese label (the register's language) and the note: ``工作查考：复核2024年资格``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import login_required
from werkzeug.wrappers import Response

from .. import messages
from .links import local_target

KINDS = ("work", "review", "research", "legal", "other")
MAX_NOTE = 200
SESSION_KEY = "hsar_purpose"
HEADER = "X-HSAR-Purpose"

bp = Blueprint("purpose", __name__)
_View = TypeVar("_View", bound=Callable[..., Any])


def compose(kind: str | None, note: str | None) -> str | None:
    """The register's text for ``kind`` and ``note``; None when it is not a valid purpose."""
    note = " ".join((note or "").split())[:MAX_NOTE]
    if kind not in KINDS or (kind == "other" and not note):
        return None
    name = messages.text(f"web_more.purpose.kind.{kind}", "zh")
    return f"{name}：{note}" if note else name


@bp.app_template_filter("purpose_text")
def shown(value: str | None) -> str:
    """A register purpose in the reader's language: the register keeps a chosen kind by its Chinese label
    (``工作查考：复核``, or ``移交`` for a transfer), which an English page shows as ``work reference: 复核``;
    free text (the API's, an access copy's) is shown as written."""
    from .i18n import current_lang

    lang = current_lang()
    if not value or lang == "zh":
        return value or ""
    keys = [f"web_more.purpose.kind.{kind}" for kind in KINDS] + ["transfer.purpose"]
    for key in keys:
        name = messages.text(key, "zh")
        if value == name:
            return messages.text(key, lang)
        if value.startswith(name + "："):
            return f"{messages.text(key, lang)}: {value[len(name) + 1:]}"
    return value


def current() -> str | None:
    """The purpose of this session, if given."""
    value = session.get(SESSION_KEY)
    return value if isinstance(value, str) and value else None


def remember(kind: str | None, note: str | None) -> str | None:
    value = compose(kind, note)
    if value is not None:
        session[SESSION_KEY] = value
    return value


def from_api(args: Any, headers: Any) -> str | None:  # noqa: ANN401 - Werkzeug MultiDict / Headers
    """An API request's purpose: the ``purpose`` parameter, else the header (free text, trimmed; the header
    percent-encoded UTF-8 for Chinese, as HTTP headers carry Latin-1 only)."""
    from urllib.parse import unquote

    raw = args.get("purpose") or unquote(headers.get(HEADER) or "", errors="replace")
    value = " ".join(str(raw).split())[:MAX_NOTE]
    return value or None


def _safe(target: str | None) -> str:
    return local_target(target) or url_for("search.search")


def required(view: _View) -> _View:
    """A page that registers a use: without a purpose in the session, the purpose page comes first."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        if current() is None:
            return redirect(url_for("purpose.ask", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return cast(_View, wrapper)


@bp.route("/purpose", methods=["GET", "POST"])
@login_required
def ask() -> str | Response | tuple[str, int]:
    if request.method == "GET":
        return render_template("purpose.html", kinds=KINDS, next=request.args.get("next", ""), error=None,
                               chosen=None, note="")
    kind, note = request.form.get("purpose_kind"), request.form.get("purpose_note", "")
    if remember(kind, note) is None:
        return render_template("purpose.html", kinds=KINDS, next=request.form.get("next", ""),
                               error=messages.text("web_more.purpose.missing", _lang()), chosen=kind,
                               note=note[:MAX_NOTE]), 400
    return redirect(_safe(request.form.get("next")))


def _lang() -> str:
    from .i18n import current_lang

    return current_lang()


_Sent = TypeVar("_Sent", bound=Response)


def registered(response: _Sent, record: Callable[[], object]) -> _Sent:
    """``response`` (a file about to be sent) after its use is registered by ``record``, when it sends the
    file or part of it (200, 206): a 304, a refused range (416) or a ``HEAD`` sends nothing and registers
    nothing. The line
    is committed before any byte goes out; when it cannot be, the file is closed unsent and the error raised."""
    if response.status_code in (200, 206) and request.method != "HEAD":  # a HEAD is answered without the file
        try:
            record()
        except BaseException:
            response.close()
            raise
    return response
