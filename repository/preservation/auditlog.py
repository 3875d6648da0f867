"""The audit log (审计日志): append-only, hash-chained JSON lines of PREMIS events in the repository home.

``<home>/audit/log.jsonl`` holds one JSON object per line. Each entry carries the PREMIS 3.0 event fields
(identifier, type, datetime, outcome, detail, linking agents and objects) plus the archive and copy it is
about, its sequence number ``seq`` (1, 2, ...), the hash of the entry before it ``prev`` (64 zeros for the
first) and its own ``hash``: SHA-256 over the canonical JSON (sorted keys, UTF-8, no spaces) of the entry
without ``hash``. Changing any entry breaks its hash; deleting or inserting one breaks ``seq``/``prev`` of the
next. Deleting the *last* entries leaves a valid but shorter chain, so the chain head (``seq`` and ``hash``
of the newest entry) is also kept in a second place, ``<home>/audit/head.json``, and every audit report and
catalogue audit row names the log entries of its run ("anchors"): :meth:`AuditLog.verify` checks all three.

Appends take an exclusive ``flock`` and continue the chain from ``head.json``, not from whatever the last
line now is, so truncating the log cannot be papered over by the next append. After a crash between
writing lines and moving the head, the lines past the head still chain correctly and are accepted.

``head.json`` also records the byte offset at which the head entry's line starts, so an append reads only
that line and what follows it, not the whole log (which grows with every audit run): the line found there
must be the recorded head, byte for byte in ``seq`` and ``hash``; otherwise (a ``head.json`` written before
offsets were kept, or a log rewritten or truncated) the append falls back to scanning the whole log, exactly
as before. A log that ends inside a line (a write cut short) has that fragment moved to ``log.jsonl.torn``
before the next append, so new entries never join it.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..codes import Issue, issue
from ..errors import PreservationError
from .ocfl_layout import replace_atomic
from .premis import PremisEvent

LOG_FILE = "log.jsonl"
HEAD_FILE = "head.json"
LOCK_FILE = ".log.lock"
TORN_FILE = "log.jsonl.torn"  # fragments of lines a cut-short write left at the end of the log
TORN_WINDOW = 1 << 22  # how far back a torn tail is looked for
GENESIS = "0" * 64


@dataclass(frozen=True)
class LogHead:
    """A position in the chain: entry number and its hash."""

    seq: int
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash}


@dataclass(frozen=True)
class LogVerification:
    """Outcome of :meth:`AuditLog.verify`; ``ok`` is the verdict."""

    entries: int
    head: LogHead | None
    issues: tuple[Issue, ...]
    beyond_head: int = 0  # entries after head.json (a crash between the two writes); accepted

    @property
    def ok(self) -> bool:
        return not self.issues

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "head": self.head.to_dict() if self.head else None,
                "beyond_head": self.beyond_head, "issues": [i.to_dict(lang) for i in self.issues]}


def event_record(event: PremisEvent, *, object_id: str, copy: str | None = None, archive_id: str | None = None
                 ) -> dict[str, Any]:
    """A log record for one PREMIS event about one object (and one copy of it)."""
    return {
        "kind": "premis-event", "object_id": object_id, "archive_id": archive_id, "copy": copy,
        "event": {"identifier": event.identifier, "type": event.type, "datetime": event.datetime.isoformat(),
                  "outcome": event.outcome, "detail": event.detail, "outcome_detail": event.outcome_detail,
                  "agents": [list(a) for a in event.agents], "objects": [list(o) for o in event.objects]},
    }


def canonical(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical entry without its ``hash`` field."""
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


_LOCKS = re.compile(r"locks of (v\d+(?:, v\d+)*) checked")  # the audit's signature-check event detail


