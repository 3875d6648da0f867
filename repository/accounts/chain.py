"""The hash chain that the state database's append-only logs share: the access register (利用登记,
:mod:`.register`) and the security log (安全审计日志, :mod:`.securitylog`).

Entries are numbered ``seq`` 1, 2, 3 …; each carries ``prev_hash``, the hash of the entry before (64 zeros for
the first), and ``hash``, the SHA-256 of the canonical JSON (sorted keys, UTF-8, no spaces; ``at`` as a UTC
ISO stamp with microseconds) of its fields without ``hash``. Changing an entry breaks its hash; deleting or
inserting one breaks ``seq``/``prev_hash`` of the next. :func:`verify` checks a chain in ``seq`` order (or only
the entries after a head checked before, :func:`verify_after`); each log names what it finds with codes of its
own (``REG-…``, ``SEC-…``), whose texts are ``chain.problem.<code>`` in the message catalogue.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Column, Row, Select, Table, select

from ..cells import safe_row
from ..messages import Text
from ..state.db import State
from ..state.tables import utc

GENESIS = "0" * 64

#: what can be wrong at an entry: seq jumps, prev_hash is not the entry before's hash, the hash does not match
#: the fields, or a head noted earlier is gone
Kind = Literal["gap", "link", "altered", "truncated"]


def stamp(at: datetime) -> str:
    return utc(at).isoformat(timespec="microseconds")


def entry_hash(fields: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of an entry's fields without ``hash``."""
    body = {k: v for k, v in fields.items() if k != "hash"} | {"at": stamp(fields["at"])}
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
                          .encode("utf-8")).hexdigest()


def chained(head: tuple[int, str] | None, fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of ``fields`` chained on the head ``(seq, hash)`` (None: the chain is empty)."""
    seq, prev = head if head else (0, GENESIS)
    rows = []
    for entry in fields:
        seq += 1
        row = {**entry, "seq": seq, "prev_hash": prev}
        row["hash"] = prev = entry_hash(row)
        rows.append(row)
    return rows


def bounded(query: Select[Any], at: Column[Any], *, since: datetime | None, until: datetime | None,
            limit: int | None, offset: int) -> Select[Any]:
    """A log's listing query with the filters every log has: ``since`` inclusive and ``until`` exclusive on its
    time column ``at``, then ``offset`` and ``limit``."""
    if since is not None:
        query = query.where(at >= utc(since))
    if until is not None:
        query = query.where(at < utc(until))
    query = query.offset(offset) if offset else query
    return query.limit(limit) if limit is not None else query


def csv_text(fields: Iterable[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """Rows as CSV text (a header row of ``fields`` first; other keys left out; text a spreadsheet would take
    for a formula kept as text, :func:`repository.cells.safe_cell`), for auditors' exports."""
    fields = tuple(fields)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(safe_row({k: v for k, v in row.items() if k in fields}))
    return out.getvalue()


class Walk:
    """A chain checked entry by entry in ``seq`` order, from its start or from a head checked before."""

    def __init__(self, seq: int = 0, hash: str = GENESIS, checked: int = 0) -> None:  # noqa: A002 - the column
        self.seq, self.hash, self.checked = seq, hash, checked
        self.seen: dict[int, str] = {}

    def step(self, fields: dict[str, Any]) -> list[tuple[int, Kind, tuple[tuple[str, object], ...]]]:
        """Check one entry (its fields as stored, ``hash`` included): the problems found at it."""
        seq = int(fields["seq"])
        found: list[tuple[int, Kind, tuple[tuple[str, object], ...]]] = []
        self.checked += 1
        if seq != self.seq + 1:
            found.append((seq, "gap", (("first", self.seq + 1), ("last", seq - 1))))
        if fields["prev_hash"] != self.hash:
            found.append((seq, "link", ()))
        if entry_hash(fields) != fields["hash"]:
            found.append((seq, "altered", ()))
        self.seen[seq] = fields["hash"]
        self.seq, self.hash = seq, fields["hash"]
        return found

    def head_kept(self, expected: tuple[int, str] | None) -> bool:
        """Whether a head noted earlier is still in the chain as it was (True when none was noted)."""
        return expected is None or self.seen.get(expected[0]) == expected[1]

    @property
    def head_hash(self) -> str:
        return self.hash if self.checked else GENESIS


@dataclass(frozen=True)
class Problem:
    """One problem of a chain: the entry it is found at, its code, and the parameters of its text."""

    seq: int
    code: str
    params: tuple[tuple[str, object], ...] = ()

    @property
    def text(self) -> Text:
        return Text(f"chain.problem.{self.code}", (("seq", self.seq), *self.params))

    def render(self, lang: str | None = None) -> str:
        return self.text.render(lang)

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        """JSON form: ``seq``, ``code``, ``params`` and the ``message`` in ``lang``."""
        return {"seq": self.seq, "code": str(self.code), "params": dict(self.params), "message": self.render(lang)}


@dataclass(frozen=True)
class Verification:
    checked: int
    head_seq: int
    head_hash: str
    problems: tuple[Problem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Chain:
    """One chained table: its rows' fields as hashed (``fields_of``) and its codes for each kind of problem."""

    table: Table
    codes: Mapping[Kind, str]
    fields_of: Callable[[Row[Any]], dict[str, Any]]


def verify(state: State, chain: Chain, expected_head: tuple[int, str] | None = None) -> Verification:
    """Check every entry's hash and its link to the one before; ``expected_head`` (``seq``, ``hash``) noted
    earlier must still be in the chain."""
    return _verify(state, chain, None, expected_head)


def verify_after(state: State, chain: Chain, earlier: Verification | None) -> Verification:
    """:func:`verify`, continuing from an ``earlier`` verification of the same chain: only the entries after
    its head are read and checked, when that head is still there unchanged; otherwise (or with no ``earlier``)
    the whole chain. For a page that shows the chain's state at every load: an append-only chain grows at its
    end. A row altered below the earlier head is found by the next whole pass, which the caller schedules."""
    if earlier is not None and earlier.checked:
        c = chain.table.c
        with state.transaction() as conn:
            found = conn.execute(select(c.hash).where(c.seq == earlier.head_seq)).scalar_one_or_none()
        if found == earlier.head_hash:
            return _verify(state, chain, earlier, None)
    return _verify(state, chain, None, None)


def _verify(state: State, chain: Chain, earlier: Verification | None,
            expected_head: tuple[int, str] | None) -> Verification:
    problems: list[Problem] = list(earlier.problems) if earlier else []
    walk = Walk() if earlier is None else Walk(earlier.head_seq, earlier.head_hash, earlier.checked)
    query = select(chain.table).order_by(chain.table.c.seq)
    if earlier is not None:
        query = query.where(chain.table.c.seq > earlier.head_seq)
    with state.transaction() as conn:
        for row in conn.execute(query):
            problems.extend(Problem(seq, chain.codes[kind], params)
                            for seq, kind, params in walk.step(chain.fields_of(row)))
    if not walk.head_kept(expected_head):
        assert expected_head is not None  # noqa: S101 - head_kept is True without one
        problems.append(Problem(expected_head[0], chain.codes["truncated"]))
    return Verification(walk.checked, walk.seq, walk.head_hash, tuple(problems))
