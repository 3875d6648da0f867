"""The templates' url_for keeps parameterless links and static files; they equal Flask's, per script root."""

from __future__ import annotations

from pathlib import Path

from flask import url_for

from repository.web import create_app

ENDPOINTS = ("search.search", "stats.page", "audit.page", "auth.logout", "auth.set_lang", "ingest.form",
             "ingest.jobs", "admin.users", "admin.register", "paper.page", "disposal.page")


def test_kept_links_are_flasks_own_under_each_script_root(web_home: Path) -> None:
    app = create_app(web_home, {"TESTING": True, "SECRET_KEY": "x"})
    kept = app.jinja_env.globals["url_for"]
    for root in ("", "/hsar", "/other/root"):
        for _ in range(2):  # built, then kept
            with app.test_request_context("/search", base_url=f"http://localhost{root}"):
                for endpoint in ENDPOINTS:
                    assert kept(endpoint) == url_for(endpoint)
                    assert kept(endpoint).startswith(root + "/")
                assert kept("static", filename="app.css") == url_for("static", filename="app.css")
                assert kept("archives.show", archive_id="A-1") == url_for("archives.show", archive_id="A-1")


def test_links_follow_url_defaults_when_any_are_registered(web_home: Path) -> None:
    app = create_app(web_home, {"TESTING": True, "SECRET_KEY": "x"})
    kept = app.jinja_env.globals["url_for"]
    with app.test_request_context("/search"):
        assert kept("search.search") == "/search"
    app.url_defaults(lambda endpoint, values: values.setdefault("q", "x") if endpoint == "search.search" else None)
    with app.test_request_context("/search"):
        assert kept("search.search") == url_for("search.search") == "/search?q=x"


ARCHIVE_ENDPOINTS = ("archives.show", "transfer.start", "ocr.text", "ocr.start", "paper.access_copy_start")
ODD_IDS = ("HH-320102001-0000001", "hh-320102-2022-0001", "a b/c?d#e%f", "档案·甲&乙=丙", "x;y@z!", "%00hsar", "")


def test_archive_links_are_flasks_own_for_odd_ids_under_each_script_root(web_home: Path) -> None:
    app = create_app(web_home, {"TESTING": True, "SECRET_KEY": "x"})
    kept = app.jinja_env.globals["url_for"]
    for root in ("", "/hsar"):
        for _ in range(2):  # built around the marker, then kept
            with app.test_request_context("/search", base_url=f"http://localhost{root}"):
                for endpoint in ARCHIVE_ENDPOINTS:
                    for archive_id in ODD_IDS:
                        if archive_id == "":  # Flask refuses an empty segment the same way
                            continue
                        assert kept(endpoint, archive_id=archive_id) == url_for(endpoint, archive_id=archive_id)
                # a route with another variable, or another converter, is built by Flask
                assert kept("archives.viewer", archive_id="a b", path="data/x y.pdf") == \
                    url_for("archives.viewer", archive_id="a b", path="data/x y.pdf")
