"""The file tree of a bag, read without following anything: RFC 8493 §2 (structure), §3 (completeness), §6.

One walk of the bag with ``os.scandir`` and ``lstat`` semantics gives every regular file with its size, every
directory, and every symbolic link or special file (BAG027: reported, never followed, never opened). The walk
also reports names that would collide on a case-insensitive or normalising file system (BAG025, §6.2) and empty
directories under ``data/`` (BAG026: a manifest cannot list a directory, §2.1.3, so they are lost on transfer).

Manifest paths are matched to files as bagit-python does: exactly, or else after Unicode NFC normalisation of
both sides, so a bag written on Linux in NFC and copied through macOS (NFD) still validates.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..codes import Issue, issue
from ..errors import IngestError
from ..messages import printable as display  # the one way to show a file name (re-exported to bags.*)

#: Files an operating system drops into folders by itself (Finder, Explorer). RFC 8493 does not name them; a
#: bag made by copying a folder often carries them, so they are reported with a warning (BAG030) and, when no
#: manifest lists them, left out of the bag's content instead of making it invalid.
OS_FILES = frozenset({".DS_Store", "Thumbs.db", "ehthumbs.db", "desktop.ini"})

PAYLOAD_DIR = "data"
PAYLOAD_PREFIX = "data/"


#: Characters a payload file name may not hold (PAY004): C0 controls and DEL. A line break in a name cannot be
#: written to hsar's signed manifest, and none of them belongs in the name of an archived document.
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def codepoints(chars: Iterable[str]) -> str:
    """The distinct characters of ``chars`` as ``U+000A, U+007F``, sorted."""
    return ", ".join(f"U+{ord(c):04X}" for c in sorted(set(chars)))


def nfc(path: str) -> str:
    return unicodedata.normalize("NFC", path)


def is_payload(path: str) -> bool:
    return path.startswith(PAYLOAD_PREFIX)


def is_os_file(path: str) -> bool:
    return path.rsplit("/", 1)[-1] in OS_FILES


@dataclass
class Tree:
    """Everything found under a bag directory; paths are bag-relative and '/'-separated."""

    files: dict[str, int] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)
    special: set[str] = field(default_factory=set)
    issues: list[Issue] = field(default_factory=list)
    _by_nfc: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    @property
    def payload_files(self) -> list[str]:
        return sorted(p for p in self.files if is_payload(p))

    @property
    def tag_files(self) -> list[str]:
        return sorted(p for p in self.files if not is_payload(p))

    def resolve(self, path: str) -> str | None:
        """The regular file a manifest path names: exact match first, then a unique NFC match."""
        if path in self.files:
            return path
        matches = self._by_nfc.get(nfc(path), [])
        return matches[0] if len(matches) == 1 else None

    def behind_link(self, path: str) -> bool:
        """True if ``path`` is, or lies under, a symbolic link or special file (already BAG027)."""
        parts = path.split("/")
        return any("/".join(parts[:i]) in self.special for i in range(1, len(parts) + 1))

    def payload_bytes(self) -> tuple[int, int]:
        """``(octets, streams)`` of the payload, as Payload-Oxum counts them (RFC 8493 §2.2.2)."""
        sizes = [size for path, size in self.files.items() if is_payload(path)]
        return sum(sizes), len(sizes)


def scan(bag_dir: Path, *, payload: bool = True) -> Tree:
    """Walk ``bag_dir`` (``payload=False`` skips ``data/``). Raises IngestError if a directory is unreadable."""
    tree = Tree()
    stack = [""]
    while stack:
        rel = stack.pop()
        try:
            with os.scandir(bag_dir / rel if rel else bag_dir) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            raise IngestError(f"cannot read directory {display(rel) or '.'}: {exc.strerror}") from None
        _check_collisions(tree, rel, [e.name for e in entries])
        if not entries and (rel == PAYLOAD_DIR or is_payload(rel)):
            tree.issues.append(issue("BAG026", display(rel), directory=display(rel)))
        for entry in entries:
            path = f"{rel}/{entry.name}" if rel else entry.name
            if not payload and path == PAYLOAD_DIR:
                continue
            _classify(tree, entry, path, stack)
    for path in tree.files:
        tree._by_nfc[nfc(path)].append(path)
    return tree


def _classify(tree: Tree, entry: os.DirEntry[str], path: str, stack: list[str]) -> None:
    if entry.is_symlink() or not (entry.is_dir(follow_symlinks=False) or entry.is_file(follow_symlinks=False)):
        tree.special.add(path)
        tree.issues.append(issue("BAG027", display(path)))
    elif entry.is_dir(follow_symlinks=False):
        tree.dirs.add(path)
        stack.append(path)
    else:
        tree.files[path] = entry.stat(follow_symlinks=False).st_size


def _check_collisions(tree: Tree, rel: str, names: list[str]) -> None:
    """BAG025 for names in one directory that differ only by case or Unicode normalisation."""
    groups: dict[str, list[str]] = defaultdict(list)
    for name in names:
        groups[nfc(name).casefold()].append(name)
    for group in groups.values():
        first = sorted(group)[0]
        for name in sorted(group)[1:]:
            path = display(f"{rel}/{name}" if rel else name)
            tree.issues.append(issue("BAG025", path, name=f"{_spelled(name)} / {_spelled(first)}"))


def _spelled(name: str) -> str:
    """A name as a person can tell it from its twin: NFC and NFD forms look alike, so a non-ASCII name also
    shows its form and its code points (``é.txt [NFD: e\\u0301.txt]``)."""
    if name.isascii():
        return name
    form = next((f for f in ("NFC", "NFD") if unicodedata.is_normalized(f, name)), "mixed")
    return f"{name} [{form}: {name.encode('ascii', 'backslashreplace').decode('ascii')}]"
