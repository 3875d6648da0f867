"""Security of the web application: session cookies, CSRF on every form (Flask-WTF), login throttling
(Flask-Limiter, in-memory by default) and response headers (Content-Security-Policy without inline script,
frame-ancestors, nosniff, Referrer-Policy …)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'self'; "
       "frame-src 'self'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'")

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


_NAMES = [(name.lower(), name, value) for name, value in HEADERS.items()]


def _headers(response: Response) -> Response:
    """Each header of :data:`HEADERS` a view did not set itself (as ``headers.setdefault`` would, in the same
    order; the names present looked up once: werkzeug's ``setdefault`` raised and caught a KeyError per
    missing header, seven per page)."""
    headers = response.headers
    present = {key.lower() for key, _ in headers.items()}
    missing = [(name, value) for key, name, value in _NAMES if key not in present]
    if response.mimetype == "text/html" and "cache-control" not in present:
        missing.append(("Cache-Control", "no-store"))
    if missing:
        headers.extend(missing)
    return response


def _hsts(response: Response) -> Response:
    response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def _referrer_readable() -> None:
    """An HTTPS form post must name its page in ``Referer`` (Flask-WTF's strict check); one that cannot be read
    as a URL (``https://[::1/``) is a refused form, as a missing one is (400 ``WEB-CSRF``), not an error."""
    if request.method in ("GET", "HEAD", "OPTIONS", "TRACE") or not request.is_secure or request.blueprint == "api":
        return  # (the JSON API takes no form and is exempt from the CSRF check)
    referrer = request.headers.get("Referer")
    if referrer is None:
        return
    try:
        parts = urlsplit(referrer)
        _ = parts.hostname, parts.port
    except ValueError:
        raise CSRFError("The referrer header is malformed.") from None


def install(app: Flask) -> Limiter:
    """Cookies, CSRF, headers; returns the app's limiter (``limiter.limit`` a view after registering it)."""
    secure = bool(app.config.get("HSAR_HTTPS"))
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=secure,
                      REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax", REMEMBER_COOKIE_SECURE=secure)
    if secure:
        app.after_request(_hsts)
    app.before_request(_referrer_readable)  # before CSRFProtect's own check, which raises on such a header
    CSRFProtect(app)
    app.after_request(_headers)
    # where attempts are counted: each process's memory, or one Redis for every process and machine
    # (``web.throttle_url``), with each process's memory standing in while that Redis cannot be reached
    storage = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage, default_limits=[],
                      in_memory_fallback_enabled=not storage.startswith("memory://"))
    # No application, default or blueprint limits: the only limits are those a view is decorated with
    # (``limiter.limit``), which the decorator checks itself. The limiter's check before every request would
    # resolve an empty list of limits on each of them, so it is not run (unless a setting adds such limits).
    # A limit on a whole blueprint (``limiter.limit(bp)``) is checked there too: adding one needs this check.
    # Kept when a later Flask-Limiter names or installs its check otherwise: slower, never unthrottled.
    check = getattr(limiter, "_check_request_limit", None)
    hooks = app.before_request_funcs.get(None, [])
    if not any(app.config.get(k) for k in ("RATELIMIT_APPLICATION", "RATELIMIT_DEFAULT")) and check in hooks:
        hooks.remove(check)
    return limiter
