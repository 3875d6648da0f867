"""Personal data (个人隐私): how resident identity numbers (GB 11643) are shown to people who may not see them.

One rule everywhere (validation messages, ``hsar show``, search hits, the web app): keep the six-digit
division prefix and the last four characters, hide the rest — ``110101199001011234`` becomes
``110101********1234``. Values too short to carry a birth date are hidden whole.
"""

from __future__ import annotations


def mask_resident_id(value: str) -> str:
    value = value.strip()
    if len(value) < 11:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]
