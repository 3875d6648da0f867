"""Flask's signed session cookie, each cookie value's verification remembered.

Every page request opens the session from its cookie: Flask builds a signing serializer, derives the key,
checks the HMAC, decompresses and decodes the JSON (about 0.15 ms of a 5 ms archive page). A browser sends
the same cookie value on request after request until the session changes, so a value verified once is
remembered here (per process, at most :data:`MAX_KEPT` values) with the data it held and the time it was
signed: the same value is answered with a fresh copy of that data while it is still within the session's
lifetime, exactly as verifying it again would (an expired value is refused, by the check Flask makes). A value
never verified (a forged or damaged cookie, or one signed with another key) is checked by Flask's own code
and is never remembered unless that check passes; the key is part of what is remembered, so a new
``SECRET_KEY`` verifies everything afresh. Writing the cookie is Flask's, unchanged.
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature

MAX_KEPT = 4096  # cookie values: one per session in use, a few hundred bytes each


class RememberingSessionInterface(SecureCookieSessionInterface):
    """Flask's :class:`SecureCookieSessionInterface`, a verified cookie value remembered."""

    def __init__(self) -> None:
        self._kept: dict[tuple[Any, ...], tuple[dict[str, Any], float]] = {}
        self._lock = threading.Lock()

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        value = request.cookies.get(self.get_cookie_name(app))
        if not app.secret_key:
            return super().open_session(app, request)
        if not value:  # no cookie (a bearer-token API call, a first visit): an empty session, as Flask's
            return self.session_class()  # would give once it had built its signing serializer for nothing
        max_age = int(app.permanent_session_lifetime.total_seconds())
        key = (value, app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        found = self._kept.get(key)
        if found is not None and 0 <= time.time() - found[1] <= max_age:
            return self.session_class(_copy(found[0]))
        signer = self.get_signing_serializer(app)
        if signer is None:
            return None
        try:
            data, signed = signer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        with self._lock:
            if len(self._kept) >= MAX_KEPT:
                self._kept.clear()
            self._kept[key] = (_copy(data), signed.timestamp())
        return self.session_class(data)


def _copy(data: dict[str, Any]) -> dict[str, Any]:
    """A copy no change to the session can reach back through (plain values shared, containers copied)."""
    if all(v is None or isinstance(v, str | int | float | bool) for v in data.values()):
        return dict(data)
    return copy.deepcopy(data)


def install(app: Flask) -> None:
    app.session_interface = RememberingSessionInterface()
