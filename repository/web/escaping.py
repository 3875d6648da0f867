"""HTML escaping for the rows a view builds in one pass: exactly what Jinja's autoescape (markupsafe) makes of a
printed value, as a plain string (a page escapes hundreds of values: a Markup object per value cost more
than the escaping itself). The search page's facets and hits and the archive page's item rows use it; tests
compare their HTML with what the templates printed."""

from __future__ import annotations

try:  # markupsafe's own escaping, the one Jinja's autoescape applies, without wrapping its answer in Markup
    from markupsafe._speedups import _escape_inner
except ImportError:  # pragma: no cover - a markupsafe built without its C extension, or one that moved it
    try:
        from markupsafe._native import _escape_inner
    except ImportError:
        from markupsafe import escape as _public_escape

        def _escape_inner(s: str, /) -> str:
            return str(_public_escape(s))


def escaped(value: object) -> str:
    """``value`` HTML-escaped exactly as Jinja's autoescape (markupsafe) escapes a printed value, as a plain
    string (a page escapes a thousand values: markupsafe's Markup objects cost more than the escaping)."""
    text = value if type(value) is str else str(value)
    if type(text) is not str:  # a str subclass (Markup): its own replace would escape again
        text = str.__str__(text)
    return _escape_inner(text)


#: :func:`escaped` of a value known to be a ``str`` itself (no subclass, no other type): markupsafe's own escaping
#: without the checks (a page escapes some hundreds of texts decoded from JSON)
escaped_text = _escape_inner
