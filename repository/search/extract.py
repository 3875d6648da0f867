"""Text of born-digital PDFs for the index, with pypdf, in bounded time and size. Never raises.

Scanned images (and PDFs holding only images) yield no text; their archives are found by metadata. Bounds:
files over ``max_bytes`` are skipped, extraction stops after ``max_pages`` pages or ``max_chars`` characters,
and after ``timeout_seconds``: checked between pages everywhere, and enforced within a page by a timer
signal when called from the main thread. pypdf's own limits guard against decompression bombs. Its warnings
about damaged files are kept off the console.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MAX_BYTES = 50 * 1024 * 1024
MAX_PAGES = 200
MAX_CHARS = 200_000
TIMEOUT_SECONDS = 10.0
RULES = 1  # raise when the text taken from the same bytes changes (a cached text names it)

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


@dataclass(frozen=True)
class Extracted:
    """What :func:`extract_pdf` took from a file: its ``text``; the SHA-512 of the bytes it was taken from
    (None: nothing read, the file is missing, unreadable or over the size bound); ``complete``: False when
    that, or when time ran out or pypdf failed, so the same bytes may give more text another time (such a
    text is not kept in a cache)."""

    text: str
    sha512: str | None
    complete: bool
    #: the pages pypdf finds in the file: what :func:`repository.formats.pages.page_count` answers for the same
    #: bytes; None when not known (not a PDF, locked by a password, or its page tree did not parse)
    pages: int | None = None


def _pages(data: bytes, out: list[str], max_pages: int, max_chars: int, deadline: float,
           count: list[int] | None = None) -> bool:
    """Append the pages' text to ``out`` (and to ``count`` the number of pages, when they can be read);
    False when the deadline cut the reading short."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        try:
            reader.decrypt("")  # what pypdf does by itself when a file opened without a password is read
        except Exception:  # noqa: BLE001 - any failure means "no text"
            return True
    if count is not None:
        try:
            count.append(len(reader.pages))
        except Exception:  # noqa: BLE001 - a page tree that does not parse: no count, and no text either
            pass
    size = 0
    for i, page in enumerate(reader.pages):
        if i >= max_pages or size >= max_chars:
            break
        if time.monotonic() > deadline:
            return False
        try:
            text = page.extract_text() or ""
        except Exception:  # noqa: BLE001 - a broken page is skipped, the rest still counts
            continue
        out.append(text)
        size += len(text)
    return True


def extract_pdf_text(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES, max_pages: int = MAX_PAGES,
                     timeout_seconds: float = TIMEOUT_SECONDS, max_chars: int = MAX_CHARS) -> str:
    """The text of the PDF at ``path`` (pages joined by newlines), or ``""`` when there is none to take."""
    return extract_pdf(path, max_bytes=max_bytes, max_pages=max_pages, timeout_seconds=timeout_seconds,
                       max_chars=max_chars).text


def read_bounded(path: Path, max_bytes: int) -> bytes | None:
    """The bytes of ``path`` if it is a file of at most ``max_bytes`` (None: not a file, unreadable or larger:
    no text is taken from it)."""
    try:
        if not path.is_file() or path.stat().st_size > max_bytes:
            return None
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError:
        return None
    return data if len(data) <= max_bytes else None


def extract_pdf(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES, max_pages: int = MAX_PAGES,
                timeout_seconds: float = TIMEOUT_SECONDS, max_chars: int = MAX_CHARS,
                data: bytes | None = None, sha512: str | None = None) -> Extracted:
    """:func:`extract_pdf_text` with the SHA-512 of the bytes read and whether the text is all there is to
    take from them (``data``: the file's bytes, when the caller has read them already, and ``sha512``
    their digest, when it has computed it from them)."""
    if data is None:
        data, sha512 = read_bounded(Path(path), max_bytes), None
        if data is None:
            return Extracted("", None, False)
    digest = sha512 or hashlib.sha512(data).hexdigest()
    if not data[:1024].lstrip().startswith(b"%PDF"):
        return Extracted("", digest, True)
    pages: list[str] = []
    count: list[int] = []
    complete = True
    try:
        with warnings.catch_warnings(), _alarm(timeout_seconds):
            warnings.simplefilter("ignore")
            complete = _pages(data, pages, max_pages, max_chars, time.monotonic() + timeout_seconds, count)
    except _Timeout:
        complete = False  # keep the pages read in time
    except Exception:  # noqa: BLE001 - "never raises on a broken PDF"
        return Extracted("", digest, False, count[0] if count else None)
    text = "\n".join(t.strip() for t in pages if t and t.strip())
    return Extracted(text[:max_chars], digest, complete, count[0] if count else None)
