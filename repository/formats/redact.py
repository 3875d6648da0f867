"""Researchers' copies of PDF documents (利用件): every page rendered as an image, personal data painted over.

A researcher reads records with personal data masked (:mod:`repository.privacy`); a document is a record too, so
a researcher never receives its stored bytes. :func:`redact_pdf` makes the copy they receive:

- **Text.** Each page's text is read with PDFium three ways (:mod:`.pagetext`): in the order the page draws it,
  line by line as it stands on the page (characters set at an angle, a seal's ring, left out of the lines), and as
  runs of digits chained along their baseline whatever the order and however lines are told apart; characters
  nobody sees (invisible or clipping text, under 1 pt) are left out of every reading. Each reading is masked with
  the same rule as every other text a researcher sees (``mask``: resident IDs, phones, labelled names and incomes,
  the names of the archive's people), and every character the mask changes is painted over in black at its box
  (the union of the font's box and the glyph's, padded by a tenth of its height). The text left visible is masked
  again until the mask changes nothing (else the page is covered). A text object the text page left out (PDFium
  drops what it takes for a repeat, as fake bold is drawn) whose own text the mask changes is covered whole.
- **Pictures.** An image on a page (a scan, a photo of an identity card) cannot be read reliably, so it is covered
  in grey, whole; so is a form XObject holding one.
- **Pages that cannot be read.** A page with a character whose Unicode value the PDF does not give (no
  ``ToUnicode`` map, private-use codes) is covered whole.
- **What is not drawn.** Annotations and form fields are left out; so are the stored file's metadata,
  attachments, scripts, bookmarks and text layer: the copy is only page images (JPEG, :data:`DPI` dpi), written by
  :func:`write_image_pdf`.

This fails closed: what cannot be read is covered. It cannot see text drawn as outlines (vector paths without
characters), and a PDF made to mislead PDFium's reading (fonts whose metrics or Unicode maps lie about their glyphs)
may mislead it: it protects what office systems print, not against a document crafted by someone who already holds
the data (noted in the README).

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
from pathlib import Path
from typing import IO, Any

from ..errors import HsarError
from .imagepdf import write_image_pdf
from .pagetext import DEPTH, Box, dropped_text, hidden_chars, page_chars, strict_numbers

#: Raise when the copy's making changes, so that copies kept by an older rule are made again.
VERSION = 1
DPI = 150
MAX_PAGES = 1000
MAX_PIXELS = 40_000_000  # per page; a larger page is rendered at a lower resolution
QUALITY = 80  # JPEG
SECONDS = 300.0  # the child is stopped after this long
MEMORY = 3 << 30  # the child's address space (bytes)
TEXT_COLOUR = (0, 0, 0)
PICTURE_COLOUR = (200, 200, 200)
PAD = 1.0  # points around a painted character's box (at least; a tenth of its height when that is more)


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


def _pictures(page: Any) -> list[Box]:  # noqa: ANN401 - PdfPage
    """The boxes (page space) of the page's images, and of each form XObject holding one."""
    import pypdfium2.raw as pdfium_c

    found: list[Box] = []
    for obj in page.get_objects(max_depth=0):
        if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            found.append(obj.get_bounds())
        elif obj.type == pdfium_c.FPDF_PAGEOBJ_FORM and any(  # (forms nested deeper than read: covered too)
                o.type == pdfium_c.FPDF_PAGEOBJ_IMAGE or (o.type == pdfium_c.FPDF_PAGEOBJ_FORM and o.level >= DEPTH - 1)
                for o in page.get_objects(form=obj, max_depth=DEPTH)):
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
        chars = page_chars(textpage)
        hidden = hidden_chars(chars, mask) if chars.readable else None
        dropped = dropped_text(page, textpage, chars, mask) if hidden is not None else []
    finally:
        textpage.close()
    boxes = chars.boxes
    pictures = _pictures(page)
    whole = hidden is None
    if whole:
        left, bottom, right, top = page.get_bbox()
        _paint(page, (left, bottom, right, top), PICTURE_COLOUR, pad=1.0)
    else:
        for box in pictures + dropped:
            _paint(page, box, PICTURE_COLOUR, pad=0.5)
        for i in sorted(hidden or ()):
            char_box = boxes[i]
            if char_box is not None:
                _paint(page, char_box, TEXT_COLOUR, pad=max(PAD, (char_box[3] - char_box[1]) * 0.1))
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

    mask = strict_numbers(mask)
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
    import resource

    from ..privacy import mask_with_people

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))  # here, not in a preexec_fn: the parent has threads

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
