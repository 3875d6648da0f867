"""Use-cases on the audit log (审计日志, ``<home>/audit/log.jsonl``): read its last entries, verify its chain.

The log is append-only and hash-chained (:mod:`repository.preservation.auditlog`); verification checks every
line, the chain, its recorded head and the anchors in the audit reports (:mod:`repository.audit.logcheck`).
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from typing import cast

from ..audit.logcheck import verify_log
from ..home import Repository
from ..preservation.auditlog import LogVerification


@dataclass(frozen=True)
class LogLine:
    """One line of the log as written (``raw``); :attr:`entry` parses it."""

    raw: str

    @property
    def entry(self) -> dict[str, object]:
        return cast("dict[str, object]", json.loads(self.raw))


def tail(repo: Repository, count: int = 10) -> tuple[LogLine, ...]:
    """The last ``count`` lines of the log, oldest first (none when there is no log yet)."""
    lines: deque[str] = deque(maxlen=count)
    path = repo.paths.audit_log
    if count and path.exists():
        with open(path, encoding="utf-8") as handle:
            lines.extend(line.rstrip("\n") for line in handle)
    return tuple(LogLine(line) for line in lines)


def verify(repo: Repository) -> LogVerification:
    """The log's verification: ``ok``, entries, and an issue for each line altered, inserted or deleted."""
    return verify_log(repo)
