"""Optical character recognition with the ``tesseract`` command (Tesseract 5, Debian ``tesseract-ocr``).

The binary is called through :mod:`subprocess`, one process per page image, ``OMP_THREAD_LIMIT=1`` each, and
``workers`` of them at a time (threads only wait for their child), so two cores read two pages at once: the
same work ``xargs -P2 tesseract`` does (``bench/ocr.py`` compares the two). What the text was made with is
named by :func:`engine_info`: the tool and its version (``tesseract --version``) and the model with the
version string stored inside its ``.traineddata`` file, e.g. ``tesseract 5.3.0`` and
``chi_sim 4.00.00alpha:chi_sim:synth20170629``.

Tesseract's raw text is tidied (:func:`tidy`): NFC, no blank-line runs, and no spaces between two CJK
characters (the LSTM model often puts one between every hanzi), so phrases read and index as they stand on
the page.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import HsarError

TESSERACT = "tesseract"
DEFAULT_LANGUAGE = "chi_sim"
PAGE_SECONDS = 300.0  # a page that takes longer is given up (recorded as not read)
_VERSION_ENTRY = 23  # TessdataType TESSDATA_VERSION in a .traineddata file's table of contents
_CJK = r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]"
_CJK_GAP = re.compile(rf"(?<={_CJK})[ \t]+(?={_CJK})")


class OcrError(HsarError):
    """OCR cannot run at all (no ``tesseract`` command, no model): stops the run, changes nothing."""

    code = "OCR"


@dataclass(frozen=True)
class EngineInfo:
    """The tool and model a text was made with; ``label`` is what PREMIS and the derivatives record."""

    tool: str  # "tesseract"
    version: str  # "5.3.0"
    language: str  # "chi_sim"
    model: str  # "chi_sim 4.00.00alpha:chi_sim:synth20170629"

    @property
    def label(self) -> str:
        return f"{self.tool} {self.version}, {self.model}"


@dataclass(frozen=True)
class PageText:
    """The text of one page image, or why there is none (``error``)."""

    text: str
    error: str | None = None


def _binary() -> str:
    found = shutil.which(TESSERACT)
    if found is None:
        raise OcrError(msgid="ocr.no-tesseract")
    return found


def _tessdata_dirs() -> list[Path]:
    dirs = [Path(os.environ["TESSDATA_PREFIX"])] if os.environ.get("TESSDATA_PREFIX") else []
    dirs += sorted(Path("/usr/share/tesseract-ocr").glob("*/tessdata"), reverse=True)
    return dirs + [Path("/usr/share/tessdata"), Path("/usr/local/share/tessdata")]


def model_version(path: Path) -> str | None:
    """The version string stored in a ``.traineddata`` file (its table of contents, entry 23), if any."""
    try:
        with open(path, "rb") as f:
            count = struct.unpack("<i", f.read(4))[0]
            if not 0 < count <= 64:
                return None
            offsets = struct.unpack(f"<{count}q", f.read(8 * count))
            if _VERSION_ENTRY >= count or offsets[_VERSION_ENTRY] < 0:
                return None
            ends = [o for o in offsets[_VERSION_ENTRY + 1:] if o >= 0]
            f.seek(offsets[_VERSION_ENTRY])
            data = f.read((ends[0] - offsets[_VERSION_ENTRY]) if ends else 256)
    except (OSError, struct.error):
        return None
    text = data.split(b"\0", 1)[0].decode("utf-8", "replace").strip()
    return text.split(":[", 1)[0] or None  # the network spec after ":[" is not a version


@lru_cache(maxsize=8)
def engine_info(language: str = DEFAULT_LANGUAGE) -> EngineInfo:
    """The installed tesseract's version and the model's (OcrError when either is missing)."""
    binary = _binary()
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise OcrError(msgid="ocr.no-tesseract-detail", detail=str(exc)) from None
    first = (out.stdout or out.stderr).strip().splitlines()
    version = first[0].split()[-1] if first else "unknown"
    model = next((d / f"{language}.traineddata" for d in _tessdata_dirs()
                  if (d / f"{language}.traineddata").is_file()), None)
    if model is None:
        raise OcrError(msgid="ocr.no-model", language=language)
    return EngineInfo("tesseract", version, language, f"{language} {model_version(model) or 'unknown'}")


def tidy(text: str) -> str:
    """NFC, trailing spaces and blank-line runs gone, no spaces between CJK characters, no form feeds."""
    text = unicodedata.normalize("NFC", text.replace("\f", "\n"))
    lines = [_CJK_GAP.sub("", line).rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def command(image: Path, language: str = DEFAULT_LANGUAGE) -> list[str]:
    """The command line for one page image, text on stdout (what ``bench/ocr.py``'s peer runs too)."""
    return [TESSERACT, str(image), "stdout", "-l", language, "--psm", "3"]


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["OMP_THREAD_LIMIT"] = "1"  # one core per process: the pool decides how many run at once
    return env


def recognize(image: Path, language: str = DEFAULT_LANGUAGE, *, timeout: float = PAGE_SECONDS) -> PageText:
    """Tidied text of one page image; a page tesseract cannot read gives ``error``, not an exception."""
    argv = command(image, language)
    argv[0] = _binary()
    try:
        out = subprocess.run(argv, capture_output=True, timeout=timeout, env=_environment(), check=False)
    except subprocess.TimeoutExpired:
        return PageText("", f"timeout after {timeout:g} s")
    except OSError as exc:
        return PageText("", str(exc))
    if out.returncode != 0:
        reason = out.stderr.decode("utf-8", "replace").strip().splitlines()
        return PageText("", reason[-1] if reason else f"exit status {out.returncode}")
    return PageText(tidy(out.stdout.decode("utf-8", "replace")))


def recognize_all(images: Iterable[Path], *, language: str = DEFAULT_LANGUAGE, workers: int = 2,
                  done: Callable[[int], None] | None = None) -> Iterator[PageText]:
    """The text of each image in order, ``workers`` tesseract processes at a time."""
    items: Sequence[Path] = list(images)
    if workers <= 1 or len(items) <= 1:
        for n, image in enumerate(items, 1):
            yield recognize(image, language)
            if done:
                done(n)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ocr") as pool:
        for n, page in enumerate(pool.map(lambda p: recognize(p, language), items), 1):
            yield page
            if done:
                done(n)
