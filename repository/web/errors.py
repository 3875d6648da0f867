"""Error pages: every refusal a person sees has a stable code and a message in their language, never a
traceback (bad HTTP input is answered, not crashed on)."""

from __future__ import annotations

from typing import NoReturn

from flask import Flask, abort, has_request_context, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..errors import HsarError, UsageError
from .forms import UnreadableForm
from .i18n import size, t

#: HTTP status -> (stable code, message key)
PAGES = {
    400: ("WEB-BAD-REQUEST", "web.error.bad_request"),
    403: ("WEB-FORBIDDEN", "web.error.forbidden"),
    404: ("WEB-NOT-FOUND", "web.error.not_found"),
    405: ("WEB-METHOD", "web.error.method"),
    413: ("WEB-TOO-LARGE", "web.error.too_large"),
    429: ("WEB-THROTTLED", "web.error.throttled"),
    500: ("WEB-INTERNAL", "web.error.internal"),
}


def error_page(status: int, code: str | None = None, message: str | None = None) -> tuple[str, int]:
    default_code, key = PAGES.get(status, PAGES[500] if status >= 500 else PAGES[400])
    return render_template("error.html", status=status, code=code or default_code,
                           message=message or t(key)), status


def withheld() -> NoReturn:
    """403 for a restricted archive's contents a researcher sees as a catalogue entry only (the generic 403
    text names no reason: it is also the answer of pages a role may not open at all)."""
    abort(make_response(error_page(403, message=t("web_review.error.withheld"))))


def _http(exc: HTTPException) -> tuple[str, int]:
    if exc.code == 413:  # name the limit the request went over (an upload's: the ingest or register form's)
        limit = request.max_content_length if has_request_context() else None
        if limit:
            return error_page(413, message=t("web_review.error.too_large", limit=size(limit)))
    return error_page(exc.code or 500)


def _csrf(exc: CSRFError) -> tuple[str, int]:
    return error_page(400, "WEB-CSRF", t("web.error.csrf"))


def _unreadable(exc: UnreadableForm) -> tuple[str, int]:
    return error_page(400, "WEB-FORM", t("web.error.form_unreadable"))


def _hsar(exc: HsarError) -> tuple[str, int]:
    from .i18n import current_lang

    return error_page(400 if isinstance(exc, UsageError) else 500, exc.code, exc.render(current_lang()))


def _unexpected(exc: Exception) -> tuple[str, int]:
    from flask import current_app

    current_app.logger.exception("unexpected error")
    return error_page(500)


def install(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf)
    app.register_error_handler(UnreadableForm, _unreadable)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(HsarError, _hsar)
    app.register_error_handler(Exception, _unexpected)
