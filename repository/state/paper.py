"""The paper register (纸质档案登记) in the state database: replace the rows of some fonds, read them back.

Re-import semantics: a file replaces the whole register of every fonds (全宗) it holds, in one transaction;
the register of a fonds the file does not mention is left as it is. Nothing is half-written: the delete and
the inserts commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select

from . import tables as t
from .db import State


@dataclass(frozen=True)
class RegisterRow:
    """One paper item (件) as the register lists it."""

    fonds: str  # 全宗号
    catalogue: str  # 目录号
    volume: str  # 案卷号
    item: int  # 件号
    pages: int  # 页数
    box: str  # 盒号
    shelf: str | None  # normalised "store/row/cabinet/cell"
    reference_code: str | None  # 档号
    archive_id: str | None
    line: int  # where it stands in the imported file

    @property
    def key(self) -> tuple[str, str, str, int]:
        """The paper reference: fonds, catalogue, volume, item."""
        return (self.fonds, self.catalogue, self.volume, self.item)


def replace_register(state: State, rows: Sequence[RegisterRow], source: str,
                     at: datetime | None = None,
                     guard: Callable[[Sequence[RegisterRow]], None] | None = None) -> int:
    """Replace the register of every fonds in ``rows`` by ``rows``; the number of rows removed. ``guard`` is
    given the rows held for those fonds, read in the same write transaction, and may refuse (raise) before
    anything changes."""
    when = at or datetime.now(UTC)
    fonds = sorted({r.fonds for r in rows})
    with state.transaction(write=True) as conn:
        if guard is not None:
            guard([RegisterRow(*tuple(r)) for r in conn.execute(_ROWS.where(t.paper_register.c.fonds.in_(fonds)))])
        removed = conn.scalar(select(func.count()).select_from(t.paper_register)
                              .where(t.paper_register.c.fonds.in_(fonds))) or 0
        conn.execute(delete(t.paper_register).where(t.paper_register.c.fonds.in_(fonds)))
        if rows:
            conn.execute(insert(t.paper_register),
                         [asdict(r) | {"source": source[:255], "imported": when} for r in rows])
    return int(removed)


_C = t.paper_register.c
#: a register row's columns in the order of RegisterRow's fields
_ROWS = select(_C.fonds, _C.catalogue, _C.volume, _C.item, _C.pages, _C.box, _C.shelf, _C.reference_code,
               _C.archive_id, _C.line)


def read_register(state: State) -> list[RegisterRow]:
    """Every row, in fonds, catalogue, volume, item and line order."""
    query = _ROWS.order_by(_C.fonds, _C.catalogue, _C.volume, _C.item, _C.line)
    with state.transaction() as conn:
        return [RegisterRow(*tuple(row)) for row in conn.execute(query)]  # the columns in the fields' order


def register_mark(state: State) -> tuple[object, ...]:
    """A cheap mark that changes with every import (rows, highest id, newest import time): counts derived
    from the register are reused while it is the same."""
    c = t.paper_register.c
    with state.transaction() as conn:
        row = conn.execute(select(func.count(), func.max(c.id), func.max(c.imported))).one()
    return (int(row[0]), row[1], str(row[2]))
