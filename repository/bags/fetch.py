"""``fetch.txt``: RFC 8493 §2.2.3 (and the same file in drafts 0.93-0.97), and "complete" in §3.

Each line is ``url WSP length WSP filepath``; ``length`` is a number of octets or ``-`` (unknown); the path is
a payload path, written as in the manifests (percent-encoded in 1.0). A bag with ``fetch.txt`` is valid; it is
*complete* only once every file it lists is present. A listed file that is absent makes the bag "holey": that
is reported once per file as BAG029, distinct from a manifest entry whose file is simply missing (BAG009).
Whether the repository accepts a bag with ``fetch.txt`` at all is policy (the profile's ``Allow-Fetch.txt``,
PRF008, and BAG021 in the full SIP validation), not this module's concern.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..codes import Issue, issue
from .scan import is_payload
from .tagfiles import FETCH_TXT, Line, decode_path, path_problem

_LINE = re.compile(r"^([^ \t]+)[ \t]+([0-9]+|-)[ \t]+(.+)$", re.DOTALL)


@dataclass(frozen=True)
class FetchEntry:
    """One line of ``fetch.txt``: where the file comes from, its length if known, its bag path."""

    url: str
    length: int | None
    path: str


@dataclass
class FetchList:
    entries: list[FetchEntry] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)


def parse_fetch(lines: Iterable[Line], *, decode: bool) -> FetchList:
    """Entries of ``fetch.txt`` from ``(number, text)`` lines; BAG014 for a malformed line, BAG008 for a path
    that is not a payload path. Raises ``UnicodeDecodeError`` from ``lines``."""
    found = FetchList()
    for number, line in lines:
        if line is not None and not line.strip(" \t"):
            continue
        match = _LINE.match(line) if line is not None else None
        if match is None:
            found.issues.append(issue("BAG014", FETCH_TXT, file=FETCH_TXT, line=number))
            continue
        path = decode_path(match.group(3)) if decode else match.group(3)
        if path_problem(path) is not None or not is_payload(path):
            found.issues.append(issue("BAG008", FETCH_TXT, entry=path, manifest=FETCH_TXT, line=number))
            continue
        length = None if match.group(2) == "-" else int(match.group(2))
        found.entries.append(FetchEntry(match.group(1), length, path))
    return found
