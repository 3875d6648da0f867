"""A researcher's copy of a document (利用件): what a user who never sees personal data receives
instead of the stored file (:func:`repository.access.receives_originals`).

A PDF becomes page images with personal data painted over (:mod:`repository.formats.redact`), masked with the
names of the archive's people and of its linked archives' (:func:`.people.people`), the same names its record
and search hits are masked with; kept by the file's SHA-512 and those names (``cache/research/``). A scan or
photograph (TIFF, JPEG, PNG) has no copy: its text, read by OCR and masked, is what a researcher reads; any other
format (OFD, XML …) has none either. Nothing here registers a use: the caller does, as for any document.

The folder is a cache kept within ``cache.research_max_mb`` (:func:`prune_copies`: least recently served first);
a copy removed is made again when next asked for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import HsarError
from ..formats.cachebound import Pruned
from ..formats.redact import RedactError
from ..home import Repository
from ..home.layout import HomePaths
from ..preservation.ids import object_id
from .people import people

__all__ = ["CopyGone", "RedactError", "PendingCopy", "Pruned", "copy_kind", "kept_pages", "pending_copy", "prune_copies",
           "research_copy", "still_catalogued"]

#: what a researcher receives of a document, by file suffix: a copy (PDF), its OCR text only (a scan), nothing
_KINDS = {".pdf": "copy", ".tif": "text", ".tiff": "text", ".jpg": "text", ".jpeg": "text", ".png": "text"}


def copy_kind(path: str) -> str:
    """``copy`` (a PDF: a researcher's copy is made), ``text`` (a scan: its masked OCR text only) or ``none``."""
    return _KINDS.get(os.path.splitext(path)[1].lower(), "none")  # (the suffix as the viewers read it)


def research_copy(repo: Repository, view: Any, path: str, *, known: list[Any] | None = None) -> Path:  # noqa: ANN401
    """The researcher's copy of the PDF ``path`` of the archive ``view`` (a catalog ArchiveView; ``path`` a payload
    file of its head version), masked with its people (``known``: already looked up, :func:`.people.people`);
    :class:`RedactError` when none can be made (a broken, encrypted or too large PDF), ValueError when ``path``
    is not a PDF of the archive, :class:`CopyGone` when the archive was disposed of meanwhile."""
    found = _pdf(view, path)
    known = people(repo, view) if known is None else known
    kept = repo.research_copies.kept(found.sha512, known)
    if kept is not None:  # (made earlier: a disposal since would have removed it)
        return kept
    source = repo.store.content_path(object_id(view.identifier), path)
    made = repo.research_copies.copy_of(source, found.sha512, known)
    still_catalogued(repo, view.identifier, found.sha512)  # made now: not while its archive was disposed of
    return made


class CopyGone(HsarError):
    """The archive was disposed of while a copy of its file was being made: the copy is removed again."""

    code = "NOT-FOUND"


def still_catalogued(repo: Repository, archive_id: str, sha512: str) -> None:
    """After a copy of the bytes ``sha512`` of ``archive_id`` was made (or found): nothing when the archive is still
    catalogued; when it was disposed of meanwhile, every copy of those bytes is removed and :class:`CopyGone`
    raised. A disposal forgets the archive in the catalogue before it removes the copies
    (:func:`repository.home.disposal.carry_out`), so a copy written while it ran is removed by one or the other:
    no copy of disposed content outlives the disposal, and no lock is held while a copy is made."""
    if repo.catalog.divisions_of([archive_id], disposed=False):
        return
    repo.research_copies.forget([sha512])
    raise CopyGone(msgid="services.not_found", archive=archive_id)


def _pdf(view: Any, path: str) -> Any:  # noqa: ANN401 - a catalog FileView
    found = next((f for f in view.files if f.path == path), None)
    if found is None or copy_kind(path) != "copy":
        raise ValueError(f"no PDF {path!r} in {view.identifier}")
    return found


def kept_pages(repo: Repository, sha512: str) -> int | None:
    """The page count of the file whose SHA-512 is ``sha512``, kept when it was indexed, without opening it;
    None when none is kept."""
    from ..formats.pages import counter
    from ..search.textcache import PAGES

    found = repo.text_cache.get(PAGES, sha512, counter())
    return found if type(found) is int else None


@dataclass(frozen=True)
class PendingCopy:
    """A researcher's copy not made yet that is too long to make in a request: ``key`` names it (its bytes and
    the names it is masked with: the same key is the same copy), ``pages`` its kept page count (None: unknown)."""

    key: str
    pages: int | None


def pending_copy(repo: Repository, view: Any, path: str, *, inline_pages: int,  # noqa: ANN401
                 known: list[Any] | None = None) -> PendingCopy | None:
    """None when the researcher's copy of ``path`` is kept, or short enough (at most ``inline_pages`` pages, by
    :func:`kept_pages`) to be made in the request; otherwise what a job has to make. :class:`RedactError` when
    making it failed before (and is not tried again yet). ``known``: the archive's people, already looked up."""
    found = _pdf(view, path)
    known = people(repo, view) if known is None else known
    if repo.research_copies.kept(found.sha512, known) is not None:
        return None
    pages = kept_pages(repo, found.sha512)
    if pages is not None and pages <= inline_pages:
        return None
    return PendingCopy(repo.research_copies.key(found.sha512, known), pages)


def prune_copies(cfg: Config) -> Pruned:
    """Keep the home's researchers' copies (``cache/research/``, every file there) within
    ``cache.research_max_mb`` MiB (0: no bound), the least recently served removed first, down to 90% of it;
    what was removed and what is left. Run by the worker's sweep and ``hsar cache prune``. The copies are
    derived from the store, not preservation data: removing one records no PREMIS event."""
    from ..formats.research_copies import ResearchCopies

    bound = int(cfg["cache.research_max_mb"]) * 1024 * 1024
    return ResearchCopies(HomePaths.of(cfg.home, cfg).research_cache).prune(bound)
