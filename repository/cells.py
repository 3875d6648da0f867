"""Cells of the files people open in a spreadsheet program: the CSV exports of the access register and the
security log, the paper reconciliation's worklist, an export's transfer list (``transfer-list.csv``), and the
statistics downloads (CSV and XLSX).

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is taken for a formula by
Excel, WPS and LibreOffice (CSV injection): a name typed into the sign-in form such as
``=HYPERLINK("http://…","点击")`` would become a live link in an auditor's sheet. :func:`formula_like` is the
one rule; numbers, and text that reads as a number (``-5``), are left as they are.

- **CSV** (:func:`safe_cell`, :func:`safe_row`, :func:`safe_values`): such text is written with a ``'`` in front,
  which the programs show as text (a CSV has no other way to say "text").
- **XLSX** (:func:`safe_xlsx_row`, for openpyxl): openpyxl writes a string starting with ``=`` as a formula.
  Such text is written as it is, as a string cell (type ``s``) with the quote prefix (``quotePrefix``, what
  Excel sets when one types ``'=…``): the program shows the text itself, without a ``'``, never evaluates it,
  and keeps it text when the cell is edited. Numbers stay numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value: object) -> bool:
    """Whether ``value`` is text a spreadsheet program would take for a formula (see the module)."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return False
    try:
        float(value)
    except ValueError:
        return True
    return False


def safe_row(row: Mapping[str, object]) -> dict[str, object]:
    """A CSV row (a ``csv.DictWriter`` row) with each cell as :func:`safe_cell` writes it."""
    return {key: safe_cell(value) for key, value in row.items()}


def safe_values(row: Iterable[object]) -> list[object]:
    """A CSV row (a ``csv.writer`` row) with each cell as :func:`safe_cell` writes it."""
    return [safe_cell(value) for value in row]


def safe_cell(value: object) -> object:
    """``value`` as a CSV cell a spreadsheet shows as text (see the module)."""
    return "'" + value if isinstance(value, str) and formula_like(value) else value


def safe_xlsx_row(sheet: object, row: Iterable[object]) -> list[object]:
    """A row for openpyxl's ``sheet.append`` (``sheet`` a worksheet, write-only or not): formula-like text as a
    string cell with the quote prefix (see the module), every other value as it is."""
    from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]  # openpyxl ships no types

    cells: list[object] = []
    for value in row:
        if formula_like(value):
            cell = WriteOnlyCell(sheet, value)
            cell.data_type = "s"  # openpyxl made it a formula ('f') for the leading '='
            cell.quotePrefix = True
            value = cell
        cells.append(value)
    return cells
