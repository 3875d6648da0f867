"""The hash chain that the state database's append-only logs share: the access register (利用登记,
:mod:`.register`) and the security log (安全审计日志, :mod:`.securitylog`).

Entries are numbered ``seq`` 1, 2, 3 …; each carries ``prev_hash``, the hash of the entry before (64 zeros for
the first), and ``hash``, the SHA-256 of the canonical JSON (sorted keys, UTF-8, no spaces; ``at`` as a UTC
ISO stamp with microseconds) of its fields without ``hash``. Changing an entry breaks its hash; deleting or
inserting one breaks ``seq``/``prev_hash`` of the next. :class:`Walk` checks a chain read in ``seq`` order and
says what it finds in plain kinds; each log names them with codes of its own.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

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
