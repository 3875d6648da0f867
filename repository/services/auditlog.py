"""Use-cases on the audit log (审计日志, ``<home>/audit/log.jsonl``): read its last entries, verify its chain.

The log is append-only and hash-chained (:mod:`repository.preservation.auditlog`); verification checks every
line, the chain, its recorded head and the anchors in the audit reports (:mod:`repository.audit.logcheck`).
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from .. import access
from ..access import Principal
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


_BLOCK = 1 << 16
#: how much of the log's end a reader below the national scope has searched for its events, at most
SCOPED_SCAN_BYTES = 64 << 20


def _from_end(path: Path, limit: int | None = None) -> Iterator[bytes]:
    """The lines of the file at ``path``, newest first, read block by block from its end (each block read
    once); at most ``limit`` bytes of it (None: all)."""
    with open(path, "rb") as handle:
        start = handle.seek(0, os.SEEK_END)
        floor = 0 if limit is None else max(0, start - limit)
        rest = b""  # the start of a line whose beginning lies in an earlier block
        while start > floor:
            step = min(_BLOCK, start - floor)
            start -= step
            handle.seek(start)
            pieces = (handle.read(step) + rest).split(b"\n")
            rest = pieces[0]
            yield from (p for p in reversed(pieces[1:]) if p)
        if rest and floor == 0:  # the file's first line (a line cut by the limit is left out)
            yield rest


def tail(repo: Repository, count: int = 10) -> tuple[LogLine, ...]:
    """The last ``count`` lines of the log, oldest first (none when there is no log yet); read from its end,
    block by block, so a long log costs no more than a short one."""
    path = repo.paths.audit_log
    if count <= 0 or not path.exists():
        return ()
    newest = list(itertools.islice(_from_end(path), count))
    return tuple(LogLine(raw.decode("utf-8", "replace")) for raw in reversed(newest))


def tail_in_scope(repo: Repository, principal: Principal, count: int = 10) -> tuple[LogLine, ...]:
    """The last ``count`` lines of the log that ``principal`` may see, oldest first: below the national scope,
    only the events of archives in its scope (:func:`repository.access.may_see` of the archive's division,
    catalogued or disposed of); a line that does not parse, or names no archive the catalogue knows, is shown
    to the national scope alone. The log is read once from its end, its archives looked up a batch at a time,
    and no further back than :data:`SCOPED_SCAN_BYTES`: a district whose events are rare gets those in the
    log's newest part, not a search of the whole log on every request."""
    if access.national(principal):
        return tail(repo, count)
    path = repo.paths.audit_log
    if count <= 0 or not path.exists():
        return ()
    seen: dict[str, bool] = {}
    kept: list[LogLine] = []
    lines = (LogLine(raw.decode("utf-8", "replace")) for raw in _from_end(path, SCOPED_SCAN_BYTES))
    while len(kept) < count:
        batch = [(line, _archive_of(line)) for line in itertools.islice(lines, 500)]
        if not batch:
            break
        new = {a for _line, a in batch if a is not None and a not in seen}
        if new:
            divisions = repo.catalog.divisions_of(new)
            seen.update((i, i in divisions and access.may_see(principal, divisions[i])) for i in new)
        kept += [line for line, a in batch if a is not None and seen[a]]
    return tuple(reversed(kept[:count]))


def _archive_of(line: LogLine) -> str | None:
    """The archive a log line is about (None: it does not parse, or names none)."""
    try:
        found = line.entry.get("archive_id")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None


def verify(repo: Repository) -> LogVerification:
    """The log's verification: ``ok``, entries, and an issue for each line altered, inserted or deleted."""
    return verify_log(repo)


#: per process: the log's verification, with the state of the files it read (see :func:`verified`)
_VERIFIED: dict[Path, tuple[tuple[object, ...], LogVerification]] = {}


def _files_state(repo: Repository) -> tuple[object, ...]:
    found: list[object] = []
    for path in (repo.paths.audit_log, repo.paths.audit / "head.json", repo.paths.reports):
        try:
            st = os.stat(path)
        except OSError:
            found.append(None)
            continue
        # the change time too: a write in place that keeps the size and puts the modification time back still
        # moves it (utime cannot set it)
        found.append((st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return tuple(found)


def verified(repo: Repository) -> LogVerification:
    """:func:`verify`, remembered in this process while the log, its recorded head and the reports folder (the
    anchors) are as they were: the audit page shows the log's state at every load, and verifying a long log
    reads and hashes every line (seconds at hundreds of thousands of entries). Any append, any write to the
    log, or a new report verifies it again in full."""
    state = _files_state(repo)
    known = _VERIFIED.get(repo.paths.audit_log)
    if known is not None and known[0] == state:
        return known[1]
    result = verify(repo)
    if _files_state(repo) == state:  # not changed while it was read: worth remembering
        _VERIFIED[repo.paths.audit_log] = (state, result)
    return result
