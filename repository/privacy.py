"""Personal data (个人隐私): how resident identity numbers (GB 11643) are shown to people who may not see them.

One rule everywhere (validation messages, ``hsar show``, search hits, the web app): keep the six-digit
division prefix and the last four characters, hide the rest — ``110101199001011234`` becomes
``110101********1234``. Values too short to carry a birth date are hidden whole.
"""

from __future__ import annotations

import re
from typing import Any

_TAG = re.compile(r"</?em>")  # highlight tags in search fragments
_ID = re.compile(r"(?<![0-9A-Za-z])(\d{17}[0-9Xx]|\d{15})(?![0-9A-Za-z])")  # 18-character and old 15-digit


def mask_resident_id(value: str) -> str:
    value = value.strip()
    if len(value) < 11:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_text(text: str) -> str:
    """Mask every identity number in ``text``, which may carry ``<em>`` highlight tags (a tag inside a
    number does not hide it from the mask)."""
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


def mask_value(value: Any) -> Any:  # noqa: ANN401 - any JSON-ready value
    """``value`` with :func:`mask_text` applied to every string in it (dict keys are left as they are)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(mask_value(v) for v in value)
    return value
