"""The security log (安全审计日志): every sign-in and its outcome, every sign-in lock, every sign-out, and every
change to accounts and tokens, with who did it, when and from where.

等保 (GB/T 22239, 安全审计) asks that important user actions and security events be recorded with their date
and time, user, event and outcome, and that the record be protected from change and deletion. The access
register (:mod:`.register`) records the uses of archives; this log records the rest, and the decisions of the open
review of scans' researchers' copies (:mod:`.scanreviews`). Its entries are
append-only and hash-chained as the register's are (:mod:`.chain`), so a changed, removed or inserted entry is
found (codes ``SEC-GAP``, ``SEC-LINK``, ``SEC-ALTERED``, ``SEC-TRUNCATED``).

Each change to an account writes its line in the same transaction as the change (:func:`append`): there is
no change without its line, and no line without its change. A caller that names nobody is the system
(:data:`SYSTEM`); the command line names the shell's login and host (:meth:`Actor.shell`), the web the signed-in
account and the client's address.

Every entry carries the division of the account it concerns (``""`` when none is known: a sign-in under a
name no account has), so a reader below the national scope lists the entries of accounts in its scope
(:func:`list_events`).
"""

from __future__ import annotations

import getpass
import json
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, insert, or_, select, text

from .. import messages
from ..state import tables as t
from ..state.db import State
from ..state.tables import utc
from .chain import Chain, Verification, bounded, chained, csv_text, verify, verify_after

CSV_FIELDS = ("seq", "at", "username", "role", "event", "subject", "division", "address", "detail", "prev_hash",
              "hash")
#: the longest name, address and role kept (the columns' widths)
NAME_LENGTH, ADDRESS_LENGTH, ROLE_LENGTH = 100, 64, 16


class Event(StrEnum):
    """What happened; the text of each is ``securitylog.event.<value>`` in the message catalogue."""

    SIGN_IN = "sign-in"  # 登录成功
    SIGN_IN_FAILED = "sign-in-failed"  # 登录失败 (detail: reason unknown / password / disabled)
    LOCKED = "locked"  # this failure locked the name (detail: until)
    SIGN_IN_LOCKED = "sign-in-locked"  # refused: the name is locked (its password not checked)
    SIGN_OUT = "sign-out"
    USER_ADD = "user-add"  # detail: role, division
    USER_SET = "user-set"  # detail: role and/or division, [before, after]
    USER_DISABLE = "user-disable"
    USER_ENABLE = "user-enable"
    PASSWORD_SET = "password-set"
    UNLOCK = "unlock"  # a sign-in lock lifted (detail: was_locked)
    TOKEN_CREATE = "token-create"  # detail: token id, name
    TOKEN_REVOKE = "token-revoke"  # detail: token id, name
    SCAN_APPROVE = "scan-approve"  # a scan's researcher's copy approved (detail: archive, path, review, boxes)
    SCAN_REJECT = "scan-reject"  # a scan's researcher's copy rejected: researchers get its OCR text only


class Broken(StrEnum):
    GAP = "SEC-GAP"
    LINK = "SEC-LINK"
    ALTERED = "SEC-ALTERED"
    TRUNCATED = "SEC-TRUNCATED"


@dataclass(frozen=True)
class Actor:
    """Who acts: an account (``role`` its role), the shell (``"shell"``: the login name, ``address`` the host)
    or the system (:data:`SYSTEM`); ``address`` is the client's IP address for the web."""

    username: str
    role: str
    address: str = ""

    @classmethod
    def shell(cls) -> Actor:
        """The person at the server's shell: their login name and the host."""
        try:
            login = getpass.getuser()
        except (KeyError, OSError):  # no name for this uid (a container)
            login = ""
        return cls(login, "shell", socket.gethostname())


SYSTEM = Actor("", "system", "")


@dataclass(frozen=True)
class SecurityEntry:
    seq: int
    at: datetime
    username: str
    role: str
    event: str
    subject: str
    division: str
    address: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at.isoformat(), "username": self.username, "role": self.role,
                "event": self.event, "subject": self.subject, "division": self.division, "address": self.address,
                "detail": self.detail, "prev_hash": self.prev_hash, "hash": self.hash}


def shown_detail(entry: SecurityEntry, lang: str | None = None) -> str:
    """An entry's detail for a reader in ``lang``: ``原因：密码错误``, ``角色：researcher → archivist`` …, each
    known key named from the message catalogue (an unknown one as it is), times in Beijing time."""
    parts = []
    for key, value in sorted(entry.detail.items()):
        label = messages.text(f"securitylog.detail.{key}", lang) if messages.has(f"securitylog.detail.{key}") else key
        if key == "reason" and messages.has(f"securitylog.reason.{value}"):
            shown: object = messages.text(f"securitylog.reason.{value}", lang)
        elif key == "until" and isinstance(value, str):
            try:
                shown = messages.local_time(datetime.fromisoformat(value))
            except ValueError:
                shown = value
        elif isinstance(value, bool):
            shown = messages.text("securitylog.yes" if value else "securitylog.no", lang)
        elif key == "role":  # 角色：研究人员 → 档案员
            pair = value if isinstance(value, list) else [value]
            shown = " → ".join(messages.label("role", v, lang) for v in pair)
        elif isinstance(value, list) and len(value) == 2:
            shown = f"{value[0]} → {value[1]}"
        else:
            shown = value
        parts.append(f"{label}{'：' if messages.normalise_lang(lang) == 'zh' else ': '}{shown}")
    return "；".join(parts) if messages.normalise_lang(lang) == "zh" else "; ".join(parts)


