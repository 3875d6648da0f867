"""The access register (利用登记): who viewed or downloaded which archive, when, and for what purpose.

Every view or download of a document, and every view of an unmasked record
(:func:`repository.access.must_register`), appends one entry. Entries are append-only and hash-chained like
the audit log (:mod:`repository.preservation.auditlog`): ``seq`` 1, 2, 3 ..., ``prev_hash`` the hash of the
entry before (64 zeros for the first) and ``hash`` the SHA-256 of the canonical JSON (sorted keys, UTF-8, no
spaces) of the entry without ``hash``. Changing an entry breaks its hash; deleting or inserting one breaks
``seq``/``prev_hash`` of the next; :func:`verify_register` reports both. (Deleting the newest entries leaves a
shorter valid chain: compare :func:`verify_register`'s head with one noted earlier, ``expected_head``.)

Appends are group-committed: the entries that threads of one process append at the same moment are written
together, in one write transaction that reads the head, chains them and inserts them (one commit, one fsync,
for the lot). The first thread to find no batch being written writes the queue; the others wait for it and
each returns only once its own entry is committed, so a page that registers a view is answered after its line
is on disk. Across processes the write transaction serialises the batches: SQLite's write lock
(``BEGIN IMMEDIATE``) or, on PostgreSQL, a lock on the register table (``SHARE ROW EXCLUSIVE``: writers wait
for each other, readers do not); ``seq`` is the primary key besides, and a batch that still meets a taken
number is chained again on the new head. On SQLite the processes take turns on a lock file first
(:mod:`.turns`), so a writer waits in the kernel's queue instead of SQLite's sleeping retries.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, insert, select, text
from sqlalchemy.exc import IntegrityError

from ..access import Principal
from ..errors import AccountError
from ..state import tables as t
from ..state.db import State
from . import register_sqlite
from .chain import GENESIS as GENESIS
from .chain import Chain, Problem, Verification, bounded, chained, csv_text, verify, verify_after
from .chain import entry_hash as entry_hash
from .turns import Turns
from .users import utc

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


class Broken(StrEnum):
    """What can be wrong with the register's chain: a stable code each, its text in the message catalogue
    (``chain.problem.<code>``), so the page and any other reader show it in the reader's language."""

    GAP = "REG-GAP"  # entries missing before this one (seq jumps)
    LINK = "REG-LINK"  # prev_hash is not the hash of the entry before
    ALTERED = "REG-ALTERED"  # the entry's hash does not match its fields
    TRUNCATED = "REG-TRUNCATED"  # an entry noted earlier (expected_head) is gone or changed




#: the register's problems and verification are a chain's (:mod:`.chain`), under the names they had
RegisterProblem = Problem
RegisterVerification = Verification


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
    fields = {"at": when, "username": principal.username, "role": str(principal.role), "action": action,
              "archive_id": archive_id, "item": item, "purpose": purpose.strip(), "masked": bool(masked)}
    return _writer_of(state).append(state, fields)


class _Pending:
    """One entry waiting in a process's queue: its fields, and once its batch is committed, the entry (or the
    error that the batch met)."""

    __slots__ = ("entry", "error", "fields")

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields
        self.entry: RegisterEntry | None = None
        self.error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self.entry is not None or self.error is not None


class _GroupCommit:
    """The append queue of one :class:`State` (see the module's text)."""

    def __init__(self, url: str) -> None:
        self.turns = Turns(url)  # the turn among the processes writing to the same SQLite file
        self._queue: list[_Pending] = []
        self._changed = threading.Condition()  # guards _queue and _busy
        self._busy = False  # a thread is writing a batch

    def append(self, state: State, fields: dict[str, Any]) -> RegisterEntry:
        mine = _Pending(fields)
        batch: list[_Pending] = []
        with self._changed:
            self._queue.append(mine)
            while not mine.done:
                if not self._busy:  # nobody is writing: write everything queued, ours included
                    self._busy, batch, self._queue = True, self._queue, []
                    break
                self._changed.wait()
        if batch:
            try:
                with self.turns.turn():
                    _write_batch(state, batch)
            finally:
                with self._changed:
                    for pending in batch:  # never leave a waiting thread without an answer
                        if not pending.done:
                            pending.error = AccountError(msgid="accounts.register_busy", code="ACC-BUSY")
                    self._busy = False
                    self._changed.notify_all()
        if mine.error is not None:
            raise mine.error
        assert mine.entry is not None  # noqa: S101 - _write_batch gives every pending entry one of the two
        return mine.entry


