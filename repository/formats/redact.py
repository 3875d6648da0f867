"""Researchers' copies of PDF documents (利用件): every page rendered as an image, personal data painted over.

A researcher reads records with personal data masked (:mod:`repository.privacy`); a document is a record too, so
a researcher never receives its stored bytes. :func:`redact_pdf` makes the copy they receive:

- **Text.** Each page's text is read with PDFium, in the order the page draws it and again line by line as it
  stands on the page (top to bottom, left to right; characters set at an angle, a seal's ring, left out of the
  lines), and masked with the same rule as every other text a
  researcher sees (``mask``: resident IDs, phones, labelled names and incomes, the names of the archive's people).
  Every character the mask changes is painted over in black, at its box on the page. The text left visible is
  masked again until the mask changes nothing (at most :data:`ROUNDS` rounds; otherwise the page is covered).
- **Pictures.** An image on a page (a scan, a photo of an identity card) cannot be read reliably, so it is covered
  in grey, whole; so is a form XObject holding one.
- **Pages that cannot be read.** A page with a character whose Unicode value the PDF does not give (no
  ``ToUnicode`` map, private-use codes) is covered whole.
- **What is not drawn.** Annotations and form fields are left out; so are the stored file's metadata,
  attachments, scripts, bookmarks and text layer: the copy is only page images (JPEG, :data:`DPI` dpi), written by
  :func:`write_image_pdf`.

This fails closed: what cannot be read is covered. It cannot see text drawn as outlines (vector paths without
characters); such documents are rare among the office systems' PDFs and are noted in the README.

PDFium is not thread-safe, and a stored PDF came from outside: :func:`.research_copies.redact_in_child` runs the
work in a child process (``python -m repository.formats.redact``, :func:`_main`) with a time and memory limit, so a
hostile file can neither crash nor stall the web server; :class:`.research_copies.ResearchCopies` keeps the copies.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import IO, Any

from ..errors import HsarError
from .imagepdf import write_image_pdf

#: Raise when the copy's making changes, so that copies kept by an older rule are made again.
VERSION = 1
DPI = 150
MAX_PAGES = 1000
MAX_PIXELS = 40_000_000  # per page; a larger page is rendered at a lower resolution
QUALITY = 80  # JPEG
ROUNDS = 3
SECONDS = 300.0  # the child is stopped after this long
MEMORY = 3 << 30  # the child's address space (bytes)
TEXT_COLOUR = (0, 0, 0)
PICTURE_COLOUR = (200, 200, 200)
PAD = 1.0  # points around a painted character's box


class RedactError(HsarError):
    """The PDF cannot be made into a researcher's copy (broken, encrypted, too large, too slow): withheld."""

    code = "REDACT"


@dataclass(frozen=True)
class Redacted:
    """What a researcher's copy is: ``pages`` pages, ``masked`` characters painted over, ``pictures`` pictures
    covered, ``covered_pages`` pages covered whole because their text cannot be read."""

    pages: int
    masked: int
    pictures: int
    covered_pages: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


Box = tuple[float, float, float, float]  # left, bottom, right, top (PDF points, page space)


# ------------------------------------------------------------------ which characters the mask hides


def hidden_positions(text: str, mask: Callable[[str], str]) -> set[int]:
    """The positions in ``text`` whose characters ``mask`` changes (or removes), found by aligning the two
    strings; a character the mask inserts text beside hides its neighbours too."""
    masked = mask(text)
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


def _page_chars(textpage: Any) -> tuple[list[str], list[Box | None], bool]:  # noqa: ANN401 - PdfTextPage
    """Each character of the page (content order) with its box (None when it has none: a generated space or
    line break; and, for the reading by lines, a character set at an angle, such as a round seal's), and whether
    every character's Unicode value is known."""
    import pypdfium2.raw as pdfium_c

    chars: list[str] = []
    boxes: list[Box | None] = []
    readable = True
    for i in range(textpage.count_chars()):
        code = pdfium_c.FPDFText_GetUnicode(textpage.raw, i)
        if pdfium_c.FPDFText_HasUnicodeMapError(textpage.raw, i) or code in (0, 0xFFFD) \
                or 0xE000 <= code <= 0xF8FF or 0xF0000 <= code:
            readable = False
        chars.append(chr(code) if 0 < code < 0x110000 and not 0xD800 <= code <= 0xDFFF else "\ufffd")
        generated = pdfium_c.FPDFText_IsGenerated(textpage.raw, i) == 1
        box = None if generated else textpage.get_charbox(i, loose=True)
        boxes.append(box if box is not None and box[2] > box[0] and box[3] > box[1] else None)
    return chars, boxes, readable


def _upright(textpage: Any, boxes: list[Box | None]) -> list[Box | None]:  # noqa: ANN401 - PdfTextPage
    """``boxes`` without those of characters set at an angle (a seal's ring of text, a rotated stamp): read by
    lines, they would be cut into the numbers of the lines they cross."""
    import pypdfium2.raw as pdfium_c

    def level(i: int) -> bool:
        angle = pdfium_c.FPDFText_GetCharAngle(textpage.raw, i)
        return angle < 0 or min(angle, abs(angle - 6.283185307179586)) < 0.05  # (-1: no angle known)
    return [b if b is not None and level(i) else None for i, b in enumerate(boxes)]


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


