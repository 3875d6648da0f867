"""repository.cells for XLSX: formula-like text is a string cell with the quote prefix, numbers stay numbers
(the CSV rule itself: tests/web/test_security_log.py)."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from repository.cells import safe_values, safe_xlsx_row

ROW = ['=HYPERLINK("http://x","y")', "@SUM(1)", "+1+1", "-2+3", "-5", "玄武区", 7, 2.5, None]


def test_safe_values_is_safe_cell_per_cell() -> None:
    assert safe_values(ROW) == ['\'=HYPERLINK("http://x","y")', "'@SUM(1)", "'+1+1", "'-2+3", "-5", "玄武区", 7,
                                2.5, None]


@pytest.mark.parametrize("write_only", [True, False])
def test_formula_like_text_is_a_quoted_string_cell_in_xlsx(write_only: bool) -> None:
    book = Workbook(write_only=write_only)
    sheet = book.create_sheet("t")
    sheet.append(safe_xlsx_row(sheet, ROW))
    out = io.BytesIO()
    book.save(out)
    cells = next(load_workbook(io.BytesIO(out.getvalue()))["t"].iter_rows())
    assert [c.value for c in cells[:8]] == ROW[:8]  # the text itself, no ' shown
    assert [c.data_type for c in cells[:8]] == ["s"] * 6 + ["n", "n"]
    assert [bool(c.quotePrefix) for c in cells[:8]] == [True] * 4 + [False] * 4
