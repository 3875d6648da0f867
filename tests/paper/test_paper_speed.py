"""Reconciliation reads a large catalogue in a fixed number of SQL statements (the item rows in one query, the
files of the matched items in one, the register and its mark in two), and each archive's inventory once,
however many archives and items there are."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine

from repository.demo.paper import plant, register_csv, register_of
from repository.home import Repository
from repository.services import paper


def test_reconciliation_reads_the_catalogue_in_a_fixed_number_of_statements(demo, paper_home: Path,  # noqa: ANN001
                                                                              monkeypatch) -> None:  # noqa: ANN001
    rows, expected = plant(register_of(demo.root))
    with Repository.open(paper_home) as repo:
        paper.import_register(repo, data=register_csv(rows), name="planted.csv")
        archives = len(repo.catalog.archive_ids())
        reads: list[str] = []
        real = type(repo.store).inventory

        def counted(store, object_id: str):  # noqa: ANN001, ANN202
            reads.append(object_id)
            return real(store, object_id)

        monkeypatch.setattr(type(repo.store), "inventory", counted)
        statements: list[str] = []

        def count(_conn, _cursor, statement: str, *_args) -> None:  # noqa: ANN001, ANN002
            if statement.lstrip().upper().startswith("SELECT"):
                statements.append(statement)

        event.listen(Engine, "before_cursor_execute", count)
        try:
            result = paper.reconcile_paper(repo, [""])  # the national scope
        finally:
            event.remove(Engine, "before_cursor_execute", count)
    assert sorted((f.code, f.ref) for f in result.findings) == expected  # the same findings as before
    assert archives >= 5 and result.electronic_items > 40
    # the state's schema check, the register and its mark, the catalogue's change mark, the item rows, the
    # matched items' files (a per-archive `show` made ~6 per archive)
    assert len(statements) <= 6, statements
    assert len(reads) <= archives and len(set(reads)) == len(reads), reads  # one inventory read per archive
