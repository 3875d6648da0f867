"""DROID container signatures (``container-signature-*.xml``) read as DROID reads them, not as FIDO does.

A container signature names one or more *files* (ZIP members, OLE2 streams). It matches when every named
file is present and every file that carries ``BinarySignatures`` matches one of its internal signatures;
an internal signature matches when all of its byte sequences do. A byte sequence is anchored at the start
of the member (``Reference="BOFoffset"``), at its end (``EOFoffset``) or floats (no reference); its
subsequences follow one another, each ``SubSeqMinOffset``..``SubSeqMaxOffset`` bytes after the previous
one (after the anchor, for the first).

FIDO 1.6.1 (``Fido.extract_signatures``) takes the *first* file's path and the *first* sequence found in
*any* file, ignoring offsets and further subsequences: 22 of the 161 signatures with bytes pair a stream
name with another stream's pattern (so ``WordDocument`` is searched for ``Word.Document.8``, which lives
in ``CompObj``, and no Word 97-2003 file is found), and the ODF 1.0/1.1/1.2 signatures all reduce to the
same manifest test. Here each file keeps its own patterns.

Sequence syntax (DROID byte sequences): hex pairs, ``'quoted text'``, ``[05-0F]``/``[00:FF]``/``['6'-'7']``
ranges, ``[22 27]`` sets, ``[!05]`` negated, ``[&01]`` bit masks, ``??`` any byte, ``{n}``/``{n-m}``/``{n-*}``
gaps, ``*`` any run and ``(a|b)`` alternatives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree import ElementTree as ET

_TOKEN = re.compile(r"'[^']*'|\[[^\]]*\]|\{[^}]*\}|\?\?|\*|\(|\)|\||[0-9A-Fa-f]{2}|\s+")


def _byte_value(text: str) -> int:
    text = text.strip()
    return ord(text[1]) if text.startswith("'") else int(text, 16)


def _escape(values: bytes) -> bytes:
    return b"".join(b"\\x%02x" % v for v in values)


def _bracket(body: str) -> bytes:
    """One byte from a ``[...]`` expression: a range, a set, a negation or a bit mask."""
    negate = body.startswith("!")
    body = body[1:] if negate else body
    if body.startswith("&"):
        mask = int(body[1:], 16)
        allowed = bytes(b for b in range(256) if b & mask == mask)
    elif body.startswith("~"):
        mask = int(body[1:], 16)
        allowed = bytes(b for b in range(256) if b & mask)
    else:
        sep = re.search(r"(?<=[0-9A-Fa-f'])\s*[-:]\s*(?=[0-9A-Fa-f'])", body)
        if sep:
            lo, hi = _byte_value(body[:sep.start()]), _byte_value(body[sep.end():])
            allowed = bytes(range(min(lo, hi), max(lo, hi) + 1))
        else:
            allowed = bytes(_byte_value(t) for t in re.findall(r"'.'|[0-9A-Fa-f]{2}", body))
    if negate:
        allowed = bytes(b for b in range(256) if b not in allowed)
    return b"[" + _escape(allowed) + b"]"


def sequence_regex(sequence: str) -> bytes:
    """A regex (without flags or anchors) for one DROID container ``Sequence``."""
    out = []
    pos = 0
    while pos < len(sequence):
        m = _TOKEN.match(sequence, pos)
        if m is None:
            raise ValueError(f"unreadable container sequence at {pos}: {sequence!r}")
        tok, pos = m.group(), m.end()
        if tok.isspace():
            continue
        if tok.startswith("'"):
            out.append(re.escape(tok[1:-1].encode("latin-1")))
        elif tok.startswith("["):
            out.append(_bracket(tok[1:-1]))
        elif tok.startswith("{"):
            lo, _, hi = tok[1:-1].partition("-")
            out.append(b".{%d,%s}" % (int(lo), b"" if hi == "*" else (hi or lo).encode()))
        elif tok == "??":
            out.append(b".")
        elif tok == "*":
            out.append(b".*")
        elif tok in ("(", ")", "|"):
            out.append({"(": b"(?:", ")": b")", "|": b"|"}[tok])
        else:
            out.append(b"\\x" + tok.lower().encode())
    return b"".join(out)


def _gap(lo: str | None, hi: str | None) -> bytes:
    """``.{lo,hi}`` (unbounded without ``hi``; a maximum below the minimum is read as the minimum)."""
    low = int(lo or 0)
    return b".{%d,%s}" % (low, str(max(low, int(hi))).encode() if hi not in (None, "") else b"")


def _fragments(sub: ET.Element, tag: str) -> list[bytes]:
    """Left or right fragments, nearest the sequence first; same ``Position`` = alternatives."""
    by_position: dict[int, list[bytes]] = {}
    for frag in sub.findall(tag):
        regex = sequence_regex(frag.text or "")
        gap = _gap(frag.get("MinOffset"), frag.get("MaxOffset"))
        part = regex + gap if tag == "LeftFragment" else gap + regex
        by_position.setdefault(int(frag.get("Position") or 1), []).append(part)
    return [b"(?:" + b"|".join(alts) + b")" for _, alts in sorted(by_position.items())]


def _subsequence(sub: ET.Element) -> bytes:
    core = b"(?:" + sequence_regex(sub.findtext("Sequence") or "") + b")"
    left = b"".join(reversed(_fragments(sub, "LeftFragment")))
    right = b"".join(_fragments(sub, "RightFragment"))
    return left + core + right


def byte_sequence_regex(seq: ET.Element) -> bytes:
    """``(?s)`` regex for one ``ByteSequence`` with its anchor and the offsets between its subsequences."""
    subs = sorted(seq.findall("SubSequence"), key=lambda s: int(s.get("Position") or 1))
    reference = seq.get("Reference") or ""
    parts = []
    for n, sub in enumerate(subs):
        gap = _gap(sub.get("SubSeqMinOffset"), sub.get("SubSeqMaxOffset"))
        floating_first = n == 0 and reference not in ("BOFoffset", "EOFoffset")
        parts.append((b"" if floating_first else gap, _subsequence(sub)))
    if reference == "EOFoffset":  # position 1 is nearest the end; offsets count back from it
        return b"(?s)" + b"".join(body + gap for gap, body in reversed(parts)) + b"\\Z"
    prefix = b"\\A" if reference == "BOFoffset" else b""
    return b"(?s)" + prefix + b"".join(gap + body for gap, body in parts)


@dataclass(frozen=True)
class ContainerFile:
    """One file a container signature names; ``alternatives`` are internal signatures (any one suffices),
    each a tuple of byte-sequence regexes (all must match). Empty: presence alone."""

    path: str
    alternatives: tuple[tuple[re.Pattern[bytes], ...], ...]

    def matches(self, data: bytes) -> bool:
        return not self.alternatives or any(all(rx.search(data) for rx in alt) for alt in self.alternatives)


@dataclass(frozen=True)
class ContainerSignature:
    """A DROID container signature: all ``files`` present and matching."""

    id: str
    puid: str
    kind: str  # 'ZIP' or 'OLE2'
    description: str
    files: tuple[ContainerFile, ...]

    def matches(self, members: dict[str, bytes]) -> bool:
        return all(f.path in members and f.matches(members[f.path]) for f in self.files)


def _file(element: ET.Element) -> ContainerFile:
    alternatives = []
    for internal in element.findall("BinarySignatures/InternalSignatureCollection/InternalSignature"):
        regexes = tuple(re.compile(byte_sequence_regex(bs)) for bs in internal.findall("ByteSequence"))
        if regexes:
            alternatives.append(regexes)
    return ContainerFile((element.findtext("Path") or "").strip(), tuple(alternatives))


def load_container_signatures(tree: ET.ElementTree[ET.Element]) -> tuple[ContainerSignature, ...]:
    """Every container signature of the file, in file order, with the PUID its mapping names."""
    root = tree.getroot()
    puids = {m.get("signatureId"): m.get("Puid") or "" for m in root.iter("FileFormatMapping")}
    found = []
    for element in root.iter("ContainerSignature"):
        sig_id = element.get("Id") or ""
        if sig_id not in puids:
            continue
        files = tuple(_file(f) for f in element.findall("Files/File"))
        found.append(ContainerSignature(sig_id, puids[sig_id], element.get("ContainerType") or "",
                                        (element.findtext("Description") or "").strip(), files))
    return tuple(found)


def member_names(signatures: tuple[ContainerSignature, ...], kind: str) -> set[str]:
    """Every file path the signatures of one container type name (what to read from a container)."""
    return {f.path for sig in signatures if sig.kind == kind for f in sig.files}
