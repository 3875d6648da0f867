"""A highlight fragment (repository/search/hits.py: _fragment) is what the former piece-by-piece escaping made
of it: the window around the first match, every match in it marked, ``&<>`` escaped, adjacent marks merged,
ellipses where the text goes on; for texts with and without characters to escape, long and short."""

from __future__ import annotations

import html
import random

from repository.search.hits import FRAGMENT_CHARS, _fragment


def _before(text: str, spans: list[tuple[int, int]], width: int = FRAGMENT_CHARS) -> str:
    """The fragment as it was made before (each piece escaped on its own)."""
    start = 0 if len(text) <= width else max(0, min(spans[0][0] - width // 4, len(text) - width))
    end = min(len(text), start + width)
    out = ["…" if start else ""]
    pos = start
    for s, e in spans:
        if s < pos or e > end:
            continue
        out += [html.escape(text[pos:s], quote=False), "<em>", html.escape(text[s:e], quote=False), "</em>"]
        pos = e
    out += [html.escape(text[pos:end], quote=False), "…" if end < len(text) else ""]
    return "".join(out).replace("</em><em>", "")


def test_fragments_are_as_before() -> None:
    rng = random.Random(13)
    pieces = ["住", "房", "a", "B", " ", "&", "<", ">", '"', "'", "，", "…", "<em>"]
    seen = set()
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 200)))
        cuts = sorted(rng.sample(range(len(text) + 1), min(len(text) + 1, 2 * rng.randint(1, 6))))
        spans = [(s, e) for s, e in zip(cuts[::2], cuts[1::2], strict=False) if e > s]
        if not spans:
            continue
        got = _fragment(text, spans)
        assert got == _before(text, spans), (text, spans)
        seen.add(("&amp;" in got, got.startswith("…"), got.endswith("…"), "</em>" in got))
    for i in range(4):  # escaped or not, cut at the start or not, at the end or not, marked or not
        assert {kind[i] for kind in seen} == {True, False}
    assert len(seen) >= 10
