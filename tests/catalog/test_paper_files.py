"""The files of the items a reconciliation matched (``catalog.paper.item_files``): the head version's file rows
of the wanted items only, read a batch of archives at a time, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import event

from repository.catalog import paper
from repository.catalog.store import Catalog

MANY = 40


@pytest.fixture
def crowded(catalog: Catalog, records, build) -> Catalog:  # noqa: ANN001
    """The household (head v2: items 3 and 4 added), the unit, and :data:`MANY` more households."""
    for name in ("hh1", "hh2", "un1"):
        catalog.record_version(records[name])
    for n in range(MANY):
        other = dataclasses.replace(build.household(1), identifier=f"hh-320102-2022-{n:04d}")
        catalog.record_version(build.make_record(other, 1, build.T1))
    return catalog


def _rows_read(catalog: Catalog, wanted: set[tuple[str, int]]) -> tuple[dict, int]:  # noqa: ANN001
    """``item_files``'s answer and how many rows its queries gave (each query it sent run again, counted)."""
    sent: list[tuple[str, object]] = []

    def seen(_conn, _cursor, statement, parameters, _context, _many) -> None:  # noqa: ANN001
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    engine = catalog._engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        answer = paper.item_files(catalog, wanted)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    with engine.connect() as conn:
        rows = sum(len(conn.exec_driver_sql(statement, parameters).fetchall()) for statement, parameters in sent)
    return answer, rows


def test_only_the_wanted_items_rows_are_read_and_the_answer_is_theirs(crowded: Catalog, build,  # noqa: ANN001
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    other = "hh-320102-2022-0007"
    wanted = {(build.HH, 1), (build.HH, 4), (build.UN, 2), (other, 2), ("hh-nowhere", 1), (build.UN, 9)}
    expected = {(build.HH, 1): ("data/application/0001-申请书.pdf",),
                (build.HH, 4): ("data/dynamic/0004-年度复核表.pdf",),
                (build.UN, 2): ("data/use/0002-承租人信息.pdf",),
                (other, 2): ("data/application/0002-收入证明.tif",)}
    answer, rows = _rows_read(crowded, wanted)
    assert answer == expected
    assert rows <= 7  # the wanted archives' rows of the numbers wanted (the catalogue holds 86 head file rows)
    everything = {(a, n) for a in [build.HH, build.UN, *(f"hh-320102-2022-{n:04d}" for n in range(MANY))]
                  for n in (1, 2)}
    whole = paper.item_files(crowded, everything)
    assert len(whole) == len(everything) and whole[(build.HH, 2)] == ("data/application/0002-收入证明.tif",)
    monkeypatch.setattr(paper, "CHUNK", 3)  # a batch of three archives a query; numbers beyond it not filtered
    monkeypatch.setattr(paper, "chunks", lambda values: (values[i:i + 3] for i in range(0, len(values), 3)))
    assert paper.item_files(crowded, everything) == whole and paper.item_files(crowded, wanted) == expected
    assert paper.item_files(crowded, set()) == {}
