"""Cells of the CSV files people open in a spreadsheet program (the access register's and the security log's
exports, the paper reconciliation's worklist).

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is taken for a formula by
Excel, WPS and LibreOffice (CSV injection): a name typed into the sign-in form such as
``=HYPERLINK("http://…","点击")`` would become a live link in an auditor's sheet. Such text is written with a
``'`` in front, which the programs show as text and do not display. Numbers, and text that reads as a number
(``-5``), are left as they are.
"""

from __future__ import annotations

from collections.abc import Mapping

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_row(row: Mapping[str, object]) -> dict[str, object]:
    """A CSV row (a ``csv.DictWriter`` row) with each cell as :func:`safe_cell` writes it."""
    return {key: safe_cell(value) for key, value in row.items()}


def safe_cell(value: object) -> object:
    """``value`` as a spreadsheet shows it as text (see the module)."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value
