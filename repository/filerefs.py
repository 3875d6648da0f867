"""File references: a document of an archive named by its item (件号) and its place among the item's files.

A stored file's name may hold a person's name or an identity number (``data/basic/张三丰-身份证.pdf``). A user who
does not see personal data is shown that name masked (``data/basic/张*-身份证.pdf``), and a masked name cannot
lead back to the file. Every link to a document therefore names it by reference: ``~12.1`` is the first file of
item 12, in the order the item lists its files (the order of the description and of the access copy's
``documents/0012-01.*``). A reference says nothing a catalogue entry does not say already, and it stays the same
across versions as long as the item keeps its files: item numbers are never reused within an archive.

Pages, the API and jobs accept a reference wherever they accept a stored path (``data/...``); a file that belongs
to no item (none does in a valid package) has no reference and is reached by its path only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

PREFIX = "~"
_REF = re.compile(r"~(0|[1-9][0-9]{0,8})\.([1-9][0-9]{0,5})")


def ref(number: int, place: int) -> str:
    """The reference of the ``place``-th file (from 1) of item ``number``."""
    return f"{PREFIX}{number}.{place}"


def is_ref(value: str) -> bool:
    """Whether ``value`` is written as a reference (well formed or not), never as a stored path."""
    return value.startswith(PREFIX)


def parse(value: str) -> tuple[int, int] | None:
    """(item number, place) of the reference ``value``; None when it is not one (only the canonical form:
    ASCII digits, no leading zeros)."""
    found = _REF.fullmatch(value)
    return None if found is None else (int(found.group(1)), int(found.group(2)))


def refs_of(items: Iterable[tuple[int, Sequence[str]]]) -> dict[str, str]:
    """Each stored path of the items ``(number, files)`` -> its reference (a path listed twice: its first)."""
    out: dict[str, str] = {}
    for number, files in items:
        for place, path in enumerate(files, start=1):
            out.setdefault(path, ref(number, place))
    return out


def resolve(items: Iterable[tuple[int, Sequence[str]]], value: str) -> str | None:
    """The stored path the reference ``value`` names among the items ``(number, files)``; None when it names none."""
    wanted = parse(value)
    if wanted is None:
        return None
    number, place = wanted
    for n, files in items:
        if n == number:
            return files[place - 1] if place <= len(files) else None
    return None