_WRITERS: weakref.WeakKeyDictionary[State, _GroupCommit] = weakref.WeakKeyDictionary()
_WRITERS_LOCK = threading.Lock()


def _writer_of(state: State) -> _GroupCommit:
    with _WRITERS_LOCK:
        found = _WRITERS.get(state)
        if found is None:
            found = _WRITERS[state] = _GroupCommit(state.url)
        return found


# built once: building a statement cost about as much as running it, on a path every archive view takes
_HEAD = select(t.access_register.c.seq, t.access_register.c.hash).order_by(t.access_register.c.seq.desc()).limit(1)
_APPEND = insert(t.access_register)
_LOCK = text("LOCK TABLE access_register IN SHARE ROW EXCLUSIVE MODE")


def _chained(head: tuple[int, str] | None, batch: list[_Pending]) -> list[dict[str, Any]]:
    """The rows of ``batch`` chained on the register's head ``(seq, hash)`` (None: the register is empty)."""
    return chained(head, [pending.fields for pending in batch])


def _chain(conn: Connection, batch: list[_Pending]) -> list[dict[str, Any]]:
    """The rows of ``batch`` chained on the register's head (read in this write transaction)."""
    if conn.dialect.name == "postgresql":  # writers of every process one after another; readers go on
        conn.execute(_LOCK)
    head = conn.execute(_HEAD).first()
    return _chained((head.seq, head.hash) if head else None, batch)


def _write_batch(state: State, batch: list[_Pending]) -> None:
    """Append ``batch`` in one transaction; every pending entry gets its entry or the error met."""
    error: BaseException = AccountError(msgid="accounts.register_busy", code="ACC-BUSY")
    for _attempt in range(RETRIES):
        try:
            if register_sqlite.usable(state):  # a SQLite file: on a pooled connection itself (cheaper)
                rows = register_sqlite.append(state, lambda head: _chained(head, batch))
            else:
                with state.transaction(write=True) as conn:
                    rows = _chain(conn, batch)
                    conn.execute(_APPEND, rows[0] if len(rows) == 1 else rows)
        except IntegrityError:  # another writer took these numbers first: chain again on the new head
            continue
        except Exception as exc:  # noqa: BLE001 - handed to every waiting thread, raised there
            error = exc
            break
        for pending, row in zip(batch, rows, strict=True):
            pending.entry = RegisterEntry(**row)
        return
    for pending in batch:
        pending.error = error


def list_uses(state: State, *, username: str | None = None, archive_id: str | None = None,
              action: str | None = None, since: datetime | None = None, until: datetime | None = None,
              limit: int | None = None, offset: int = 0, after: int | None = None,
              archive_ids: Collection[str] | None = None) -> list[RegisterEntry]:
    """Entries in ``seq`` order, filtered; ``since`` inclusive, ``until`` exclusive; ``after``: only entries
    numbered above it; ``archive_ids``: only uses of these archives."""
    c = t.access_register.c
    query = select(t.access_register).order_by(c.seq)
    if archive_ids is not None:
        query = query.where(c.archive_id.in_(sorted(archive_ids)))
    if after is not None:
        query = query.where(c.seq > after)
    for column, value in ((c.username, username), (c.archive_id, archive_id), (c.action, action)):
        if value is not None:
            query = query.where(column == value)
    query = bounded(query, c.at, since=since, until=until, limit=limit, offset=offset)
    with state.transaction() as conn:
        return [_entry(r) for r in conn.execute(query)]


def export_csv(entries: Iterable[RegisterEntry]) -> str:
    """The entries as CSV text (UTF-8 when written; a header row first), for auditors."""
    return csv_text(CSV_FIELDS, (entry.to_dict() for entry in entries))


def _fields(row: Row) -> dict[str, Any]:
    return {**row._asdict(), "masked": bool(row.masked)}


CHAIN = Chain(t.access_register, {"gap": Broken.GAP, "link": Broken.LINK, "altered": Broken.ALTERED,
                                  "truncated": Broken.TRUNCATED}, _fields)


def verify_register(state: State, expected_head: tuple[int, str] | None = None) -> RegisterVerification:
    """Check every entry's hash and its link to the one before; ``expected_head`` (``seq``, ``hash``) noted
    earlier must still be in the chain."""
    return verify(state, CHAIN, expected_head)


def verify_register_after(state: State, earlier: RegisterVerification | None) -> RegisterVerification:
    """:func:`verify_register`, continuing from an ``earlier`` verification (:func:`.chain.verify_after`)."""
    return verify_after(state, CHAIN, earlier)
