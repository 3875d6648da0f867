"""An audit job started through the API below the national scope names archives that must all lie in the
caller's scope: their divisions are read from the catalogue in one query (``all_in_scope``), with the answer
the archive-by-archive check gave."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event

from repository.access import Principal, Role, may_see
from repository.home import Repository
from repository.web.api.adapters import all_in_scope


def test_the_scope_of_many_archives_is_one_query_and_the_same_answer(web_home: Path, archives: dict[str, Any]
                                                                      ) -> None:
    ids = sorted(archives)
    mine = [i for i in ids if archives[i].archive.division.startswith("320102")]
    other = [i for i in ids if not archives[i].archive.division.startswith("320102")]
    assert mine and other
    cases = [mine, mine + other[:1], other[:1], [*mine, "NO-SUCH-ARCHIVE"], ids, mine * 3]
    principals = [Principal("xuanwu", Role.ARCHIVIST, "320102"), Principal("jianye", Role.ARCHIVIST, "320105"),
                  Principal("reader", Role.RESEARCHER, "320100")]
    with Repository.open(web_home) as repo:
        def one_by_one(principal: Principal, wanted: list[str]) -> bool:  # what the API checked before
            views = [repo.catalog.show(a) for a in wanted]
            return all(v is not None and may_see(principal, v.archive.division) for v in views)

        statements: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:  # noqa: ANN401
            statements.append(statement)

        engine = repo.catalog._engine
        answers = [[one_by_one(p, c) for c in cases] for p in principals]
        assert answers[0][:4] == [True, False, False, False]  # (the cases tell in and out of scope apart)
        event.listen(engine, "before_cursor_execute", count)
        try:
            for p, expected in zip(principals, answers, strict=True):
                for case, answer in zip(cases, expected, strict=True):
                    statements.clear()
                    assert all_in_scope(repo, p, case) is answer, (p, case)
                    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
            statements.clear()  # many identifiers: a bounded number of queries (500 a query)
            assert all_in_scope(repo, principals[0], mine + [f"X-{n}" for n in range(1200)]) is False
            assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 3
        finally:
            event.remove(engine, "before_cursor_execute", count)
