"""What was learnt from a stored file's bytes, kept by their SHA-512: a cache in the home (``cache/texts/``).

Extracting a born-digital PDF's text (pypdf) and deciding whether a PDF is a scan are pure functions of the
file's bytes and of fixed bounds, yet they cost far more than the rest of indexing an archive: without this
cache every new version (an OCR run, a supplement) and every ``hsar reindex`` parsed every PDF of the archive
again. An entry is found by the SHA-512 **of the bytes just read** (never by a digest someone else vouches
for), so a changed file never meets an old text; it also names the extractor (pypdf's version and the
bounds: a newer one misses the old entries) and carries a checksum of its value, so a damaged entry is a miss
and is written again. Texts cut short by the time bound, or of files that could not be read, are not kept.
A page count (kind ``pages``, :mod:`repository.paper.compute`) is looked up by the digest the inventory gives
a file, so a reconciliation opens no file it has counted; it is kept only under the SHA-512 of the bytes it
was counted from, so it is always the count of the bytes that digest names. Indexing keeps a PDF's count when
it parses the file for its text (at ingest), so the first reconciliation need not open it.

It is a cache (DESIGN principle 1): nothing in it is not derivable from the store; deleting the folder loses
nothing, and indexing (``hsar reindex`` too) fills it again. Disposal drops the entries of the removed files.
Files and folders are owner-only (the texts are the archives' own). Writing is best-effort: a read-only or
full disk means no entry, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

FORMAT = 1
PDF_TEXT = "pdf-text"  # value: the extracted text ("" for none)
PDF_SCAN = "pdf-scan"  # value: whether the PDF has a scanned page to read (False: born digital)
PDF_HEADERS = "pdf-headers"  # one archive's payload by the digest of its id: which bytes are PDFs by their header
PAGES = "pages"  # value: the file's page count (repository.formats.pages), for dual-track reconciliation
KINDS = (PDF_TEXT, PDF_SCAN, PDF_HEADERS, PAGES)
_HEX = frozenset("0123456789abcdef")


@lru_cache(maxsize=1)
def pypdf_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pypdf")
    except PackageNotFoundError:  # pragma: no cover - pypdf is a dependency
        return "unknown"


def _check(value: object) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False).encode("utf-8")).hexdigest()


class TextCache:
    """``(kind, sha512, extractor) -> value`` in files ``<root>/<kind>/<sha512[:2]>/<sha512>.json``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, kind: str, digest: str) -> Path | None:
        if kind not in KINDS or len(digest) != 128 or not set(digest) <= _HEX:
            return None
        return self.root / kind / digest[:2] / f"{digest}.json"

    def get(self, kind: str, digest: str, extractor: str) -> object | None:
        """The value kept for these bytes and this extractor, or None (none kept, or the entry is damaged)."""
        path = self._path(kind, digest.lower())
        if path is None:
            return None
        try:
            entry = json.loads(path.read_bytes())
            if (entry["format"] == FORMAT and entry["sha512"] == digest.lower() and entry["extractor"] == extractor
                    and entry["check"] == _check(entry["value"])):
                value: object = entry["value"]
                return value
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return None

    def put(self, kind: str, digest: str, extractor: str, value: object) -> None:
        """Keep ``value`` for these bytes (written to a temporary file, then renamed: never half an entry)."""
        digest = digest.lower()
        path = self._path(kind, digest)
        if path is None:
            return
        body = {"format": FORMAT, "sha512": digest, "extractor": extractor, "value": value,
                "check": _check(value)}
        tmp = path.with_name(f".{digest[:16]}-{os.getpid()}-{secrets.token_hex(4)}.tmp")
        try:
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileNotFoundError:  # the first entry of its folder: the folders made now, owner-only
                for folder in (self.root.parent, self.root, path.parent.parent, path.parent):
                    folder.mkdir(mode=0o700, exist_ok=True)
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(json.dumps(body, ensure_ascii=False).encode("utf-8"))
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)

    def forget(self, digests: Iterable[str]) -> int:
        """Drop every entry of these bytes (disposal); how many files were removed."""
        gone = 0
        for digest in digests:
            for kind in KINDS:
                path = self._path(kind, digest.lower())
                if path is not None:
                    try:
                        path.unlink()
                        gone += 1
                    except OSError:
                        pass
        return gone