class AuditLog:
    """The hash-chained log in ``directory`` (normally ``<home>/audit``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / LOG_FILE
        self.head_path = self.directory / HEAD_FILE

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / LOCK_FILE, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def head(self) -> LogHead | None:
        """The head recorded in ``head.json`` (None when nothing was ever logged or it is unreadable)."""
        return self._recorded()[0]

    def _recorded(self) -> tuple[LogHead | None, int | None]:
        """``head.json``: the head, and the byte offset of its line in the log (None when not recorded)."""
        try:
            data = json.loads(self.head_path.read_text("utf-8"))
            head = LogHead(int(data["seq"]), str(data["hash"]))
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            return None, None
        offset = data.get("offset")
        return head, offset if isinstance(offset, int) and not isinstance(offset, bool) and offset >= 0 else None

    def _last_line_head(self) -> LogHead | None:
        """Head read from the log's last line (used only when head.json is missing)."""
        last = None
        for _number, entry in self._entries():
            last = entry
        if not isinstance(last, dict) or "seq" not in last or "hash" not in last:
            return None
        return LogHead(int(last["seq"]), str(last["hash"]))

    def append(self, records: Iterable[Mapping[str, Any]]) -> LogHead | None:
        """Append ``records`` (JSON-ready dicts) as chained entries; the new head (None if nothing to add)."""
        records = list(records)
        if not records:
            return self.head()
        return self.append_groups([records])[0]

    def append_groups(self, groups: Sequence[Sequence[Mapping[str, Any]]]) -> list[LogHead | None]:
        """Append several groups of records in one write (one fsync); the head after each group (the head
        before it for an empty group)."""
        with self._locked():
            head = self._current_head()
            seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
            lines: list[bytes] = []
            heads: list[LogHead | None] = []
            for records in groups:
                for record in records:
                    seq += 1
                    entry = {**record, "seq": seq, "prev": prev}
                    entry["hash"] = prev = entry_hash(entry)
                    lines.append(canonical(entry) + b"\n")
                heads.append(LogHead(seq, prev) if seq else None)
            if not lines:
                return heads
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                self._set_aside_torn_tail(fd)
                start = os.fstat(fd).st_size  # appends are serialised by the lock: the lines go here
                data = b"".join(lines)
                try:
                    if os.write(fd, data) != len(data):  # a full disk may take part of it
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
                    os.fsync(fd)
                except OSError:
                    os.ftruncate(fd, start)  # nothing half-written: the log ends where it did
                    raise
            finally:
                os.close(fd)
            offset = start + sum(len(line) for line in lines[:-1])
            replace_atomic(self.head_path, canonical({"seq": seq, "hash": prev, "offset": offset}) + b"\n")
            return heads

    def _set_aside_torn_tail(self, fd: int) -> None:
        """A write cut short (power loss, a full disk) leaves the log ending inside a line. Those bytes were
        never an entry (entries are written whole, each ending in a newline): they are appended to
        ``log.jsonl.torn`` with their offset, and the log is cut back to its last whole line, so the next
        entry starts a line of its own instead of being glued to the fragment."""
        size = os.fstat(fd).st_size
        if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
            return
        window = min(size, TORN_WINDOW)
        tail = os.pread(fd, window, size - window)
        cut = tail.rfind(b"\n")
        if cut < 0 and window < size:
            raise PreservationError(f"{self.path} ends in a line longer than {TORN_WINDOW} bytes; not appended "
                                    "to (inspect it, then `hsar audit log --verify`)", "AUDIT-LOG")
        keep = size - window + cut + 1
        fragment = tail[cut + 1:]
        note = canonical({"offset": keep, "bytes": len(fragment), "at": datetime.now(UTC).isoformat()})
        with open(self.directory / TORN_FILE, "ab") as torn:
            torn.write(note + b"\n" + fragment + b"\n")
            torn.flush()
            os.fsync(torn.fileno())
        os.ftruncate(fd, keep)
        os.fsync(fd)

    def _current_head(self) -> LogHead | None:
        """head.json, rolled forward over entries a crash left past it; the log's last line if it is missing.

        Reads from the recorded offset of the head's line when that line is the head, else the whole log.
        """
        head, offset = self._recorded()
        if head is None:
            return self._last_line_head()
        if offset is not None:
            rolled = self._roll_forward(head, self._entries(offset))
            if rolled is not None:
                return rolled
        return self._roll_forward(head, self._entries()) or head

    @staticmethod
    def _roll_forward(head: LogHead, entries: Iterator[tuple[int, Any]]) -> LogHead | None:
        """The head moved over the well-chained entries following it; None when ``head`` is not among them."""
        following = False
        for _number, entry in entries:
            if not isinstance(entry, dict):
                continue
            if entry.get("seq") == head.seq and entry.get("hash") == head.hash:
                following = True
            elif following and entry.get("prev") == head.hash and entry.get("seq") == head.seq + 1 \
                    and entry_hash(entry) == entry.get("hash"):
                head = LogHead(head.seq + 1, entry["hash"])
        return head if following else None

    def _entries(self, offset: int = 0, only: bytes | None = None) -> Iterator[tuple[int, Any]]:
        """(line number, parsed JSON or None) for every line from byte ``offset`` on (numbered from there),
        streamed; with ``only``, the lines holding those bytes. An offset inside a line yields the rest of that
        line first (it cannot parse as the head)."""
        try:
            handle = open(self.path, "rb")
        except FileNotFoundError:
            return
        with handle:
            handle.seek(offset)
            for number, raw in enumerate(handle, 1):
                if only is not None and only not in raw:
                    continue
                try:
                    yield number, json.loads(raw)
                except (ValueError, RecursionError):
                    yield number, None

    def verified_heads(self) -> dict[str, int]:
        """``{archive id: the newest version an audit verified}``, from the log's successful signature checks
        ("locks of v1, v2 checked"): evidence that outlives a lost catalogue (an entry whose hash does not
        hold is not evidence). Lines without that event are skipped before parsing."""
        heads: dict[str, int] = {}
        for _number, entry in self._entries(only=b'"digital signature validation"'):
            if not isinstance(entry, dict):
                continue
            event, archive_id = entry.get("event"), entry.get("archive_id")
            if not isinstance(event, dict) or not isinstance(archive_id, str) or event.get("outcome") != "success":
                continue
            found = _LOCKS.match(str(event.get("detail", "")))
            if not found:
                continue
            newest = max(int(v) for v in re.findall(r"v(\d+)", found.group(1)))
            # the hash is checked only where the entry would raise the head: every audit run logs the same
            # versions again, and hashing each of those entries cost more than reading them
            if newest > heads.get(archive_id, 0) and entry.get("hash") == entry_hash(entry):
                heads[archive_id] = newest
        return heads

    def verify(self, anchors: Iterable[LogHead] = ()) -> LogVerification:
        """Check every line's hash, the chain, the recorded head and the ``anchors`` (from reports/catalogue)."""
        wanted = {a.seq: a.hash for a in anchors}
        head = self.head()
        problems: list[Issue] = []
        prev, expected_seq, count, head_seen, beyond = GENESIS, 1, 0, head is None, 0
        for number, entry in self._entries():
            count += 1
            if not isinstance(entry, dict) or entry.get("hash") != entry_hash(entry):
                problems.append(issue("AUD019", str(self.path), line=number))
                prev = entry.get("hash", "") if isinstance(entry, dict) else ""
                expected_seq += 1
                continue
            if entry.get("seq") != expected_seq or entry.get("prev") != prev:
                problems.append(issue("AUD020", str(self.path), line=number))
            seq, prev = entry["seq"], entry["hash"]
            expected_seq = (seq if isinstance(seq, int) else expected_seq) + 1
            if seq in wanted and wanted.pop(seq) != prev:
                problems.append(issue("AUD022", str(self.path), seq=seq))
            if head is not None and head_seen:
                beyond += 1
            if head is not None and seq == head.seq and prev == head.hash:
                head_seen = True
        if not head_seen:
            problems.append(issue("AUD021", str(self.head_path), expected=head.seq if head else 0,
                                  found=expected_seq - 1))
        elif head is None and count:
            problems.append(issue("AUD021", str(self.head_path), expected="?", found=expected_seq - 1))
        problems += [issue("AUD022", str(self.path), seq=seq) for seq in sorted(wanted)]
        return LogVerification(count, head, tuple(problems), beyond)
