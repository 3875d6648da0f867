"""Sign-in, CSRF, throttling, security headers, safe redirects and error pages without tracebacks."""

from __future__ import annotations

from pathlib import Path

from repository.accounts.users import add_user, get_user
from repository.config import load as load_config
from repository.state.db import open_state
from repository.web import create_app


def test_login_page_has_security_headers(app) -> None:
    response = app.test_client().get("/login")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "<script>" not in response.get_data(as_text=True)  # no inline script


def test_session_cookie_is_httponly_and_samesite(wh, app) -> None:
    client = app.test_client()
    response = client.post("/login", data={"username": "admin", "password": wh.PASSWORD,
                                           "csrf_token": wh.csrf_token(client)})
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_secure_cookies_when_behind_https(wh, web_home: Path) -> None:
    app = create_app(web_home, {"HSAR_HTTPS": True, "SECRET_KEY": "x"})
    client = app.test_client()
    response = client.post("/login", data={"username": "admin", "password": wh.PASSWORD,
                                           "csrf_token": wh.csrf_token(client)})
    assert "Secure" in response.headers.get("Set-Cookie", "")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_form_without_csrf_token_is_refused(wh, app) -> None:
    response = app.test_client().post("/login", data={"username": "admin", "password": wh.PASSWORD})
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "WEB-CSRF" in body and "Traceback" not in body


def test_logout_without_csrf_token_is_refused(login) -> None:
    client = login("admin")
    assert client.post("/logout").status_code == 400
    assert client.get("/search").status_code == 200  # still signed in


def test_wrong_password_and_unknown_user_look_the_same(wh, app) -> None:
    client = app.test_client()
    wrong = client.post("/login", data={"username": "admin", "password": "nope", "csrf_token": wh.csrf_token(client)})
    unknown = client.post("/login", data={"username": "ghost", "password": "nope",
                                          "csrf_token": wh.csrf_token(client)})
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码不正确" in wrong.get_data(as_text=True)
    assert client.get("/search").status_code == 302  # not signed in


def test_login_attempts_are_throttled(wh, web_home: Path) -> None:
    app = create_app(web_home, {"HSAR_LOGIN_LIMIT": "3 per minute", "SECRET_KEY": "x"})
    client = app.test_client()
    token = wh.csrf_token(client)
    probe = "throttle-probe"  # no account: the address is throttled whatever the name
    codes = [client.post("/login", data={"username": probe, "password": "bad", "csrf_token": token}).status_code
             for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    assert client.get("/login").status_code == 200  # only the POST is throttled


def test_pages_need_a_signed_in_user(app) -> None:
    response = app.test_client().get("/search?q=x")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_login_never_redirects_off_site(wh, app) -> None:
    client = app.test_client()
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = client.post("/login", data={"username": "admin", "password": wh.PASSWORD, "next": target,
                                               "csrf_token": wh.csrf_token(client)})
        assert response.headers["Location"] == "/search"


def test_login_follows_a_local_next(wh, app) -> None:
    client = app.test_client()
    response = client.post("/login", data={"username": "admin", "password": wh.PASSWORD, "next": "/search?q=a",
                                           "csrf_token": wh.csrf_token(client)})
    assert response.headers["Location"] == "/search?q=a"


def test_unknown_page_is_a_clear_404(login) -> None:
    response = login("admin").get("/no/such/page")
    body = response.get_data(as_text=True)
    assert response.status_code == 404 and "WEB-NOT-FOUND" in body and "Traceback" not in body
    assert response.headers["Content-Security-Policy"]


def test_language_switch_needs_csrf_changes_the_page_and_sticks_to_the_account(wh, login, web_home: Path) -> None:
    with open_state(load_config(web_home).state_url) as state:  # an account of its own: the choice is stored
        add_user(state, "polyglot", "researcher", "320100", password=wh.PASSWORD)
    client = login("polyglot")
    assert "检索档案" in client.get("/search").get_data(as_text=True)
    assert client.post("/lang", data={"lang": "en"}).status_code == 400
    client.post("/lang", data={"lang": "en", "csrf_token": wh.csrf_token(client, "/search"), "next": "/search"})
    page = client.get("/search").get_data(as_text=True)
    assert "Search archives" in page and 'lang="en"' in page
    with open_state(load_config(web_home).state_url) as state:
        assert get_user(state, "polyglot").lang == "en"
    again = login("polyglot")  # a new session: the account's language
    assert 'lang="en"' in again.get("/search").get_data(as_text=True)


def test_a_limit_set_for_every_request_is_still_checked_before_each(wh, web_home: Path) -> None:
    """The limiter's per-request check is left out only while no setting asks for limits on every request."""
    app = create_app(web_home, {"TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_APPLICATION": "2 per minute"})
    client = app.test_client()
    assert [client.get("/login").status_code for _ in range(3)] == [200, 200, 429]
