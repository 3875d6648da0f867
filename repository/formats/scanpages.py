"""Page images of a scanned document, for OCR: TIFF (one or many pages), JPEG, PNG, and image-only PDF pages.

A scan is known by its first bytes, not its name. A single-page image is read where it lies (nothing copied);
each page of a multi-page TIFF is written to ``workdir`` as a TIFF of its own (Group 4 when bilevel); a PDF
page that has no text layer gives the embedded image that covers it (the largest one, in its own encoding, as
pypdf extracts it: the common scanner output of one JPEG, CCITT or Flate image per page). PDF pages that
draw text with a font are born digital (or scans with a text layer already) and left alone (the index reads their text already); a PDF none of whose pages
is a scan is not a scan at all (:func:`page_images` gives no pages).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageSequence, UnidentifiedImageError

MAX_PAGES = 2000
RULES = 1  # raise when which PDFs count as scans changes (a cached verdict names it)
MAX_PIXELS = 400_000_000  # a larger page is refused (decompression-bomb guard), not read
_TIFF = (b"II*\0", b"MM\0*")
_JPEG = b"\xff\xd8\xff"
_PNG = b"\x89PNG\r\n\x1a\n"
_PDF = b"%PDF-"


@dataclass(frozen=True)
class ScanPage:
    """Page ``number`` (from 1) of a document and the image to read (None: nothing legible on it)."""

    number: int
    image: Path | None
    note: str = ""


def scan_kind(path: Path) -> str | None:
    """"tiff", "jpeg", "png" or "pdf" by the file's first bytes; None for anything else."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return None
    if head[:4] in _TIFF:
        return "tiff"
    if head.startswith(_JPEG):
        return "jpeg"
    if head.startswith(_PNG):
        return "png"
    if head.startswith(_PDF):
        return "pdf"
    return None


def _tiff_pages(path: Path, workdir: Path, stem: str, only: int | None = None) -> list[ScanPage]:
    with Image.open(path) as img:
        count = getattr(img, "n_frames", 1)
        if count <= 1:
            return [ScanPage(1, path)] if only in (None, 1) else []
        pages = []
        for number, frame in enumerate(ImageSequence.Iterator(img), 1):
            if number > MAX_PAGES or (only is not None and number > only):
                break
            if only is not None and number != only:
                continue
            if frame.width * frame.height > MAX_PIXELS:
                pages.append(ScanPage(number, None, "page too large"))
                continue
            target = workdir / f"{stem}.p{number:04d}.tif"
            page = frame.copy()
            dpi = img.info.get("dpi")
            extra = {"dpi": dpi} if dpi else {}
            page.save(target, format="TIFF", compression="group4" if page.mode == "1" else "tiff_lzw", **extra)
            pages.append(ScanPage(number, target))
        return pages


def _pdf_pages(path: Path, workdir: Path, stem: str) -> list[ScanPage]:
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    reader = PdfReader(str(path))
    if reader.is_encrypted:
        return []
    pages: list[ScanPage] = []
    scanned = False
    for number, page in enumerate(reader.pages, 1):
        if number > MAX_PAGES:
            break
        resources = page.get("/Resources")
        if resources is not None and resources.get_object().get("/Font"):
            continue  # draws text with fonts: born digital (or already searchable), read by the index
        try:
            images = list(page.images)
        except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on odd image streams
            pages.append(ScanPage(number, None, f"{type(exc).__name__}: {exc}"))
            continue
        best = max(images, key=lambda i: len(i.data), default=None)
        if best is None:
            continue  # neither text nor an image: a blank page
        scanned = True
        suffix = Path(best.name).suffix or ".png"
        target = workdir / f"{stem}.p{number:04d}{suffix}"
        target.write_bytes(best.data)
        pages.append(ScanPage(number, target))
    return pages if scanned else []


def pixels(image: Path) -> int:
    """Width × height of a page image from its header (0 when unreadable): how long tesseract will take,
    roughly, so the largest pages can be started first."""
    try:
        with Image.open(image) as img:
            return int(img.width * img.height)
    except Exception:  # noqa: BLE001 - any image PIL cannot open just goes last
        return 0


def page_images(path: Path, workdir: Path, stem: str = "page", *, only: int | None = None) -> list[ScanPage]:
    """The pages of ``path`` to read, in order (empty: not a scan); extra images go under ``workdir``. ``only``:
    page ``only`` alone (a multi-page TIFF's other pages are not written out), or nothing when there is none."""
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    kind = scan_kind(path)
    with warnings.catch_warnings():  # Pillow warns of a damaged file: the page's note says it already
        warnings.simplefilter("ignore")
        pages = _pages(path, kind, workdir, stem, only)
    return pages if only is None else [p for p in pages if p.number == only]


def _pages(path: Path, kind: str | None, workdir: Path, stem: str, only: int | None) -> list[ScanPage]:
    try:
        if kind in ("jpeg", "png"):
            return [ScanPage(1, path)]
        if kind == "tiff":
            return _tiff_pages(path, workdir, stem, only)
        if kind == "pdf":
            return _pdf_pages(path, workdir, stem)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError) as exc:
        return [ScanPage(1, None, f"{type(exc).__name__}: {exc}")]
    except Exception as exc:  # noqa: BLE001 - a PDF pypdf cannot parse: no page to read
        return [ScanPage(1, None, f"{type(exc).__name__}: {exc}")]
    return []