def _detail_text(detail: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(detail or {}), ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _entry(row: Row[Any]) -> SecurityEntry:
    values = row._asdict()
    try:
        detail = json.loads(values["detail"])
    except ValueError:
        detail = {"text": values["detail"]}
    return SecurityEntry(**{**values, "at": utc(row.at), "detail": detail if isinstance(detail, dict) else {}})


_HEAD = select(t.security_log.c.seq, t.security_log.c.hash).order_by(t.security_log.c.seq.desc()).limit(1)
_LOCK = text("LOCK TABLE security_log IN SHARE ROW EXCLUSIVE MODE")


def append(conn: Connection, actor: Actor, event: Event, *, subject: str = "", division: str = "",
           detail: Mapping[str, Any] | None = None, at: datetime | None = None) -> SecurityEntry:
    """Append one entry in the caller's write transaction (chained on the head read in it: on SQLite the
    transaction holds the write lock from its start; on PostgreSQL the table is locked against other writers,
    not readers)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK)
    head = conn.execute(_HEAD).first()
    fields = {"at": utc(at) if at is not None else datetime.now(UTC), "username": actor.username[:NAME_LENGTH],
              "role": actor.role[:ROLE_LENGTH], "event": Event(event).value, "subject": subject[:NAME_LENGTH],
              "division": division, "address": actor.address[:ADDRESS_LENGTH], "detail": _detail_text(detail)}
    row = chained((head.seq, head.hash) if head else None, [fields])[0]
    conn.execute(insert(t.security_log).values(**row))
    return SecurityEntry(**{**row, "detail": json.loads(row["detail"])})


def record(state: State, actor: Actor, event: Event, *, subject: str = "", division: str = "",
           detail: Mapping[str, Any] | None = None, at: datetime | None = None) -> SecurityEntry:
    """Append one entry in a transaction of its own (an event that changes nothing else: a sign-in, a
    sign-out)."""
    with state.transaction(write=True) as conn:
        return append(conn, actor, event, subject=subject, division=division, detail=detail, at=at)


def list_events(state: State, *, prefixes: Sequence[str] | None = None, username: str | None = None,
                event: str | None = None, since: datetime | None = None, until: datetime | None = None,
                limit: int | None = None, offset: int = 0, newest: int | None = None) -> list[SecurityEntry]:
    """Entries in ``seq`` order, filtered: ``prefixes`` the division scope (None: every entry; ``[""]`` the
    national scope, which also sees entries of no known account), ``username`` an account that acted or was
    acted on, ``since`` inclusive, ``until`` exclusive; ``newest``: only the last so many of those (read from
    the end, not the whole log)."""
    c = t.security_log.c
    query = select(t.security_log).order_by(c.seq.desc() if newest is not None else c.seq)
    if prefixes is not None and "" not in prefixes:
        query = query.where(or_(*(c.division.startswith(p, autoescape=True) for p in prefixes))
                            if prefixes else c.seq < 0)
    if username is not None:
        query = query.where(or_(c.username == username, c.subject == username))
    if event is not None:
        query = query.where(c.event == event)
    query = bounded(query, c.at, since=since, until=until, limit=newest if newest is not None else limit,
                    offset=offset)
    with state.transaction() as conn:
        found = [_entry(r) for r in conn.execute(query)]
    return found[::-1] if newest is not None else found


def export_csv(entries: Iterable[SecurityEntry]) -> str:
    """The entries as CSV text (a header row first; ``detail`` as its JSON), for auditors."""
    return csv_text(CSV_FIELDS, (entry.to_dict() | {"detail": _detail_text(entry.detail)} for entry in entries))


def _fields(row: Row[Any]) -> dict[str, Any]:
    return row._asdict()


CHAIN = Chain(t.security_log, {"gap": Broken.GAP, "link": Broken.LINK, "altered": Broken.ALTERED,
                               "truncated": Broken.TRUNCATED}, _fields)


def verify_log(state: State, expected_head: tuple[int, str] | None = None) -> Verification:
    """Check every entry's hash and link (:func:`.chain.verify`); ``expected_head`` noted earlier must still be
    in the chain."""
    return verify(state, CHAIN, expected_head)


def verify_log_after(state: State, earlier: Verification | None) -> Verification:
    """:func:`verify_log`, continuing from an ``earlier`` verification (:func:`.chain.verify_after`)."""
    return verify_after(state, CHAIN, earlier)
