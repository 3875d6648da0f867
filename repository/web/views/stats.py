"""The statistics page: archives and items by division (named, rolled up the tree), type, security type,
status, year and material class; paper-reference and digitisation coverage; storage by format. Always
within the user's division scope. Each chart has its numbers in a table beside it and CSV and XLSX downloads,
whose text cells (division and format names) go through :mod:`repository.cells`."""

from __future__ import annotations

import csv
import io
import json

from flask import Blueprint, Response, abort, g, render_template
from flask_login import login_required

from ... import access
from ...cells import safe_values, safe_xlsx_row
from ...services import census as counts
from ...services import stats as service
from ..context import principal, repo
from ..i18n import label, t

bp = Blueprint("stats", __name__, url_prefix="/stats")


def _tables(wait: float | None = None) -> dict[str, service.StatTable]:
    """The tables within the user's scope; from the previous counts when a recount takes longer than
    ``wait`` seconds (None: wait for it), and then ``g.hsar_counted_at`` is when they were counted."""
    user = principal()
    if not access.may(user, access.Action.SEARCH):
        abort(403)
    answer = counts.latest(repo(), wait)
    if answer.counted is None:
        return {}
    if not answer.fresh:
        g.hsar_counted_at = answer.counted.at
    return service.statistics(repo(), access.scope_prefixes(user), answer.counted.census)


def row_label(key: str, row: service.StatRow) -> str:
    """What a row is called in the user's language."""
    if key == "division":
        return row.name
    if key == "formats":
        return row.name or t("web_stats.unknown")
    if key == "year":
        return row.value
    if row.value == "":
        return t("web_stats.none")
    kind = {"paper": "web_stats.coverage", "digitised": "web_stats.coverage"}.get(key, f"web.{key}")
    return label(kind, row.value)


def _chart_data(tables: dict[str, service.StatTable]) -> str:
    """The numbers for the chart script, as JSON (read from a data block: CSP forbids inline script)."""
    charts = {}
    for key, table in tables.items():
        charts[key] = {"title": t(f"web_stats.table.{key}"),
                       "kind": "pie" if key in ("paper", "digitised") else "bar",
                       "series": [t(f"web_stats.column.{c}") for c in table.columns[:2]
                                  if c != "bytes" or key != "formats"],
                       "labels": [("　" * r.depth) + row_label(key, r) for r in table.rows],
                       "values": [list(r.numbers[:1] if key == "formats" else r.numbers) for r in table.rows]}
    return json.dumps(charts, ensure_ascii=False).replace("<", "\\u003c")


@bp.route("")
@login_required
def page() -> str:
    tables = _tables(counts.WAIT_SECONDS)  # a page never waits for a whole recount (services.census)
    return render_template("stats.html", tables=tables, order=service.TABLES if tables else (),
                           row_label=row_label, chart_data=_chart_data(tables),
                           counted_at=g.get("hsar_counted_at"), counting=not tables)


def _sheet(key: str, table: service.StatTable) -> list[list[str | int]]:
    """The table ``key`` as rows (a header first) for CSV and XLSX: label, code (divisions, formats), numbers."""
    head: list[str | int] = [t(f"web_stats.column.{'format' if key == 'formats' else 'value'}")]
    if key in ("division", "formats"):
        head.append(t("web_stats.column.code"))
    rows: list[list[str | int]] = [head + [t(f"web_stats.column.{c}") for c in table.columns]]
    for row in table.rows:
        first: list[str | int] = [row_label(key, row)]
        if key in ("division", "formats"):
            first.append(row.value)
        rows.append(first + list(row.numbers))
    return rows


def _download(body: bytes | str, mimetype: str, name: str) -> Response:
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={name}",
                                                      "Cache-Control": "private, no-store"})


@bp.route("/<key>.csv")
@login_required
def table_csv(key: str) -> Response:
    if key not in service.TABLES:
        abort(404)
    out = io.StringIO()
    csv.writer(out).writerows(safe_values(row) for row in _sheet(key, _tables()[key]))
    body = "\ufeff" + out.getvalue()  # a BOM, so spreadsheet programs read the Chinese as UTF-8
    return _download(body, "text/csv", f"hsar-stats-{key}.csv")


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _workbook(sheets: dict[str, list[list[str | int]]]) -> bytes:
    from openpyxl import Workbook  # type: ignore[import-untyped]  # no stubs; pyproject's list left to others

    book = Workbook(write_only=True)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title=title[:31])
        for row in rows:
            sheet.append(safe_xlsx_row(sheet, row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@bp.route("/<key>.xlsx")
@login_required
def table_xlsx(key: str) -> Response:
    """One table as an XLSX workbook (openpyxl), numbers as numbers, text as text (repository.cells)."""
    if key not in service.TABLES:
        abort(404)
    return _download(_workbook({key: _sheet(key, _tables()[key])}), XLSX, f"hsar-stats-{key}.xlsx")


@bp.route("/all.xlsx")
@login_required
def workbook() -> Response:
    """Every table, one sheet each."""
    tables = _tables()
    return _download(_workbook({key: _sheet(key, tables[key]) for key in service.TABLES}), XLSX, "hsar-stats.xlsx")
