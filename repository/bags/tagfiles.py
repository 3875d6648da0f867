"""Reading and writing BagIt tag files: RFC 8493 §2.1.1, §2.1.3, §2.2.1, §2.2.2 and §6.

- ``bagit.txt`` (§2.1.1): exactly two lines, ``BagIt-Version: M.N`` then ``Tag-File-Character-Encoding:
  ENCODING``, in UTF-8 without a byte-order mark.
- Manifests (§2.1.3, §2.2.1): ``checksum 1*WSP filepath`` per line; in 1.0 bags CR, LF and ``%`` in a path
  (and only those) are percent-encoded (``%0D``, ``%0A``, ``%25``); ``/`` separates segments.
- ``bag-info.txt`` (§2.2.2): ``Label: value`` lines, a value continued on lines that start with whitespace.
  "Except for linebreaks, such padding does not form part of the value": a continuation keeps its line break
  (as ``\\n``) and loses its indentation. Labels are compared case-insensitively.
- Tag files are read in the encoding ``bagit.txt`` declares; lines end at LF, CR or CRLF and nowhere else
  (``str.splitlines`` would also split at U+2028 and friends, which may occur in file names).
- Paths are checked against §6 (security): relative, no ``.``/``..`` segments, no backslash or drive letter.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..codes import Issue, issue
from ..fixity import open_regular
from .versions import CURRENT_VERSION, LEGACY_VERSIONS, rules_for

__all__ = ["CURRENT_VERSION", "LEGACY_VERSIONS"]  # re-exported: the version table lives in .versions

BAGIT_TXT = "bagit.txt"
BAG_INFO = "bag-info.txt"
FETCH_TXT = "fetch.txt"
#: Older versions (BagIt drafts 0.93-0.97) are read by their own rules with a warning (BAG028); anything
#: else is BAG003.
MAX_DECLARATION_BYTES = 4096
#: Longest tag file line read (characters); a longer line is reported as malformed, never held in memory.
MAX_LINE = 64 * 1024

_NOT_TEXT_CODECS = frozenset({"undefined", "unicode_escape", "raw_unicode_escape", "idna", "punycode"})
_MANIFEST_NAME = re.compile(r"^(tag)?manifest-(.+)\.txt$")
_DECODE = re.compile(r"%(0[aAdD]|25)")
_DECODED = {"0a": "\n", "0d": "\r", "25": "%"}
_ENCODE = re.compile(r"[%\r\n]")
_ENCODED = {"%": "%25", "\r": "%0D", "\n": "%0A"}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ENTRY = re.compile(r"^[ \t]*([^ \t]+)([ \t]+)(.+)$", re.DOTALL)
_HEX = re.compile(r"^[0-9A-Fa-f]+$")
_DRIVE = re.compile(r"^[A-Za-z]:")
_DECLARATION_LINE = re.compile(r"^(BagIt-Version|Tag-File-Character-Encoding)[ \t]*:[ \t]*(.*?)[ \t]*$")
_VERSION = re.compile(r"^\d+\.\d+$")


def manifest_kind(name: str) -> tuple[bool, str] | None:
    """``(is_tag_manifest, algorithm)`` if ``name`` (a bag-root file name) names a manifest, else None."""
    match = _MANIFEST_NAME.match(name)
    return (match.group(1) is not None, match.group(2)) if match else None


def is_tag_manifest(path: str) -> bool:
    """True for ``tagmanifest-<alg>.txt`` at the bag root (a bag path)."""
    kind = manifest_kind(path) if "/" not in path else None
    return kind is not None and kind[0]


def encode_path(path: str) -> str:
    """Percent-encode ``%``, CR and LF (and only those) for a 1.0 manifest line (RFC 8493 §2.1.3)."""
    return _ENCODE.sub(lambda m: _ENCODED[m.group(0)], path)


def decode_path(text: str) -> str:
    """Undo :func:`encode_path`: ``%0A``, ``%0D``, ``%25`` (either hex case); other ``%XX`` stay literal."""
    return _DECODE.sub(lambda m: _DECODED[m.group(1).lower()], text)


def path_problem(path: str) -> str | None:
    """Why ``path`` may not appear in a manifest (RFC 8493 §2.1.3, §6), or None if it may."""
    if not path:
        return "empty path"
    if "\x00" in path:
        return "NUL character"
    if "\\" in path:
        return "backslash (the separator is '/')"
    if path.startswith("/") or _DRIVE.match(path):
        return "absolute path"
    if path.startswith("~"):
        return "'~' (home directory) prefix"
    segments = path.split("/")
    if ".." in segments:
        return "'..' segment"
    if "." in segments or "" in segments:
        return "empty or '.' segment"
    return None


def codec_for(encoding: str) -> str | None:
    """The Python codec for a declared Tag-File-Character-Encoding, or None if it is not a text encoding."""
    try:
        info = codecs.lookup(encoding)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_TEXT_CODECS:
        return None
    return info.name


def read_declaration(path: Path) -> bytes:
    """The bytes of ``bagit.txt`` (never through a link), at most one byte over the size limit."""
    with open_regular(path) as raw:
        return raw.read(MAX_DECLARATION_BYTES + 1)


Line = tuple[int, str | None]


def iter_lines(path: Path, codec: str) -> Iterator[Line]:
    """``(line number, text)`` of a tag file, streamed; ends of lines removed; a leading BOM dropped.

    A line longer than :data:`MAX_LINE` is skipped and yielded as ``(number, None)``. The file is never opened
    through a link. Raises ``UnicodeDecodeError`` when the bytes are not ``codec``.
    """
    with open_regular(path) as raw, io.TextIOWrapper(raw, encoding=codec, errors="strict", newline=None) as text:
        number = 0
        while line := text.readline(MAX_LINE + 1):
            number += 1
            if len(line) > MAX_LINE and not line.endswith("\n"):
                while (rest := text.readline(MAX_LINE)) and not rest.endswith("\n"):
                    pass
                yield number, None
                continue
            if number == 1 and line.startswith("\ufeff"):
                line = line[1:]
            yield number, line[:-1] if line.endswith("\n") else line


@dataclass
class Declaration:
    """What ``bagit.txt`` says, and what is wrong with it."""

    version: str | None = None
    encoding: str | None = None
    issues: list[Issue] = field(default_factory=list)


def _declaration_lines(data: bytes, found: Declaration) -> list[str] | None:
    if data.startswith(codecs.BOM_UTF8):
        found.issues.append(issue("BAG002", BAGIT_TXT, detail="byte-order mark (RFC 8493 §2.1.1 forbids it)"))
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        found.issues.append(issue("BAG022", BAGIT_TXT, encoding="UTF-8", file=BAGIT_TXT))
        return None
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def parse_declaration(data: bytes) -> Declaration:
    """Read the bytes of ``bagit.txt`` (RFC 8493 §2.1.1)."""
    found = Declaration()
    lines = _declaration_lines(data, found)
    if lines is None:
        return found
    values: dict[str, tuple[int, str, str]] = {}
    for number, line in enumerate(lines, start=1):
        match = _DECLARATION_LINE.match(line)
        if match is None or match.group(1) in values:
            found.issues.append(issue("BAG002", BAGIT_TXT, detail=f"line {number}: {line[:80]!r}"))
            continue
        values[match.group(1)] = (number, match.group(2), line)
    version = values.get("BagIt-Version")
    encoding = values.get("Tag-File-Character-Encoding")
    # drafts 0.93-0.95: the encoding line may be absent, and tag files are then UTF-8
    optional = version is not None and not rules_for(version[1]).encoding_line_required
    expected = 1 if optional and encoding is None else 2
    if len(lines) != expected:
        found.issues.append(issue("BAG002", BAGIT_TXT, detail=f"{len(lines)} lines, not exactly {expected}"))
    if version is None or (encoding is None and not optional):
        found.issues.append(issue("BAG002", BAGIT_TXT, detail="BagIt-Version and Tag-File-Character-Encoding needed"))
    elif encoding is not None and (version[0] != 1 or encoding[0] != 2):
        found.issues.append(issue("BAG002", BAGIT_TXT, detail="BagIt-Version must come first"))
    if version is not None:
        found.version = version[1]
        _check_version(found, version, encoding)
    if encoding is not None:
        found.encoding = encoding[1]
        if codec_for(encoding[1]) is None:
            found.issues.append(issue("BAG004", BAGIT_TXT, encoding=encoding[1]))
    return found


def _check_version(found: Declaration, version: tuple[int, str, str],
                   encoding: tuple[int, str, str] | None) -> None:
    value = version[1]
    if value == CURRENT_VERSION:
        # 1.0: "a colon, a single space": older versions allowed any whitespace around the colon.
        strict = [version[2] == f"BagIt-Version: {value}"]
        if encoding is not None:
            strict.append(encoding[2] == f"Tag-File-Character-Encoding: {encoding[1]}")
        if not all(strict):
            found.issues.append(issue("BAG002", BAGIT_TXT, detail="extra whitespace around ':'"))
    elif value in LEGACY_VERSIONS:
        found.issues.append(issue("BAG028", BAGIT_TXT, version=value))
    else:
        found.issues.append(issue("BAG003", BAGIT_TXT, version=value if _VERSION.match(value) else repr(value)))


@dataclass
class TagParse:
    """The ordered ``(label, value)`` pairs of a tag file and its malformed lines (BAG014)."""

    pairs: list[tuple[str, str]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)


def parse_tags(lines: Iterator[Line], name: str, *, strict: bool = True) -> TagParse:
    """Parse ``bag-info.txt``-style lines (RFC 8493 §2.2.2); ``strict`` is 1.0, else 0.97 whitespace rules.

    Raises ``UnicodeDecodeError`` from ``lines``. Blank lines are skipped; trailing whitespace of a value is
    dropped (as every BagIt tool does).
    """
    result = TagParse()
    label: str | None = None
    parts: list[str] = []
    for number, line in lines:
        if line is None:
            result.issues.append(issue("BAG014", name, file=name, line=number))
            continue
        if not line.strip():
            continue
        if line[0] in " \t":
            if label is None:
                result.issues.append(issue("BAG014", name, file=name, line=number))
            else:
                parts.append(line.strip(" \t"))
            continue
        if label is not None:
            result.pairs.append((label, "\n".join(parts)))
            label = None
        parsed = _tag_line(line, strict)
        if parsed is None:
            result.issues.append(issue("BAG014", name, file=name, line=number))
            continue
        label, first = parsed
        parts = [first]
    if label is not None:
        result.pairs.append((label, "\n".join(parts)))
    return result


def _tag_line(line: str, strict: bool) -> tuple[str, str] | None:
    label, colon, rest = line.partition(":")
    if not colon or not label.strip():
        return None
    if not strict:
        return label.strip(" \t"), rest.strip(" \t")
    if label != label.strip(" \t") or (rest and rest[0] not in " \t"):
        return None
    return label, rest[1:].rstrip(" \t")


@dataclass(frozen=True)
class Entry:
    """One manifest line: line number, decoded path, checksum in lowercase."""

    line: int
    path: str
    digest: str


def parse_manifest(
    lines: Iterator[Line], name: str, hex_length: int, *, decode: bool = True
) -> tuple[list[Entry], list[Issue]]:
    """Entries of one manifest (RFC 8493 §2.1.3); BAG007 for lines that are not ``checksum WSP path``.

    ``decode`` applies 1.0 percent-decoding (0.93-0.97 bags did not encode paths); ``*path`` (md5sum binary
    mode) and ``./path`` are read as ``path``. Raises ``UnicodeDecodeError``.
    Whitespace-only lines are skipped; trailing whitespace is kept, since a file name may end with a space.
    """
    entries: list[Entry] = []
    issues: list[Issue] = []
    for number, line in lines:
        if line is not None and not line.strip(" \t"):
            continue
        match = _ENTRY.match(line) if line is not None else None
        if match is None or not _HEX.match(match.group(1)) or len(match.group(1)) != hex_length:
            issues.append(issue("BAG007", name, line=number, manifest=name))
            continue
        path = decode_path(match.group(3)) if decode else match.group(3)
        entries.append(Entry(number, _tool_path(path, match.group(2)), match.group(1).lower()))
    return entries, issues


def _tool_path(path: str, separator: str) -> str:
    """The path a line written by a checksum tool names: ``md5sum -b`` writes ``checksum *path`` (one space,
    then ``*``), and some tools write ``./data/...``. A ``*`` after two spaces stays part of the path."""
    if separator == " " and path.startswith("*"):
        path = path[1:]
    while path.startswith("./"):
        path = path[2:]
    return path


def render_tags(pairs: Sequence[tuple[str, str]]) -> Iterator[str]:
    """Lines of a tag file for ``(label, value)`` pairs: one line per value, line breaks as continuations.

    Long values stay on one line: folding would insert a line break into the value (RFC 8493 §2.2.2).
    Raises ``ValueError`` for a label the RFC does not allow.
    """
    for label, value in pairs:
        if not label or label != label.strip(" \t") or any(c in label for c in ":\r\n"):
            raise ValueError(f"invalid bag-info label: {label!r}")
        first, *more = _LINE_BREAK.split(str(value).rstrip(" \t\r\n"))
        yield f"{label}: {first}\n"
        for continuation in more:
            yield f"  {continuation}\n"
