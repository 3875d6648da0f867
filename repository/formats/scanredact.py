"""Researchers' copies of scans (利用件 of TIFF, JPEG, PNG): a proposed redaction read by OCR, painted after review.

A scan's text is only what OCR reads of it, and OCR cannot promise it read every number; so a scan's copy is never
given on OCR's word alone (开放审核): :func:`propose` reads each page with tesseract (``chi_sim+eng``, word boxes from
its TSV output) and proposes boxes to paint over, which an archivist then reviews (adds boxes, removes some,
approves or rejects: :mod:`repository.dip.scans`); :func:`paint_pages` paints the boxes approved.

Which words a proposal paints (:func:`words_to_hide`), each padded (:func:`padded`):

- every word holding a character that the researcher's mask changes (the same ``mask`` the PDF copies are read
  with, :mod:`.redact`: :func:`repository.privacy.mask_with_people` with the archive's people, then every run of
  15 digits as an identity number), the page's words read as lines of text;
- conservatively, every word with six digits or more, every word of a run of six digits or more that spans words
  on a line (a number OCR cut up), and every ID-like token (eight letters or digits, four of them digits: OCR
  reads 0 as O, 1 as l);
- a page tesseract cannot read (a timeout, an error) whole.

Boxes are in the page image's pixels (left, top, right, bottom). Pages are numbered from 1 as
:func:`.scanpages.page_images` gives them (each page of a multi-page TIFF). The work runs in a child process
(``python -m repository.formats.scanredact``, :func:`_main`) with a time and memory limit, as the PDF copies' does
(:mod:`.scan_copies`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .imagepdf import write_image_pdf
from .pagetext import hidden_positions, strict_numbers
from .tesseract import _binary, _environment

LANGUAGE = "chi_sim+eng"
PAGE_SECONDS = 120.0  # tesseract's time per page; a page it does not read in time is proposed covered whole
MEMORY = 3 << 30  # the child's address space (bytes)
DEFAULT_DPI = 150.0  # a page image that does not say its resolution
QUALITY = 80  # JPEG of an approved page
MIN_DIGITS = 6
MAX_BOXES = 2000  # per page, in a decision
Rect = tuple[int, int, int, int]  # left, top, right, bottom (image pixels)

_DIGITS = re.compile(r"[0-9０-９]")
_RUN = re.compile(r"[0-9０-９](?:[\s\-－]?[0-9０-９XxＸｘ])*")
_ID_LIKE = re.compile(r"[0-9A-Za-z０-９]{8,}")
_JOINS = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef0-9]")


@dataclass(frozen=True)
class Word:
    """One word as tesseract reads it: its text, its box, and its line (block, paragraph, line numbers)."""

    text: str
    box: Rect
    line: tuple[int, int, int]


def read_words(image: Path, *, language: str = LANGUAGE, timeout: float = PAGE_SECONDS) -> list[Word] | None:
    """The words of one page image with their boxes (tesseract's TSV); None when tesseract cannot read it."""
    argv = [_binary(), str(image), "stdout", "-l", language, "--psm", "3", "tsv"]
    try:
        out = subprocess.run(argv, capture_output=True, timeout=timeout, env=_environment(), check=False)
    except (subprocess.TimeoutExpired, OSError):
        return None
    if out.returncode != 0:
        return None
    words = []
    rows = csv.DictReader(io.StringIO(out.stdout.decode("utf-8", "replace")), delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in rows:
        try:
            if row.get("level") != "5" or not (row.get("text") or "").strip():
                continue
            left, top, width, height = (int(row[k]) for k in ("left", "top", "width", "height"))
            line = (int(row["block_num"]), int(row["par_num"]), int(row["line_num"]))
        except (KeyError, TypeError, ValueError):
            continue
        words.append(Word(row["text"].strip(), (left, top, left + width, top + height), line))
    return words


def _lines(words: list[Word]) -> tuple[str, list[int]]:
    """The page's text, line by line, and for each of its characters the index of its word (-1: a space or break
    put between words; none between two CJK characters or digits, as they stand on the page)."""
    text: list[str] = []
    owner: list[int] = []
    previous: Word | None = None
    for k, word in enumerate(words):
        if previous is not None:
            if word.line != previous.line:
                text.append("\n")
                owner.append(-1)
            elif not (_JOINS.match(previous.text[-1]) and _JOINS.match(word.text[0])):
                text.append(" ")
                owner.append(-1)
        text.extend(word.text)
        owner.extend([k] * len(word.text))
        previous = word
    return "".join(text), owner


def words_to_hide(words: list[Word], mask: Callable[[str], str]) -> set[int]:
    """The indices of ``words`` to paint over (see the module)."""
    text, owner = _lines(words)
    hidden = {owner[i] for i in hidden_positions(text, strict_numbers(mask)) if 0 <= i < len(owner)}
    for k, word in enumerate(words):
        digits = len(_DIGITS.findall(word.text))
        if digits >= MIN_DIGITS or any(len(_DIGITS.findall(m.group())) >= 4 for m in _ID_LIKE.finditer(word.text)):
            hidden.add(k)
    for match in _RUN.finditer(text):
        if len(_DIGITS.findall(match.group())) >= MIN_DIGITS:
            hidden |= {owner[i] for i in range(match.start(), match.end()) if owner[i] >= 0}
    hidden.discard(-1)
    return hidden


def padded(box: Rect, size: tuple[int, int]) -> Rect:
    """``box`` grown by half its height to each side and a fifth above and below (tesseract's word boxes of the
    LSTM model may miss a character's edge, or a digit at a word's end), within the page."""
    left, top, right, bottom = box
    across, down = max(4, (bottom - top) // 2), max(3, (bottom - top) // 5)
    return (max(0, left - across), max(0, top - down), min(size[0], right + across), min(size[1], bottom + down))


def open_page(image: Path) -> Any:  # noqa: ANN401 - a PIL image, greyscale or RGB
    from PIL import Image

    with Image.open(image) as img:
        img.load()
        return img.convert("L" if img.mode in ("1", "L", "LA", "I;16", "I") else "RGB")


def paint(img: Any, boxes: Iterable[Rect]) -> Any:  # noqa: ANN401 - a PIL image
    """``img`` with every box filled opaque black (in place)."""
    from PIL import ImageDraw

    draw = ImageDraw.Draw(img)
    for left, top, right, bottom in boxes:
        draw.rectangle((left, top, right - 1, bottom - 1), fill=0)
    return img


def _dpi(image: Path) -> tuple[float, float]:
    from PIL import Image

    try:
        with Image.open(image) as img:
            dpi = img.info.get("dpi")
            if dpi and float(dpi[0]) > 1 and float(dpi[1]) > 1:
                return float(dpi[0]), float(dpi[1])
    except Exception:  # noqa: BLE001, S110 - any image PIL cannot read again: the default
        pass
    return DEFAULT_DPI, DEFAULT_DPI


def _pages(source: Path, workdir: Path) -> Iterator[tuple[int, Path | None]]:
    from .scanpages import page_images

    for page in page_images(source, workdir):
        yield page.number, page.image


def propose(source: Path, out_prefix: str, mask: Callable[[str], str]) -> list[dict[str, Any]]:
    """Each page of ``source`` read and its proposed boxes painted into ``<out_prefix>.p0001.png`` …: per page its
    ``size`` (pixels), its ``boxes`` and whether OCR read it (``read``)."""
    found = []
    with tempfile.TemporaryDirectory(prefix="hsar-scan-") as work:
        for number, image in _pages(source, Path(work)):
            if image is None:
                raise ValueError(f"page {number} cannot be read")
            img = open_page(image)
            size = (int(img.width), int(img.height))
            words = read_words(image)
            if words is None:
                boxes = [(0, 0, size[0], size[1])]
            else:
                boxes = [padded(words[k].box, size) for k in sorted(words_to_hide(words, mask))]
            paint(img, boxes).save(f"{out_prefix}.p{number:04d}.png", "PNG", optimize=False)
            found.append({"page": number, "size": list(size), "boxes": [list(b) for b in boxes],
                          "read": words is not None})
    return found


def paint_pages(source: Path, out_prefix: str, boxes: dict[int, list[Rect]], *, pdf: bool) -> int:
    """Each page of ``source`` with ``boxes`` (by page number) painted, as ``<out_prefix>.p0001.jpg`` … and, with
    ``pdf``, all of them as ``<out_prefix>.pdf`` (page images only: :func:`.imagepdf.write_image_pdf`); else as the
    proposal's PNGs. The number of pages."""
    written: list[tuple[Path, tuple[float, float]]] = []
    count = 0
    with tempfile.TemporaryDirectory(prefix="hsar-scan-") as work:
        for number, image in _pages(source, Path(work)):
            if image is None:
                raise ValueError(f"page {number} cannot be read")
            img = paint(open_page(image), boxes.get(number, []))
            count += 1
            if not pdf:
                img.save(f"{out_prefix}.p{number:04d}.png", "PNG")
                continue
            target = Path(f"{out_prefix}.p{number:04d}.jpg")
            img.save(target, "JPEG", quality=QUALITY, optimize=True)
            dpi = _dpi(image)
            written.append((target, (img.width * 72 / dpi[0], img.height * 72 / dpi[1])))
    if pdf:
        with open(f"{out_prefix}.pdf", "wb") as out:
            write_image_pdf(out, ((path.read_bytes(), size) for path, size in written))
    return count


# ------------------------------------------------------------------ in a child process


def _main(argv: list[str]) -> int:  # pragma: no cover - the child's side, tested through .scan_copies
    import resource

    from ..privacy import mask_with_people

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    given = json.loads(sys.stdin.buffer.read() or b"{}")
    step, source, prefix = argv[0], Path(argv[1]), argv[2]
    try:
        if step == "propose":
            people = given.get("people", [])
            pages = propose(source, prefix, lambda text: str(mask_with_people(people, text)))
            sys.stdout.write(json.dumps({"pages": pages}))
        else:
            boxes = {int(k): [tuple(b) for b in v] for k, v in given.get("boxes", {}).items()}
            count = paint_pages(source, prefix, boxes, pdf=step == "approved")
            sys.stdout.write(json.dumps({"pages": count}))
    except Exception as exc:  # noqa: BLE001 - any failure is the parent's error to report
        sys.stdout.write(json.dumps({"error": scrubbed(f"{type(exc).__name__}: {exc}")}))
        return 1
    return 0


_PATH = re.compile(r"""(?:/[^/\s'"]+)+/([^/\s'"]+)""")


def scrubbed(reason: str) -> str:
    """``reason`` with every absolute path cut to its last part: a failure's reason reaches a job's page and a
    researcher's refusal, which must not show where the server keeps the store or its temporary files."""
    return _PATH.sub(r"\1", reason)


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    raise SystemExit(_main(sys.argv[1:]))
