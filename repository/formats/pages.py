"""Pages of a scanned or born-digital document as stored (扫描页数): TIFF frames, PDF pages, one per image.

Dual-track reconciliation (双轨制) compares the page count of the paper register, of the description and of
the bytes actually stored; this module gives the third. Formats whose pages cannot be counted here (OFD,
XML, office documents) answer ``None``: not a mismatch, only not known. Files are opened, never read whole
(Pillow and pypdf read what they need); a file that cannot be parsed also answers ``None``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".jp2", ".bmp", ".gif"})
TIFF_SUFFIXES = frozenset({".tif", ".tiff"})


@lru_cache(maxsize=1)
def counter() -> str:
    """What counts the pages (this module's rules and the versions of pypdf and Pillow): a kept count is
    used only by the same counter."""
    from importlib.metadata import PackageNotFoundError, version

    def of(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:  # pragma: no cover - both are dependencies
            return "unknown"
    return f"pages/1 pypdf/{of('pypdf')} pillow/{of('pillow')}"


def counted_as_pdf(path: Path) -> bool:
    """Whether :func:`page_count` counts the file at ``path`` as a PDF (by its suffix): the count another
    reader of the same bytes may keep for it (the index's text extraction, :mod:`repository.search.extract`)."""
    return path.suffix.lower() == ".pdf"


def without_reading(path: Path) -> int | None:
    """The pages of a file that its format alone tells (an image: one), without opening it; None otherwise."""
    return 1 if path.suffix.lower() in IMAGE_SUFFIXES else None


def page_count(path: Path) -> int | None:
    """How many pages the file at ``path`` holds, by its suffix; ``None`` when it cannot be told."""
    suffix = path.suffix.lower()
    with warnings.catch_warnings():  # Pillow warns of a damaged file: the answer (None) says it already
        warnings.simplefilter("ignore")
        return _count(path, suffix)


def _count(path: Path, suffix: str) -> int | None:
    try:
        if suffix in TIFF_SUFFIXES:
            from PIL import Image

            with Image.open(path) as img:
                return int(getattr(img, "n_frames", 1))
        if counted_as_pdf(path):
            from pypdf import PdfReader

            return len(PdfReader(path).pages)
        return without_reading(path)
    except Exception:  # noqa: BLE001 - any parse failure means "not known", never a crash of the caller
        return None
    return None


def pages_of(files: Iterable[T], count: Callable[[T], int | None] = page_count,  # type: ignore[assignment]  # T is Path
             ) -> int | None:
    """The pages of several files of one item, added up (each by ``count``, default :func:`page_count` of a
    path); ``None`` when any of them cannot be counted."""
    total = 0
    for f in files:
        n = count(f)
        if n is None:
            return None
        total += n
    return total
