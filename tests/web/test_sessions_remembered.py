"""A verified session cookie is remembered (repository/web/sessions.py) and answered exactly as verifying it
again would: the same data, a copy no request's change reaches back through; a forged, damaged, foreign-key
or expired cookie is refused as Flask refuses it, remembered or not."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, session

from repository.web import create_app
from repository.web.sessions import RememberingSessionInterface


def _app(web_home, key: str = "test") -> Flask:
    app = create_app(web_home, {"TESTING": True, "SECRET_KEY": key})
    app._got_first_request = False  # noqa: SLF001 - routes for the test only

    @app.route("/_set")
    def set_() -> str:
        session["seen"] = {"a": 1}
        session["lang"] = "en"
        return "ok"

    @app.route("/_get")
    def get_() -> str:
        shown = repr((sorted(session.get("seen", {}).items()), session.get("lang")))
        seen = session.get("seen") or {}
        seen["b"] = 2  # a change to a nested value, never saved: must not reach the next request
        return shown

    return app


def _cookie(client) -> str:
    return client.get_cookie("session").value


def test_a_remembered_cookie_gives_the_same_data_every_time(web_home) -> None:
    app = _app(web_home)
    assert isinstance(app.session_interface, RememberingSessionInterface)
    client = app.test_client()
    client.get("/_set")
    answers = {client.get("/_get").get_data(as_text=True) for _ in range(3)}
    assert answers == {"([('a', 1)], 'en')"}  # the first verified it, the others were remembered
    assert len(app.session_interface._kept) == 1  # noqa: SLF001


def test_forged_foreign_and_expired_cookies_are_refused(web_home) -> None:
    app = _app(web_home)
    client = app.test_client()
    client.get("/_set")
    good = _cookie(client)
    client.get("/_get")  # remembered now
    empty = "([], None)"
    for bad in (good[:-2] + ("AA" if not good.endswith("AA") else "BB"), good.replace(".", "x", 1), "garbage"):
        other = app.test_client()
        other.set_cookie("session", bad)
        assert other.get("/_get").get_data(as_text=True) == empty
    foreign = _app(web_home, key="another key").test_client()
    foreign.set_cookie("session", good)
    assert foreign.get("/_get").get_data(as_text=True) == empty
    app.permanent_session_lifetime = timedelta(seconds=-1)  # every cookie now older than the lifetime
    again = app.test_client()
    again.set_cookie("session", good)
    assert again.get("/_get").get_data(as_text=True) == empty
    assert all(k[0] != bad for k in app.session_interface._kept)  # noqa: SLF001 - refused ones never kept


def test_signed_in_pages_work_through_it(login) -> None:
    client = login("admin")
    assert all(client.get("/search").status_code == 200 for _ in range(3))


def test_a_request_without_a_cookie_gets_the_empty_session_flask_gives(web_home, monkeypatch) -> None:
    app = _app(web_home)
    built = []
    real = RememberingSessionInterface.get_signing_serializer
    monkeypatch.setattr(RememberingSessionInterface, "get_signing_serializer",
                        lambda self, a: built.append(1) or real(self, a))
    client = app.test_client()
    assert client.get("/_get").get_data(as_text=True) == "([], None)"
    assert built == []  # no cookie: no signing serializer made to open it
    opened = app.session_interface.open_session(app, app.test_request_context("/").request)
    flask_own = super(RememberingSessionInterface, app.session_interface).open_session(
        app, app.test_request_context("/").request)
    assert type(opened) is type(flask_own) and dict(opened) == dict(flask_own) == {} and not opened.modified
    client.get("/_set")  # and a session started without a cookie is written as before
    assert client.get("/_get").get_data(as_text=True) == "([('a', 1)], 'en')"
