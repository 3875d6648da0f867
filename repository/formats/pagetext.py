"""What a page's text is, for painting personal data over (:mod:`.redact`): its characters with their boxes, angles
and text objects as PDFium reads them (:func:`page_chars`), and which of them the mask hides, read three ways
(:func:`hidden_chars`): in content order, by lines, and by runs of digits as they stand on the page."""

from __future__ import annotations

import ctypes
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from ..privacy import mask_id_runs

ROUNDS = 3
MIN_SIZE = 1.0  # points: a character smaller than this both ways is not read (nobody can see it)
MIN_RUN = 10  # digits: a shorter run as it stands on the page is not read on its own (the phone rule starts at 10)
_UNSEEN = (3,)  # the text render mode that draws nothing (7, clipping, shows the glyphs through what is filled after)
_BUCKET = math.radians(5)
DEPTH = 15  # form XObjects are read this deep
_NUMERALS = frozenset("0123456789XxＸｘ０１２３４５６７８９")
_DASHES = frozenset("-‐‑‒–—－")

Box = tuple[float, float, float, float]  # left, bottom, right, top (PDF points, page space)

# In a document, a run of 15 digits or more is read as an identity number whatever stands beside it (a Latin letter,
# which makes a code of it in a record's text) and whatever single space, dash or invisible format character parts
# its groups (a dot does not: 46.61 8.30 386.86 is a row of amounts): painting a code over costs little, missing a
# number would cost much.
_SEPARATOR = "\\s\u00a0\u00ad\u2000-\u2015\u202f\u2060\u2212\ufeff\uff0d-"
_RUN = re.compile(f"[0-9０-９](?:[{_SEPARATOR}]?[0-9０-９])*(?:[{_SEPARATOR}]?[XxＸｘ])?")


def strict_numbers(mask: Callable[[str], str]) -> Callable[[str], str]:
    """``mask``, then every run of 15 digits or more (:data:`_RUN`) masked as an identity number: its first six and
    last four characters kept."""
    return lambda text: mask_id_runs(mask(text), _RUN)


# ------------------------------------------------------------------ which characters the mask hides


def hidden_positions(text: str, mask: Callable[[str], str]) -> set[int]:
    """The positions in ``text`` whose characters ``mask`` changes (or removes), found by aligning the two
    strings; a character the mask inserts text beside hides its neighbours too."""
    masked = mask(text)
    if masked == text:
        return set()
    lines, masked_lines = text.split("\n"), masked.split("\n")
    if len(lines) > 1 and len(lines) == len(masked_lines):  # line by line: the alignment is quadratic in length
        hidden, at = set(), 0
        for line, masked_line in zip(lines, masked_lines, strict=True):
            hidden |= {at + k for k in _changed(line, masked_line)}
            at += len(line) + 1
        return hidden
    return _changed(text, masked)


