"""A URL as a message or a log line may show it: without its password (the URL settings ``catalog.url``,
``state.url``, ``jobs.url`` and ``web.throttle_url`` may carry one)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

#: query parameters of a URL that carry a secret (redis-py reads ``?password=``), hidden by :func:`safe_url`
SECRET_PARAMETERS = frozenset({"password", "passwd", "pass", "secret", "token"})


def safe_url(url: str) -> str:
    """``url`` as it may be shown in a message or a log line: its password, and a secret in its query
    (``?password=``), replaced by ``***``; the rest kept as written (SQLAlchemy, Redis and any other scheme)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # an unbalanced IPv6 bracket
        return "<unparseable URL>"
    shown = url
    if password is not None:
        userinfo, _, hostport = parts.netloc.rpartition("@")
        shown = shown.replace(parts.netloc, f"{userinfo.partition(':')[0]}:***@{hostport}", 1)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if any(name.lower() in SECRET_PARAMETERS for name, _ in pairs):
        query = urlencode([(name, "***" if name.lower() in SECRET_PARAMETERS else value) for name, value in pairs],
                          safe="*/")
        shown = shown[:shown.index("?") + 1] + query + (f"#{parts.fragment}" if parts.fragment else "")
    return shown