def hidden_chars(chars: list[str], boxes: list[Box | None], mask: Callable[[str], str],
                 upright: list[Box | None] | None = None) -> set[int] | None:
    """The indices of the page's characters to paint over (both reading orders: the content's, and by lines
    of the ``upright`` boxes, all of them by default); None: cover the page."""
    content = to_hide("".join(chars), mask)
    if content is None:
        return None
    order = _lines(boxes if upright is None else upright)
    geometric = to_hide("".join("\n" if i < 0 else chars[i] for i in order), mask)
    if geometric is None:
        return None
    return content | {order[k] for k in geometric if order[k] >= 0}


def _pictures(page: Any) -> list[Box]:  # noqa: ANN401 - PdfPage
    """The boxes (page space) of the page's images, and of each form XObject holding one."""
    import pypdfium2.raw as pdfium_c

    found: list[Box] = []
    for obj in page.get_objects(max_depth=0):
        if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            found.append(obj.get_bounds())
        elif obj.type == pdfium_c.FPDF_PAGEOBJ_FORM and any(
                o.type == pdfium_c.FPDF_PAGEOBJ_IMAGE for o in page.get_objects(form=obj, max_depth=15)):
            found.append(obj.get_bounds())
    return found


def _paint(page: Any, box: Box, colour: tuple[int, int, int], pad: float = 0.0) -> None:  # noqa: ANN401
    import pypdfium2.raw as pdfium_c

    left, bottom, right, top = box
    rect = pdfium_c.FPDFPageObj_CreateNewRect(left - pad, bottom - pad, right - left + 2 * pad, top - bottom + 2 * pad)
    pdfium_c.FPDFPageObj_SetFillColor(rect, *colour, 255)
    pdfium_c.FPDFPath_SetDrawMode(rect, pdfium_c.FPDF_FILLMODE_WINDING, False)
    pdfium_c.FPDFPage_InsertObject(page.raw, rect)  # the page owns it now; drawn last, over everything


def _page_image(page: Any, mask: Callable[[str], str], dpi: int) -> tuple[bytes, tuple[float, float], int, int, bool]:  # noqa: ANN401
    """One page painted over and rendered: its JPEG, its size in points (as shown, after rotation), the
    characters painted, the pictures covered, and whether the page was covered whole."""
    textpage = page.get_textpage()
    try:
        chars, boxes, readable = _page_chars(textpage)
        upright = _upright(textpage, boxes)
    finally:
        textpage.close()
    hidden = hidden_chars(chars, boxes, mask, upright) if readable else None
    pictures = _pictures(page)
    whole = hidden is None
    if whole:
        left, bottom, right, top = page.get_bbox()
        _paint(page, (left, bottom, right, top), PICTURE_COLOUR, pad=1.0)
    else:
        for box in pictures:
            _paint(page, box, PICTURE_COLOUR, pad=0.5)
        for i in sorted(hidden or ()):
            char_box = boxes[i]
            if char_box is not None:
                _paint(page, char_box, TEXT_COLOUR, pad=PAD)
    page.gen_content()
    width, height = page.get_size()
    if page.get_rotation() in (90, 270):
        width, height = height, width
    scale = dpi / 72
    if width * height * scale * scale > MAX_PIXELS:
        scale = (MAX_PIXELS / (width * height)) ** 0.5
    bitmap = page.render(scale=scale, may_draw_forms=False, draw_annots=False)
    image = bitmap.to_pil().convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY, optimize=True)
    return out.getvalue(), (width, height), 0 if hidden is None else len(hidden), len(pictures), whole


def redact_pdf(source: Path, out: IO[bytes], mask: Callable[[str], str], *, dpi: int = DPI) -> Redacted:
    """Write ``source`` (a PDF) to ``out`` as a researcher's copy (see the module); :class:`RedactError`
    when it cannot be opened (broken, encrypted) or has more than :data:`MAX_PAGES` pages.

    In this process: PDFium is not thread-safe, so the web calls :func:`.research_copies.redact_in_child`."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(source))
    except pdfium.PdfiumError as exc:
        raise RedactError(msgid="redact.unreadable", reason=str(exc)) from None
    try:
        count = len(pdf)
        if count > MAX_PAGES:
            raise RedactError(msgid="redact.too_many_pages", pages=count, most=MAX_PAGES)
        totals = [0, 0, 0]

        def pages() -> Iterator[tuple[bytes, tuple[float, float]]]:
            for k in range(count):
                page = pdf[k]
                try:
                    jpeg, size, masked, pictures, whole = _page_image(page, mask, dpi)
                finally:
                    page.close()
                totals[0] += masked
                totals[1] += pictures
                totals[2] += whole
                yield jpeg, size

        write_image_pdf(out, pages())
    except pdfium.PdfiumError as exc:
        raise RedactError(msgid="redact.unreadable", reason=str(exc)) from None
    finally:
        pdf.close()
    return Redacted(count, totals[0], totals[1], totals[2])


# ------------------------------------------------------------------ in a child process


def _main(argv: list[str]) -> int:  # pragma: no cover - the child's side, tested through redact_in_child
    from ..privacy import mask_with_people

    people = json.loads(sys.stdin.buffer.read() or b"[]")
    source, target = Path(argv[0]), Path(argv[1])

    def mask(text: str) -> str:
        return str(mask_with_people(people, text))

    try:
        with target.open("wb") as out:
            done = redact_pdf(source, out, mask)
    except RedactError as exc:
        sys.stdout.write(json.dumps({"error": {"msgid": exc.msgid, "params": {k: str(v) for k, v in exc.params.items()}}}))
        return 1
    sys.stdout.write(json.dumps(done.to_dict()))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main(sys.argv[1:]))
