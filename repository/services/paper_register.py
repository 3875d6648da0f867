"""Reading a paper register file (纸质档案登记表, 双轨制): CSV or XLSX, a documented header, UTF-8 or GB18030.

Columns (one header row; a column is named by its code, its Chinese or its English name, in any order;
more columns are ignored): ``fonds`` 全宗号, ``catalogue`` 目录号, ``volume`` 案卷号, ``item`` 件号, ``pages``
页数, ``box`` 盒号 (required), ``shelf`` 存放位置 (``1库2排3柜4格`` or ``1-2-3-4``), ``reference_code`` 档号,
``archive_id`` 档案标识 (optional). The names are the message keys ``paper.column.<code>``.

CSV bytes are read as UTF-8 (with or without a BOM) and, when they are not UTF-8, as GB18030. Every bad row
is reported at once, each with its line (CSV) or row (XLSX) number and a stable code (``PAP0xx`` of
``data/codes.json``); a file with any such problem is not loaded at all (:class:`~repository.errors.PaperError`).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from .. import messages
from ..codes import Issue, issue
from ..errors import PaperError
from ..model import parse_shelf
from ..state.paper import RegisterRow

COLUMNS = ("fonds", "catalogue", "volume", "item", "pages", "box", "shelf", "reference_code", "archive_id")
REQUIRED = ("fonds", "catalogue", "volume", "item", "pages", "box")
NUMBERS = ("item", "pages")
XLSX_SUFFIXES = (".xlsx", ".xlsm")


def column_names(code: str) -> tuple[str, ...]:
    """The names a header may give column ``code``: the code and its Chinese and English names."""
    key = f"paper.column.{code}"
    return (code, *(messages.text(key, lang) for lang in messages.LANGS))


def _fold(name: str) -> str:
    return "".join(name.split()).lower().replace("_", "").replace("-", "")


_ALIASES = {_fold(name): code for code in COLUMNS for name in column_names(code)}


def decode(data: bytes) -> str | None:
    """The text of CSV bytes: UTF-8 (a BOM dropped), else GB18030; None when it is neither."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _csv_rows(data: bytes, name: str) -> Iterator[tuple[int, list[str]]]:
    text = decode(data)
    if text is None:
        raise PaperError(msgid="paper.bad_file", code="PAP002", file=name, issues=[issue("PAP002", name)])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        raise PaperError(msgid="paper.bad_file", code="PAP007", file=name,
                         issues=[issue("PAP007", name, detail=str(exc))]) from None


def _xlsx_rows(data: bytes, name: str) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook  # type: ignore[import-untyped]  # openpyxl ships no types

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not a workbook
        raise PaperError(msgid="paper.bad_file", code="PAP007", file=name,
                         issues=[issue("PAP007", name, detail=type(exc).__name__)]) from None
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        number = 0
        while True:
            try:  # read_only: the sheet's XML is parsed as the rows are read, so a cut file fails here
                values = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # noqa: BLE001 - broken XML, a bad value: the file cannot be read
                raise PaperError(msgid="paper.bad_file", code="PAP007", file=name,
                                 issues=[issue("PAP007", name, detail=type(exc).__name__)]) from None
            number += 1
            yield number, ["" if v is None else _cell(v) for v in values]
    finally:
        book.close()


def _cell(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _header(cells: list[str], name: str, line: int) -> tuple[dict[str, int], list[Issue]]:
    found: dict[str, int] = {}
    problems = []
    for index, cell in enumerate(cells):
        code = _ALIASES.get(_fold(cell))
        if code is None:
            continue
        if code in found:
            problems.append(issue("PAP008", f"{name}:{line}", column=cell.strip()))
        found[code] = index
    for code in REQUIRED:
        if code not in found:
            problems.append(issue("PAP001", f"{name}:{line}", column=" / ".join(column_names(code)[1:])))
    return found, problems


#: the largest item number or page count a row may give (the database's 32-bit integer column)
MAX_NUMBER = 2**31 - 1


def _row(cells: list[str], header: dict[str, int], width: int, where: str,
         line: int) -> tuple[RegisterRow | None, list[Issue]]:
    problems: list[Issue] = []
    if len(cells) > width and any(c.strip() for c in cells[width:]):
        problems.append(issue("PAP009", where))
    value = {code: (cells[i].strip() if i < len(cells) else "") for code, i in header.items()}
    label = {code: messages.text(f"paper.column.{code}") for code in COLUMNS}
    for code, text in value.items():  # a NUL, an escape, a line break: no reference or shelf holds one
        bad = next((ch for ch in text if unicodedata.category(ch) == "Cc"), None)
        if bad is not None:
            problems.append(issue("PAP010", where, column=label[code], char=f"{ord(bad):04X}"))
    for code in REQUIRED:
        if not value.get(code):
            problems.append(issue("PAP003", where, column=label[code]))
    numbers: dict[str, int] = {}
    for code in NUMBERS:
        raw = value.get(code, "")
        if raw and (not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_NUMBER):
            problems.append(issue("PAP004", where, column=label[code], value=raw))
        elif raw:
            numbers[code] = int(raw)
    shelf = None
    if value.get("shelf"):
        parsed = parse_shelf(value["shelf"])
        if parsed is None:
            problems.append(issue("PAP005", where, value=value["shelf"]))
        else:
            shelf = shelf_key(parsed.store, parsed.row, parsed.cabinet, parsed.cell)
    if problems:
        return None, problems
    return RegisterRow(value["fonds"], value["catalogue"], value["volume"], numbers["item"], numbers["pages"],
                       value["box"], shelf, value.get("reference_code") or None,
                       value.get("archive_id") or None, line), []


def shelf_key(store: str, row: int, cabinet: int, cell: int) -> str:
    """The one form a shelf location is compared in: ``store/row/cabinet/cell``."""
    return f"{store}/{row}/{cabinet}/{cell}"


def read_register_file(path: Path, *, name: str | None = None) -> list[RegisterRow]:
    """Every row of the register file at ``path`` (CSV, or XLSX by its suffix); PaperError listing every
    problem (``issues``) when any row or the header is bad, or the file holds no rows."""
    name = name or path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PaperError(msgid="paper.bad_file", code="PAP007", file=name,
                         issues=[issue("PAP007", name, detail=exc.strerror or str(exc))]) from None
    return parse_register(data, name)


def parse_register(data: bytes, name: str) -> list[RegisterRow]:
    """:func:`read_register_file` for bytes already read (a web upload); ``name`` decides CSV or XLSX."""
    lines = _xlsx_rows(data, name) if name.lower().endswith(XLSX_SUFFIXES) else _csv_rows(data, name)
    header: dict[str, int] | None = None
    width, rows, problems = 0, [], list[Issue]()
    for line, cells in lines:
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header, problems = _header(cells, name, line)
            width = len(cells)
            if problems:
                break
            continue
        row, bad = _row(cells, header, width, f"{name}:{line}", line)
        problems += bad
        if row is not None:
            rows.append(row)
    if not problems and not rows:
        problems.append(issue("PAP006", name))
    if problems:
        raise PaperError(msgid="paper.bad_rows", code=problems[0].code, file=name, count=len(problems),
                         issues=problems)
    return rows
