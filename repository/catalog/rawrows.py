"""Prebuilt statements run on a SQLite connection's own cursor, their rows converted as SQLAlchemy converts them.

The archive page runs six small statements per view (:mod:`.page`). Through SQLAlchemy each cost about as
much again as SQLite took to answer it (an execution context, parameter processing, a result object, a Row
per row): about 0.5 ms of a 5 ms page at 200,000 archives. A :class:`Prepared` statement is compiled once per
dialect; on SQLite it is then run on the DBAPI cursor of the caller's connection (the same transaction, so the
same snapshot), each value passed through the result processor SQLAlchemy itself would apply to its column
(dates and times from their stored text, JSON decoded, booleans), and each row is a named tuple with the
column names as attributes. Any other database (PostgreSQL) is asked through SQLAlchemy as before. A test
compares both ways over the catalogue of the fixtures.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable


class _Compiled:
    __slots__ = ("params", "processed", "row", "sql")

    def __init__(self, sql: str, params: list[tuple[str, Any]], processed: list[tuple[int, Callable[[Any], Any]]],
                 row: type) -> None:
        self.sql, self.params, self.processed, self.row = sql, params, processed, row


class Prepared:
    """``statement`` (whose one required parameter values come from the call), run as cheaply as it can be."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled | None] = {}  # dialect name -> compiled (None: through SQLAlchemy)
        self._lock = threading.Lock()

    def _compile(self, conn: Connection, params: Mapping[str, Any]) -> _Compiled | None:
        dialect = conn.dialect
        found = self._compiled.get(dialect.name, False)
        if found is not False:
            return found  # type: ignore[return-value]
        with self._lock:
            made: _Compiled | None = None
            compiled: Any = self.statement.compile(dialect=dialect)  # type: ignore[attr-defined]
            columns = compiled._result_columns  # noqa: SLF001 - (key, name, objects, type) per result column
            names = [c[0] for c in columns]
            usable = (dialect.name == "sqlite" and compiled.positiontup is not None and not compiled._bind_processors  # noqa: SLF001
                      and len(set(names)) == len(names) and all(n.isidentifier() and not n.startswith("_") for n in names))
            if usable:
                defaults = compiled.construct_params(dict.fromkeys(params))  # literals, limits: their own values
                processors = [c[3]._cached_result_processor(dialect, None) for c in columns]  # noqa: SLF001
                made = _Compiled(compiled.string, [(k, defaults[k]) for k in compiled.positiontup],
                                 [(i, p) for i, p in enumerate(processors) if p is not None],
                                 namedtuple("Row", names))  # noqa: PYI024
            self._compiled[dialect.name] = made
            return made

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> Sequence[Any]:
        """The statement's rows for ``params``, in ``conn``'s transaction (each with the columns as attributes)."""
        compiled = self._compile(conn, params)
        if compiled is None:
            return list(conn.execute(self.statement, dict(params)))
        values = [params.get(k, default) for k, default in compiled.params]
        raw = conn.connection.driver_connection
        dbapi = conn.dialect.dbapi
        try:
            cursor = raw.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(compiled.sql, values)
                found = cursor.fetchall()
            finally:
                cursor.close()
        except dbapi.Error as exc:  # type: ignore[union-attr]  # as SQLAlchemy reports it (the catalogue's error)
            raise DBAPIError.instance(compiled.sql, values, exc, dbapi.Error) from None  # type: ignore[union-attr]
        make, processed = compiled.row._make, compiled.processed  # type: ignore[attr-defined]
        if not processed:
            return [make(r) for r in found]
        out = []
        for r in found:
            values = list(r)
            for i, convert in processed:
                values[i] = convert(values[i])
            out.append(make(values))
        return out
