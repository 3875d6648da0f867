"""Every page's header, kept per language, user and kind of request (repository/web/header.py), is the
header the template prints for this request: each role's navigation, both languages, the request's own CSRF
token and path (escaped), signed in or not, GET or POST."""

from __future__ import annotations

import re

import pytest
from flask import Flask, request
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from repository.web import header


@pytest.fixture
def checked(app: Flask) -> list[str]:
    """Each header printed, after checking it against the template rendered for this request."""
    seen: list[str] = []

    def page_header():
        got = str(header.page_header())
        context = {"csrf": generate_csrf(), "next_path": request.full_path if request.method == "GET" else ""}
        app.update_template_context(context)
        assert got == app.jinja_env.get_template("_header.html").render(context)
        seen.append(got)
        return Markup(got)

    app.jinja_env.globals["page_header"] = page_header
    return seen


@pytest.mark.parametrize("username", ["admin", "xuanwu", "reader", "auditor"])
def test_the_kept_header_is_the_templates(app, login, wh, checked, username) -> None:
    client = login(username)
    ours: list[str] = []  # the headers of the four pages in each language (not of the login and token pages)
    for lang in ("en", "zh"):  # zh last: the account's language is left as it was
        client.post("/lang", data={"lang": lang, "csrf_token": wh.csrf_token(client, "/search")})
        for path in ("/search", "/search?q=%3Cb%3E%26%22x%22&year=2024", "/stats", "/search?q=a&page=2"):
            start = len(checked)
            assert client.get(path).status_code == 200
            ours += checked[start:]
    checked = ours
    assert len(checked) >= 8 and all(f"<span class=\"who\">{username} · " in h for h in checked)
    assert any("next\" value=\"/search?q=%3Cb%3E%26%22x%22&amp;year=2024\"" in h for h in checked)
    assert len({h for h in checked}) == len(checked)  # a fresh token or path in each
    assert len(checked) == 8 and len({re.sub(r'value="[^"]*"', "", h) for h in checked}) == 2  # one per language


def test_signed_out_and_posted_pages(app, checked) -> None:
    client = app.test_client()
    assert client.get("/login?next=/x%3Cy").status_code == 200
    bad = client.post("/login", data={"username": "nobody", "password": "x", "csrf_token": generate_token(client)})
    assert bad.status_code in (200, 400, 401)
    assert checked and all('class="who"' not in h for h in checked)
    assert any('name="next" value=""' in h for h in checked)  # the POST's header: no path


def generate_token(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