def _changed(text: str, masked: str) -> set[int]:
    """The positions of ``text`` that differ in ``masked`` (the same text masked), by aligning the two."""
    if masked == text:
        return set()
    if len(masked) == len(text):
        return {i for i, (a, b) in enumerate(zip(text, masked, strict=True)) if a != b}
    hidden: set[int] = set()
    for op, i1, i2, _j1, _j2 in SequenceMatcher(None, text, masked, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        if i1 == i2:  # an insertion: hide what stands on either side
            hidden.update(i for i in (i1 - 1, i1) if 0 <= i < len(text))
        hidden.update(range(i1, i2))
    return hidden


def to_hide(text: str, mask: Callable[[str], str], *, rounds: int = ROUNDS) -> set[int] | None:
    """Every position of ``text`` to paint over so that what stays visible is left unchanged by ``mask``
    (hidden characters read as ``*``); None when that is not reached in ``rounds`` rounds (hide everything)."""
    hidden: set[int] = set()
    for _ in range(rounds):
        visible = "".join("*" if i in hidden else c for i, c in enumerate(text))
        more = hidden_positions(visible, mask) - hidden
        if not more:
            return hidden
        hidden |= more
    return None


# ------------------------------------------------------------------ one page


@dataclass
class _Chars:
    """A page's characters in content order: each one's text, its box (None: a generated space or line break), its
    angle (radians; -1: not known) and its text object; ``readable``: every character's Unicode value is known;
    ``unseen``: the characters that draw nothing (invisible text, under 1 pt)."""

    text: list[str]
    boxes: list[Box | None]
    angles: list[float]
    objects: list[int]
    readable: bool
    unseen: set[int]


def page_chars(textpage: Any) -> _Chars:  # noqa: ANN401 - PdfTextPage
    """The page's characters as :class:`_Chars` reads them. A character's box is the union of PDFium's loose box
    (the font's ascent and descent) and its glyph box, so a font whose metrics lie is still covered."""
    import pypdfium2.raw as pdfium_c

    found = _Chars([], [], [], [], True, set())
    for i in range(textpage.count_chars()):
        code = pdfium_c.FPDFText_GetUnicode(textpage.raw, i)
        if pdfium_c.FPDFText_HasUnicodeMapError(textpage.raw, i) or code in (0, 0xFFFD) \
                or 0xE000 <= code <= 0xF8FF or 0xF0000 <= code:
            found.readable = False
        found.text.append(chr(code) if 0 < code < 0x110000 and not 0xD800 <= code <= 0xDFFF else "\ufffd")
        obj = pdfium_c.FPDFText_GetTextObject(textpage.raw, i)
        found.objects.append(ctypes.cast(obj, ctypes.c_void_p).value or 0 if obj else 0)
        found.angles.append(float(pdfium_c.FPDFText_GetCharAngle(textpage.raw, i)))
        box = None
        if pdfium_c.FPDFText_IsGenerated(textpage.raw, i) != 1:
            loose, tight = textpage.get_charbox(i, loose=True), textpage.get_charbox(i)
            box = (min(loose[0], tight[0]), min(loose[1], tight[1]), max(loose[2], tight[2]), max(loose[3], tight[3]))
            if (obj and pdfium_c.FPDFTextObj_GetTextRenderMode(obj) in _UNSEEN) or (
                    box[2] - box[0] < MIN_SIZE and box[3] - box[1] < MIN_SIZE):
                found.unseen.add(i)  # invisible, or too small to be read: kept (and painted) only as a repeat's stand-in
        found.boxes.append(box)
    return found


def _level(angle: float) -> bool:
    return angle < 0 or min(angle, abs(angle - math.tau)) < 0.05  # (-1: no angle known)


def _lines(boxes: list[Box | None]) -> list[int]:
    """The characters with boxes in reading order as they stand on the page: grouped into lines by their
    vertical middle (top to bottom), each line left to right; a break between lines is marked with -1."""
    placed = [(i, b) for i, b in enumerate(boxes) if b is not None]
    placed.sort(key=lambda ib: (-(ib[1][1] + ib[1][3]) / 2, ib[1][0]))
    order: list[int] = []
    line: list[tuple[int, Box]] = []
    for i, b in placed:
        if line:
            first = line[0][1]
            height = max(first[3] - first[1], 1.0)
            if abs((b[1] + b[3]) / 2 - (first[1] + first[3]) / 2) > height / 2:
                order.extend(j for j, _ in sorted(line, key=lambda jb: jb[1][0]))
                order.append(-1)
                line = []
        line.append((i, b))
    order.extend(j for j, _ in sorted(line, key=lambda jb: jb[1][0]))
    return order


def _number_runs(chars: _Chars) -> list[list[int]]:
    """Runs of digits (and identity numbers' check characters) as they stand on the page, whatever order the
    content draws them in and however its lines are told apart: the visible characters at one angle (to 5°),
    each chained to the nearest one before it along their baseline that ends within one character height of it and
    stands within half a height of its baseline; a run is cut at any character but a digit, a space or a dash, and
    is read with its separators and the character either side (so the mask tells a code such as HH-320102-2019-0001,
    or a date, from a number as it does in any text)."""
    placed: list[tuple[int, float, float, float, int]] = []
    for i, box in enumerate(chars.boxes):
        if box is None or i in chars.unseen:
            continue
        angle = max(chars.angles[i], 0.0)
        cos, sin = math.cos(angle), math.sin(angle)
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        placed.append((round(angle / _BUCKET) % round(math.tau / _BUCKET), cx * cos + cy * sin, -cx * sin + cy * cos,
                       max(box[2] - box[0], box[3] - box[1]), i))
    placed.sort()
    chains: list[list[tuple[int, float, float, float, int]]] = []
    active: list[list[tuple[int, float, float, float, int]]] = []  # chains of this angle that may still grow
    for k, here in enumerate(placed):
        if k and here[0] != placed[k - 1][0]:
            active = []
        active = [c for c in active if here[1] - c[-1][1] <= 1.2 * max(c[-1][3], here[3])]
        best, gap = None, 0.0
        for chain in active:
            last = chain[-1]
            size = max(last[3], here[3])
            du = here[1] - last[1]
            if 0 <= du <= 1.2 * size and abs(here[2] - last[2]) <= size / 2 and (best is None or du < gap):
                best, gap = chain, du
        if best is None:
            chains.append([here])
            active.append(chains[-1])
        else:
            best.append(here)
    runs: list[list[int]] = []
    for chain in chains:
        members = [f[4] for f in chain]
        start, digits = 0, 0
        for k, i in enumerate([*members, -1]):
            c = chars.text[i] if i >= 0 else "|"
            if c in _NUMERALS:
                digits += 1
            elif not (c.isspace() or c in _DASHES or unicodedata.category(c) == "Cf"):
                if digits >= MIN_RUN:  # with the characters either side: a letter before makes it a code
                    runs.append(members[max(start - 1, 0):k + 1])
                start, digits = k + 1, 0
    return runs


def _wrap(chars: _Chars, seen: list[int], k: int) -> bool:
    """Whether ``seen[k]`` is (part of) a line break PDFium put between two digits: a number wrapped over lines."""
    def generated_break(at: int) -> bool:
        return chars.boxes[seen[at]] is None and chars.text[seen[at]] in "\r\n"
    if not generated_break(k):
        return False
    before, after = k - 1, k + 1
    while before >= 0 and generated_break(before):
        before -= 1
    while after < len(seen) and generated_break(after):
        after += 1
    return (before >= 0 and after < len(seen) and chars.text[seen[before]] in _NUMERALS
            and chars.text[seen[after]] in _NUMERALS)


def hidden_chars(chars: _Chars, mask: Callable[[str], str]) -> set[int] | None:
    """The indices of the page's characters to paint over, read four ways: in content order, the same with the line
    breaks between two digits left out (a number wrapped in a narrow table cell), by lines (of the upright
    characters: a seal's ring of text would cut the numbers of the lines it crosses) and by runs of digits
    (:func:`_number_runs`); characters nobody sees are left out of every reading. None: cover the page."""
    seen = [i for i in range(len(chars.text)) if i not in chars.unseen]  # (generated spaces and breaks kept)
    joined = [i for k, i in enumerate(seen) if not _wrap(chars, seen, k)]  # a number wrapped in a narrow cell, whole
    shown = [b if _level(chars.angles[i]) and i not in chars.unseen else None for i, b in enumerate(chars.boxes)]
    readings: list[list[int]] = [seen, _lines(shown)]
    if joined != seen:
        readings.append(joined)
    if chars.unseen:  # the unseen too: PDFium may hold a visible repeat's characters as the invisible first's
        readings.append(list(range(len(chars.text))))
    readings += _number_runs(chars)
    hidden: set[int] = set()
    for order in readings:
        found = to_hide("".join("\n" if i < 0 else chars.text[i] for i in order), mask)
        if found is None:
            return None
        hidden |= {order[k] for k in found if order[k] >= 0}
    return hidden


def dropped_text(page: Any, textpage: Any, chars: _Chars, mask: Callable[[str], str]) -> list[Box]:  # noqa: ANN401
    """The boxes of the page's text objects none of whose characters the text page holds (PDFium drops a text
    object it takes for a repeat of one drawn just before, as fake bold is drawn) and whose own text the mask
    changes: painted over whole, since where their characters stand is not known."""
    import pypdfium2.raw as pdfium_c

    held = set(chars.objects)
    found: list[Box] = []
    for obj in page.get_objects(max_depth=DEPTH):
        if obj.type != pdfium_c.FPDF_PAGEOBJ_TEXT or (ctypes.cast(obj.raw, ctypes.c_void_p).value or 0) in held:
            continue
        size = pdfium_c.FPDFTextObj_GetText(obj.raw, textpage.raw, None, 0)  # bytes of UTF-16LE, with the NUL
        if size <= 2:
            continue
        buffer = ctypes.create_string_buffer(size)
        pdfium_c.FPDFTextObj_GetText(obj.raw, textpage.raw, buffer, size)
        text = buffer.raw[:size - 2].decode("utf-16-le", "replace")
        if mask(text) != text:  # (inside a form XObject its bounds are the form's space: cover the outer form)
            found.append(_outermost(obj).get_bounds())
    return found


def _outermost(obj: Any) -> Any:  # noqa: ANN401 - PdfObject
    while obj.container is not None:
        obj = obj.container
    return obj
