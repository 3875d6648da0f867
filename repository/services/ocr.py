"""Use-cases of searchable scans: read the scanned pages of archives (``hsar ocr``, the ``ocr`` job, the
archive page's button) and show what was read (the archive page).

The work is :func:`repository.ingest.ocr.ocr_archives`; the text read back is
:func:`repository.search.ocrtext.stored_pages`, from the store alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import HsarError, UsageError
from ..home import Repository
from ..ingest.ocr import OcrSummary, Progress, ocr_archives, ocr_records
from ..preservation.ids import object_id
from ..search.ocrtext import OcrPage, stored_pages


def run_ocr(repo: Repository, archive_ids: Sequence[str] | None, *, workers: int | None = None,
            progress: Progress | None = None) -> OcrSummary:
    """OCR the named archives (None: all). An unknown archive is NOT-FOUND before anything is read."""
    if archive_ids is not None:
        if not archive_ids:
            raise UsageError(msgid="ocr.usage")
        for archive_id in archive_ids:
            if not repo.store.exists(object_id(archive_id)):
                raise HsarError(msgid="ocr.not-found", code="NOT-FOUND", archive_id=archive_id)
    return OcrSummary(tuple(ocr_archives(repo, archive_ids, workers=workers, progress=progress)))


__all__ = ["ArchiveOcr", "OcrSummary", "archive_ocr", "run_ocr"]


@dataclass(frozen=True)
class ArchiveOcr:
    """What the archive page shows: each scanned file's pages, and the tool each file was read with."""

    pages: dict[str, list[OcrPage]]
    engines: dict[str, str]


def archive_ocr(repo: Repository, archive_id: str) -> ArchiveOcr:
    """The OCR text of the archive's head (empty when none; the caller has decided access already)."""
    oid = object_id(archive_id)
    if not repo.store.exists(oid):
        return ArchiveOcr({}, {})
    state = repo.store.state(oid)
    records = ocr_records(repo, archive_id, state)
    return ArchiveOcr(stored_pages(repo.store, oid, state),
                      {s: str(r.get("engine", "")) for s, r in records.items()})
