"""The access register (利用登记): who viewed or downloaded which archive, when, and for what purpose.

Every view or download of a document, and every view of an unmasked record
(:func:`repository.access.must_register`), appends one entry. Entries are append-only and hash-chained like
the audit log (:mod:`repository.preservation.auditlog`): ``seq`` 1, 2, 3 ..., ``prev_hash`` the hash of the
entry before (64 zeros for the first) and ``hash`` the SHA-256 of the canonical JSON (sorted keys, UTF-8, no
spaces) of the entry without ``hash``. Changing an entry breaks its hash; deleting or inserting one breaks
``seq``/``prev_hash`` of the next; :func:`verify_register` reports both. (Deleting the newest entries leaves a
shorter valid chain: compare :func:`verify_register`'s head with one noted earlier, ``expected_head``.)

Appends run in one write transaction that reads the head and inserts the next ``seq`` (its primary key): two
writers at once cannot both take a number; the loser retries.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, insert, select
from sqlalchemy.exc import IntegrityError

from ..access import Principal
from ..errors import AccountError
from ..state import tables as t
from ..state.db import State
from .users import utc

GENESIS = "0" * 64
RETRIES = 5
CSV_FIELDS = ("seq", "at", "username", "role", "action", "archive_id", "item", "purpose", "masked", "prev_hash",
              "hash")


class Use(StrEnum):
    VIEW = "view"  # 查阅
    DOWNLOAD = "download"  # 下载
    EXPORT = "export"  # 导出
    PRINT = "print"  # 打印


@dataclass(frozen=True)
class RegisterEntry:
    seq: int
    at: datetime
    username: str
    role: str
    action: str
    archive_id: str
    item: str | None
    purpose: str
    masked: bool
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"at": self.at.isoformat()}


@dataclass(frozen=True)
class RegisterVerification:
    checked: int
    head_seq: int
    head_hash: str
    problems: tuple[tuple[int, str], ...] = field(default=())  # (seq, what is wrong)

    @property
    def ok(self) -> bool:
        return not self.problems


def _stamp(at: datetime) -> str:
    return utc(at).isoformat(timespec="microseconds")


def entry_hash(fields: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of an entry's fields without ``hash``."""
    body = {k: v for k, v in fields.items() if k != "hash"} | {"at": _stamp(fields["at"])}
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
                          .encode("utf-8")).hexdigest()


def _entry(row: Row) -> RegisterEntry:
    return RegisterEntry(**{**row._asdict(), "at": utc(row.at), "masked": bool(row.masked)})


def record_use(state: State, principal: Principal, action: str, archive_id: str, purpose: str, *,
               item: str | None = None, masked: bool = False, at: datetime | None = None) -> RegisterEntry:
    """Append one use to the register and return it."""
    try:
        action = Use(action).value
    except ValueError:
        raise AccountError(msgid="accounts.bad_action", code="ACC-USE", action=action,
                           choices=", ".join(Use)) from None
    if not isinstance(purpose, str) or not purpose.strip():
        raise AccountError(msgid="accounts.no_purpose", code="ACC-PURPOSE")
    when = utc(at) if at is not None else datetime.now(UTC)
    for _attempt in range(RETRIES):
        try:
            with state.transaction(write=True) as conn:
                head = conn.execute(select(t.access_register.c.seq, t.access_register.c.hash)
                                    .order_by(t.access_register.c.seq.desc()).limit(1)).first()
                fields = {"seq": head.seq + 1 if head else 1, "at": when, "username": principal.username,
                          "role": str(principal.role), "action": action, "archive_id": archive_id,
                          "item": item, "purpose": purpose.strip(), "masked": bool(masked),
                          "prev_hash": head.hash if head else GENESIS}
                fields["hash"] = entry_hash(fields)
                conn.execute(insert(t.access_register).values(**fields))
                return RegisterEntry(**fields)
        except IntegrityError:  # another writer took this seq first (PostgreSQL): read the new head and retry
            continue
    raise AccountError(msgid="accounts.register_busy", code="ACC-BUSY")


def list_uses(state: State, *, username: str | None = None, archive_id: str | None = None,
              action: str | None = None, since: datetime | None = None, until: datetime | None = None,
              limit: int | None = None, offset: int = 0) -> list[RegisterEntry]:
    """Entries in ``seq`` order, filtered; ``since`` inclusive, ``until`` exclusive."""
    c = t.access_register.c
    query = select(t.access_register).order_by(c.seq)
    for column, value in ((c.username, username), (c.archive_id, archive_id), (c.action, action)):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(c.at >= utc(since))
    if until is not None:
        query = query.where(c.at < utc(until))
    query = query.offset(offset) if offset else query
    query = query.limit(limit) if limit is not None else query
    with state.transaction() as conn:
        return [_entry(r) for r in conn.execute(query)]


def export_csv(entries: Iterable[RegisterEntry]) -> str:
    """The entries as CSV text (UTF-8 when written; a header row first), for auditors."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for entry in entries:
        writer.writerow({k: v for k, v in entry.to_dict().items() if k in CSV_FIELDS})
    return out.getvalue()


def verify_register(state: State, expected_head: tuple[int, str] | None = None) -> RegisterVerification:
    """Check every entry's hash and its link to the one before; ``expected_head`` (``seq``, ``hash``) noted
    earlier must still be in the chain."""
    problems: list[tuple[int, str]] = []
    prev_seq, prev_hash, checked, seen = 0, GENESIS, 0, {}
    with state.transaction() as conn:
        for row in conn.execute(select(t.access_register).order_by(t.access_register.c.seq)):
            entry = _entry(row)
            checked += 1
            if entry.seq != prev_seq + 1:
                problems.append((entry.seq, f"missing entries {prev_seq + 1}…{entry.seq - 1}"))
            if entry.prev_hash != prev_hash:
                problems.append((entry.seq, "prev_hash does not match the entry before"))
            if entry_hash(entry.to_dict() | {"at": entry.at}) != entry.hash:
                problems.append((entry.seq, "hash does not match the entry (altered)"))
            seen[entry.seq] = entry.hash
            prev_seq, prev_hash = entry.seq, entry.hash
    if expected_head is not None and seen.get(expected_head[0]) != expected_head[1]:
        problems.append((expected_head[0], "an entry noted earlier is gone or changed (truncated register)"))
    return RegisterVerification(checked, prev_seq, prev_hash if checked else GENESIS, tuple(problems))
