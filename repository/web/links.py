"""The templates' ``url_for``: a link to a page without parameters (the navigation's dozen links on every
page) or to a static file is built once per application and script root and then reused; any other link is
built by Flask's ``url_for`` as before. The same URLs: with no URL defaults or value preprocessors registered
(this application has none), such a link depends only on its endpoint, its file name and the script root."""

from __future__ import annotations

from typing import Any

from flask import Flask, request

MAX_KEPT = 512  # endpoints x static files x script roots: a few dozen in practice


def install(app: Flask) -> None:
    build = app.url_for
    kept: dict[tuple[str, str, str | None], str] = {}

    def url_for(endpoint: str, /, **values: Any) -> str:  # noqa: ANN401 - Flask's own signature
        if values and not (endpoint == "static" and len(values) == 1 and isinstance(values.get("filename"), str)):
            return build(endpoint, **values)
        if any(app.url_default_functions.values()) or any(app.url_value_preprocessors.values()):  # may vary
            return build(endpoint, **values)
        key = (request.script_root, endpoint, values.get("filename"))
        found = kept.get(key)
        if found is None:
            found = build(endpoint, **values)
            if len(kept) < MAX_KEPT:
                kept[key] = found
        return found

    app.jinja_env.globals["url_for"] = url_for
