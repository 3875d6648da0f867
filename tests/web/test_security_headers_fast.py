"""The security headers are added as ``headers.setdefault`` added them, one by one, in the same order: a
header a view set itself is kept, every other one added; ``Cache-Control: no-store`` on HTML only."""

from __future__ import annotations

import pytest
from flask import Response

from repository.web import security


def _by_setdefault(response: Response) -> list[tuple[str, str]]:
    for name, value in security.HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return list(response.headers.items())


@pytest.mark.parametrize("mimetype", ["text/html", "application/json", "image/png"])
@pytest.mark.parametrize("own", [{}, {"x-frame-options": "DENY"}, {"Cache-Control": "private, no-store"},
                                 {"Content-Security-Policy": "default-src 'none'", "Referrer-Policy": "no-referrer"}])
def test_the_headers_are_those_setdefault_gave(mimetype: str, own: dict[str, str]) -> None:
    made = [Response("x", mimetype=mimetype, headers=own) for _ in range(2)]
    assert list(security._headers(made[0]).headers.items()) == _by_setdefault(made[1])


def test_pages_carry_them(login) -> None:
    response = login("admin").get("/search")
    assert response.headers["Content-Security-Policy"] == security.CSP
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Frame-Options"] == "SAMEORIGIN"
