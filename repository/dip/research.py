"""A researcher's copy of a document (利用件): what a user who never sees personal data receives
instead of the stored file (:func:`repository.access.receives_originals`).

A PDF becomes page images with personal data painted over (:mod:`repository.formats.redact`), masked with the
names of the archive's people and of its linked archives' (:func:`.people.people`), the same names its record
and search hits are masked with; kept by the file's SHA-512 and those names (``cache/research/``). A scan or
photograph (TIFF, JPEG, PNG) has no copy: its text, read by OCR and masked, is what a researcher reads; any other
format (OFD, XML …) has none either. Nothing here registers a use: the caller does, as for any document.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..formats.redact import RedactError
from ..home import Repository
from ..preservation.ids import object_id
from .people import people

__all__ = ["RedactError", "copy_kind", "research_copy"]

#: what a researcher receives of a document, by file suffix: a copy (PDF), its OCR text only (a scan), nothing
_KINDS = {".pdf": "copy", ".tif": "text", ".tiff": "text", ".jpg": "text", ".jpeg": "text", ".png": "text"}


def copy_kind(path: str) -> str:
    """``copy`` (a PDF: a researcher's copy is made), ``text`` (a scan: its masked OCR text only) or ``none``."""
    return _KINDS.get(os.path.splitext(path)[1].lower(), "none")  # (the suffix as the viewers read it)


def research_copy(repo: Repository, view: Any, path: str, *, known: list[Any] | None = None) -> Path:  # noqa: ANN401
    """The researcher's copy of the PDF ``path`` of the archive ``view`` (a catalog ArchiveView; ``path`` a payload
    file of its head version), masked with its people (``known``: already looked up, :func:`.people.people`);
    :class:`RedactError` when none can be made (a broken, encrypted or too large PDF), ValueError when ``path``
    is not a PDF of the archive."""
    found = next((f for f in view.files if f.path == path), None)
    if found is None or copy_kind(path) != "copy":
        raise ValueError(f"no PDF {path!r} in {view.identifier}")
    source = repo.store.content_path(object_id(view.identifier), path)
    return repo.research_copies.copy_of(source, found.sha512, people(repo, view) if known is None else known)
