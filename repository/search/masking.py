"""Masking of resident identity numbers (公民身份号码, GB 11643) in search results.

Archives hold the identity numbers of low-income households; disclosure beyond the purpose of use is
forbidden. Callers not allowed to see them get ``110101********1234``: the six-digit region code and the last
four characters stay, the birth date and sequence code are hidden. Masking works on highlight fragments
too: ``<em>`` tags inside a number do not hide it from the mask.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from ..privacy import mask_resident_id
from .results import Hit, SearchResult

_TAG = re.compile(r"</?em>")
_ID = re.compile(r"(?<![0-9A-Za-z])(\d{17}[0-9Xx]|\d{15})(?![0-9A-Za-z])")


def mask_text(text: str) -> str:
    """Mask every identity number in ``text``, which may carry ``<em>`` highlight tags."""
    if not text:
        return text
    parts = _TAG.split(text)
    tags = _TAG.findall(text)
    plain = "".join(parts)
    masked = list(plain)
    found = False
    for m in _ID.finditer(plain):
        found = True
        masked[m.start():m.end()] = mask_resident_id(m.group())
    if not found:
        return text
    out, pos = [], 0
    for i, part in enumerate(parts):
        out.append("".join(masked[pos:pos + len(part)]))
        pos += len(part)
        if i < len(tags):
            out.append(tags[i])
    return "".join(out)


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_mask_value(v) for v in value)
    return value


def mask_hit(hit: Hit) -> Hit:
    """The hit with every identity number in its title, items, paper references and highlights masked."""
    return replace(hit, title=mask_text(hit.title), items=_mask_value(hit.items), paper=_mask_value(hit.paper),
                   highlights={k: mask_text(v) for k, v in hit.highlights.items()})


def mask_result(result: SearchResult) -> SearchResult:
    """The result with :func:`mask_hit` applied to every hit."""
    return replace(result, hits=[mask_hit(h) for h in result.hits])
