"""The templates' ``url_for``: a link to a page without parameters (the navigation's dozen links on every
page) or to a static file is built once per application and script root and then reused; a link whose only
value is an ``archive_id`` (the archive page's export, OCR and access-copy actions, linked archives) is its
endpoint's URL built once around a marker, the id quoted in the marker's place as the route's converter
quotes it; any other link is built by Flask's ``url_for`` as before. The same URLs: with no URL defaults or
value preprocessors registered (this application has none), such a link depends only on its endpoint, its
file name or archive id and the script root (a test compares with Flask's for odd ids)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Flask, request
from werkzeug.routing import UnicodeConverter

MAX_KEPT = 512  # endpoints x static files x script roots: a few dozen in practice
#: what the default (string) converter leaves unquoted in a path segment (``BaseConverter.to_url``)
SEGMENT_SAFE = "!$&'()*+,/:;=@"
_MARK = "\x00hsar"  # an id no archive has; quoted as %00hsar


def local_target(target: str | None) -> str | None:
    """``target`` when it is a path of this site to go to after a form (``next``), else None: it starts with
    one ``/`` (``//host`` and ``/\\host`` name another site), holds no backslash, and no space, tab, line
    break or other unprintable character anywhere (a tab or a line break, dropped on the way into the
    Location header, made ``/\t/evil.example`` leave the site, and a line break broke the header)."""
    if not target or len(target) > 2000 or not target.startswith("/") or target[1:2] in ("/", "\\"):
        return None
    if "\\" in target or any(ch.isspace() or not ch.isprintable() for ch in target):
        return None
    return target


def install(app: Flask) -> None:
    build = app.url_for
    kept: dict[tuple[str, str, str | None], str] = {}

    stems: dict[tuple[str, str], tuple[str, str] | None] = {}

    def stem(endpoint: str) -> tuple[str, str] | None:
        """The URL of ``endpoint`` before and after its ``archive_id`` (None: not a one-rule route whose only
        variable is an ``archive_id`` of the default converter)."""
        key = (request.script_root, endpoint)
        if key not in stems:
            rules = app.url_map._rules_by_endpoint.get(endpoint, [])  # noqa: SLF001 - werkzeug's own table
            found = None
            if len(rules) == 1 and set(rules[0].arguments) == {"archive_id"} and not rules[0].defaults \
                    and type(rules[0]._converters.get("archive_id")) is UnicodeConverter:  # noqa: SLF001
                parts = build(endpoint, archive_id=_MARK).split(quote(_MARK, safe=SEGMENT_SAFE))
                found = (parts[0], parts[1]) if len(parts) == 2 else None
            if len(stems) < MAX_KEPT:
                stems[key] = found
            return found
        return stems[key]

    def url_for(endpoint: str, /, **values: Any) -> str:  # noqa: ANN401 - Flask's own signature
        if any(app.url_default_functions.values()) or any(app.url_value_preprocessors.values()):  # may vary
            return build(endpoint, **values)
        if len(values) == 1 and isinstance(values.get("archive_id"), str):
            around = stem(endpoint)
            if around is not None:
                return around[0] + quote(values["archive_id"], safe=SEGMENT_SAFE) + around[1]
            return build(endpoint, **values)
        if values and not (endpoint == "static" and len(values) == 1 and isinstance(values.get("filename"), str)):
            return build(endpoint, **values)
        key = (request.script_root, endpoint, values.get("filename"))
        found = kept.get(key)
        if found is None:
            found = build(endpoint, **values)
            if len(kept) < MAX_KEPT:
                kept[key] = found
        return found

    app.jinja_env.globals["url_for"] = url_for
