"""The CSV transfer list is opened in a spreadsheet program, and its titles come from ingested descriptions
(outside input): a title that reads as a formula is written as text (repository.cells)."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
from pathlib import Path
from typing import Any

from repository.descriptive import parse
from repository.home import Repository
from repository.ingest.pipeline import ingest
from repository.services.transfer import CONSOLE, export
from repository.sip.build import write_sip

TITLES = {"0005-household-hh-320102-2022-0001": '=HYPERLINK("http://x","y")',
          "0003-household-hh-320115-2019-0001": "@SUM(1)",
          "0001-unit-un-320105-0001": "+1+1",
          "0002-unit-un-320105-0002": "-2+3"}


def _retitled(src: Path, title: str, out: Path) -> Path:
    """The demo SIP at ``src`` with the description's title ``title``."""
    described = dataclasses.replace(parse((src / "metadata" / "descriptive.xml").read_bytes()), title=title)
    payload = {p.relative_to(src).as_posix(): p for p in (src / "data").rglob("*") if p.is_file()}
    return write_sip(described, payload, out, source_organization="test", bagging_date=datetime.date(2024, 1, 1))


def test_a_title_that_reads_as_a_formula_is_text_in_the_csv_list(demo: Any, receiver: Path,  # noqa: ANN401
                                                                  tmp_path: Path) -> None:
    sips = [_retitled(demo.root / name, title, tmp_path / "sips" / name) for name, title in TITLES.items()]
    with Repository.open(receiver) as repo:
        outcomes = ingest(repo, sips)
        assert {o.status for o in outcomes} == {"ingested"}, [o.to_dict("en") for o in outcomes]
        ids = repo.catalog.archive_ids()
        result = export(repo, CONSOLE, ids, tmp_path / "out")
    titles = {a.title for a in result.archives}
    assert titles == set(TITLES.values())  # the XML and the packages keep the title as it is
    rows = list(csv.reader(io.StringIO((tmp_path / "out" / "transfer-list.csv").read_text("utf-8-sig"))))
    written = {r[3] for r in rows[1:-1]}
    assert written == {"'" + t for t in TITLES.values()}
    assert '\'=HYPERLINK("http://x","y")' in written and all(r[6].isdigit() for r in rows[1:])  # numbers stay
