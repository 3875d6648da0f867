"""The statistics downloads (CSV and XLSX) are opened in a spreadsheet program: a division name that reads as
a formula (the division tree is a data file the archive maintains, ``repository.divisions``) is written as
text (repository.cells), and the numbers stay numbers."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook

from repository.web import create_app

NAMES = {"320102": '=HYPERLINK("http://x","y")', "320100": "@SUM(1)", "320105": "+1+1", "320115": "-2+3"}


@pytest.fixture(scope="module")
def named_app(web_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """An app on a copy of the web home whose division tree names four divisions as formulas."""
    home = tmp_path_factory.mktemp("stats-cells") / "home"
    shutil.copytree(web_home, home)
    bundled = Path(__file__).parents[2] / "repository" / "data" / "divisions" / "nanjing.json"
    entries = [e | {"name": NAMES[e["code"]]} if e.get("code") in NAMES else e
               for e in json.loads(bundled.read_text("utf-8"))]
    (home / "divisions.json").write_text(json.dumps(entries, ensure_ascii=False), "utf-8")
    settings = home / "hsar.toml"
    assert 'divisions = ""' in settings.read_text("utf-8")
    settings.write_text(settings.read_text("utf-8").replace('divisions = ""', 'divisions = "divisions.json"'),
                        "utf-8")
    return create_app(home, {"TESTING": True, "SECRET_KEY": "test"})


def test_a_division_name_that_reads_as_a_formula_is_text_in_the_csv(named_app: Flask, wh: Any) -> None:  # noqa: ANN401
    response = wh.signed_in(named_app, "reader").get("/stats/division.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    names = {r[1]: r[0] for r in rows[1:]}
    assert {names[code] for code in NAMES} == {"'" + name for name in NAMES.values()}
    assert all(r[2].isdigit() and r[3].isdigit() for r in rows[1:])


@pytest.mark.parametrize("path", ["/stats/division.xlsx", "/stats/all.xlsx"])
def test_a_division_name_that_reads_as_a_formula_is_text_in_the_xlsx(named_app: Flask, wh: Any,  # noqa: ANN401
                                                                      path: str) -> None:
    response = wh.signed_in(named_app, "reader").get(path)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data))["division"]
    rows = list(sheet.iter_rows(min_row=2))
    cells = {r[1].value: r[0] for r in rows}
    for code, name in NAMES.items():
        cell = cells[code]
        assert (cell.data_type, cell.value, cell.quotePrefix) == ("s", name, True), code  # text, not a formula
    assert all(r[2].data_type == r[3].data_type == "n" and isinstance(r[2].value, int) for r in rows)
