"""Text of born-digital PDFs for the index, with pypdf, in bounded time and size. Never raises.

Scanned images (and PDFs holding only images) yield no text; their archives are found by metadata. Bounds:
files over ``max_bytes`` are skipped, extraction stops after ``max_pages`` pages or ``max_chars`` characters,
and after ``timeout_seconds``: checked between pages everywhere, and enforced within a page by a timer
signal when called from the main thread. pypdf's own limits guard against decompression bombs. Its warnings
about damaged files are kept off the console.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MAX_BYTES = 50 * 1024 * 1024
MAX_PAGES = 200
MAX_CHARS = 200_000
TIMEOUT_SECONDS = 10.0

logging.getLogger("pypdf").addHandler(logging.NullHandler())
logging.getLogger("pypdf").propagate = False


class _Timeout(BaseException):
    """Raised by the timer; a BaseException so that pypdf's ``except Exception`` cannot swallow it."""


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds``: main thread on POSIX, when no other timer is running."""
    usable = (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
              and seconds > 0 and signal.getitimer(signal.ITIMER_REAL)[0] == 0)
    if not usable:
        yield
        return

    def _raise(signum: int, frame: object) -> None:
        raise _Timeout()

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:
            signal.signal(signal.SIGALRM, previous)


def _pages(path: Path, out: list[str], max_pages: int, max_chars: int, deadline: float) -> None:
    from pypdf import PdfReader

    reader = PdfReader(str(path), strict=False)
    if reader.is_encrypted:
        try:
            reader.decrypt("")
        except Exception:  # noqa: BLE001 - any failure means "no text"
            return
    size = 0
    for i, page in enumerate(reader.pages):
        if i >= max_pages or size >= max_chars or time.monotonic() > deadline:
            break
        try:
            text = page.extract_text() or ""
        except Exception:  # noqa: BLE001 - a broken page is skipped, the rest still counts
            continue
        out.append(text)
        size += len(text)


def extract_pdf_text(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES, max_pages: int = MAX_PAGES,
                     timeout_seconds: float = TIMEOUT_SECONDS, max_chars: int = MAX_CHARS) -> str:
    """The text of the PDF at ``path`` (pages joined by newlines), or ``""`` when there is none to take."""
    p = Path(path)
    try:
        if not p.is_file() or p.stat().st_size > max_bytes:
            return ""
        with open(p, "rb") as fh:
            if not fh.read(1024).lstrip().startswith(b"%PDF"):
                return ""
    except OSError:
        return ""
    pages: list[str] = []
    try:
        with warnings.catch_warnings(), _alarm(timeout_seconds):
            warnings.simplefilter("ignore")
            _pages(p, pages, max_pages, max_chars, time.monotonic() + timeout_seconds)
    except _Timeout:
        pass  # keep the pages read in time
    except Exception:  # noqa: BLE001 - "never raises on a broken PDF"
        return ""
    text = "\n".join(t.strip() for t in pages if t and t.strip())
    return text[:max_chars]
