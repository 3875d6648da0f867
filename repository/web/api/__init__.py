"""The JSON API ``/api/v1/…``: bearer tokens (``hsar user token``), or a signed-in browser session for GETs.

Built from one table (:mod:`.spec`): each row is a route, its view (:mod:`.views`, same name) and its part of
the OpenAPI document at ``/api/v1/openapi.json``. Every refusal is JSON ``{"error": {"code", "message"}}``
in the caller's language (the token user's, else the browser's), never a traceback and never HTML. CSRF
does not apply: a state-changing request must carry a bearer token (a cookie alone is refused, 401).
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, g, jsonify, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from ... import messages
from ..context import repo
from ..forms import UnreadableForm
from . import spec, uploads, views
from .adapters import Caller, Refused, token_caller

bp = Blueprint("api", __name__, url_prefix=spec.PREFIX)

#: HTTP status -> (code, message key) for refusals raised by Flask or Werkzeug
HTTP = {400: ("API-BAD-REQUEST", "api.bad_request"), 401: ("API-UNAUTHORIZED", "api.unauthorized"),
        403: ("API-FORBIDDEN", "api.forbidden"), 404: ("API-NOT-FOUND", "api.not_found"),
        405: ("API-METHOD", "api.method"), 413: ("API-TOO-LARGE", "api.too_large"),
        429: ("API-THROTTLED", "api.throttled"), 500: ("API-INTERNAL", "api.internal")}


def _lang() -> str:
    caller = g.get("api_caller")
    if caller is not None:
        return messages.normalise_lang(caller.lang)
    return messages.normalise_lang(request.accept_languages.best_match(messages.LANGS))


def error(status: int, code: str, message: str) -> tuple[Response, int]:
    response = jsonify({"error": {"code": code, "message": message}})
    response.headers["Cache-Control"] = "no-store"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="hsar"'
    return response, status


def _refused(exc: Refused) -> tuple[Response, int]:
    text = exc.params.get("text") if not exc.key else messages.text(exc.key, _lang(), **exc.params)
    return error(exc.status, exc.code, str(text))


def _http(exc: HTTPException) -> tuple[Response, int]:
    status = exc.code or 500
    code, key = HTTP.get(status, HTTP[500] if status >= 500 else HTTP[400])
    return error(status, code, messages.text(key, _lang()))


def _unreadable(exc: UnreadableForm) -> tuple[Response, int]:
    return error(400, "API-FORM", messages.text("api.form_unreadable", _lang()))


def _unexpected(exc: Exception) -> tuple[Response, int]:
    from flask import current_app

    current_app.logger.exception("unexpected error in the API")
    return error(500, "API-INTERNAL", messages.text("api.internal", _lang()))


def _authenticate() -> None:
    """Who calls: a bearer token, else (GET only) the signed-in session; otherwise 401."""
    endpoint = (request.endpoint or "").removeprefix("api.")
    route = spec.BY_NAME.get(endpoint)
    if route is not None and not route.auth:
        return
    header = request.headers.get("Authorization")
    caller: Caller | None = None
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            caller = token_caller(repo(), token.strip())
    elif request.method in ("GET", "HEAD") and getattr(current_user, "is_authenticated", False):
        caller = Caller(current_user.principal, current_user.lang, False)
    if caller is None:
        raise Refused(401, "API-UNAUTHORIZED", "api.unauthorized")
    g.api_caller = caller
    g.hsar_lang = messages.normalise_lang(caller.lang)  # the pages' texts and labels, in the caller's language


def _build() -> None:
    for route in spec.ROUTES:
        bp.add_url_rule(route.rule, route.name, getattr(views, route.name), methods=[route.method])
    bp.before_request(_authenticate)
    bp.register_error_handler(Refused, _refused)
    bp.register_error_handler(UnreadableForm, _unreadable)  # before HTTPException's: its own code
    bp.register_error_handler(HTTPException, _http)
    bp.register_error_handler(Exception, _unexpected)


_build()


def install(app: Flask) -> None:
    """Register the API; its routing errors (unknown path, wrong method) answer JSON too."""
    from flask_wtf.csrf import CSRFProtect

    from ..errors import _http as page_error

    app.register_blueprint(bp)
    app.before_request_funcs.setdefault(None, []).insert(0, uploads.upload_limit)  # before any form is read
    csrf = app.extensions.get("csrf")
    if isinstance(csrf, CSRFProtect):
        csrf.exempt(bp)  # cookies are not accepted for state-changing API requests (see _authenticate)

    def routing(exc: HTTPException) -> tuple[Response | str, int]:
        if request.path == spec.PREFIX or request.path.startswith(spec.PREFIX + "/"):
            return _http(exc)
        return page_error(exc)

    app.register_error_handler(HTTPException, routing)
