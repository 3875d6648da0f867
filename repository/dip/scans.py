"""Researchers' copies of scans (利用件 of TIFF, JPEG, PNG), proposed by OCR and approved by an archivist (开放审核).

A researcher never receives a scan as stored, and OCR cannot promise it found every number in it; so a scan's copy
is given only once an archivist has looked at it:

1. **Proposal.** A job (``scan-proposal``, :mod:`repository.jobs.tasks`) reads every page of the scan by OCR and
   proposes boxes over the words the researcher's mask changes and over every number
   (:mod:`repository.formats.scanredact`), masked with the names of the archive's people (:func:`.people.people`:
   the names the PDF copies and the record are masked with); the proposal's boxes go into the state database
   (:mod:`repository.accounts.scanreviews`, pending review), its painted pages into the research cache.
2. **Review.** An archivist or administrator whose scope holds the archive adds boxes, removes some, and approves
   or rejects (:func:`decide`; a line in the security log).
3. **The copy.** Once approved, a researcher receives the scan's pages with the approved boxes painted over, and a
   PDF of them (:func:`approved_copy`: made from the stored scan and the boxes, again when the cache was emptied).
   Until then, and after a rejection, the masked OCR text only.

A proposal and its review are for the file's bytes masked with one set of names (their names key,
:meth:`repository.formats.research_copies.ResearchCopies.names_key`: not voided by a new version of the PDF copies): when the archive's people change (a linked
household added) the key changes, and the file needs a new proposal and a new review.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..accounts import scanreviews
from ..accounts.scanreviews import Rect, Review
from ..accounts.securitylog import Actor
from ..formats.scan_copies import ApprovedScan, ScanCopies, ScanCopyError, boxes_tag
from ..home import Repository
from ..preservation.ids import object_id
from ..state.db import State
from .people import people
from .research import CopyGone, copy_kind, still_catalogued

__all__ = ["CURRENT", "TALLIED", "ApprovedScan", "Review", "ScanCopyError", "ScanState", "approved_copy",
           "archive_scans", "boxes_tag", "checked_boxes", "decide", "kept_approved_copy", "propose", "proposal_pages",
           "scan_state", "still_current", "stored", "tally"]


def scan_copies(repo: Repository) -> ScanCopies:
    return ScanCopies(repo.paths.research_cache)


def _scan(view: Any, path: str) -> Any:  # noqa: ANN401 - a catalog FileView
    found = next((f for f in view.files if f.path == path), None)
    if found is None or copy_kind(path) != "text":
        raise ValueError(f"no scan {path!r} in {view.identifier}")
    return found


def stored(repo: Repository, archive_id: str, path: str) -> Path:
    return repo.store.content_path(object_id(archive_id), path)


@dataclass(frozen=True)
class ScanState:
    """Where the scan ``path`` of an archive stands for researchers: ``key`` (its bytes and the names they are
    masked with) and the review recorded under it (None: no proposal yet)."""

    archive_id: str
    path: str
    key: str
    review: Review | None

    @property
    def state(self) -> str:
        """``none`` (no proposal yet), ``pending``, ``approved`` or ``rejected``."""
        return "none" if self.review is None else self.review.state

    @property
    def proposed(self) -> bool:
        """Whether it has a current proposal (pending, approved or rejected; not one superseded or disposed of
        under the same key, which a proposal job makes anew)."""
        return self.review is not None and self.review.state in CURRENT


def scan_state(repo: Repository, state: State, view: Any, path: str, *,  # noqa: ANN401 - an ArchiveView
               known: list[Any] | None = None) -> ScanState:
    """The :class:`ScanState` of the scan ``path`` of ``view`` (``known``: its people, already looked up)."""
    found = _scan(view, path)
    key = repo.research_copies.names_key(found.sha512, people(repo, view) if known is None else known)
    return ScanState(view.identifier, path, key, scanreviews.find(state, view.identifier, path, key))


CURRENT = scanreviews.CURRENT
#: what :func:`tally` counts, in this order: no current proposal, and each state of a current one
TALLIED = ("none", *CURRENT)


def archive_scans(repo: Repository, state: State, view: Any, *,  # noqa: ANN401 - an ArchiveView
                  known: list[Any] | None = None) -> list[ScanState]:
    """The :class:`ScanState` of every scan of ``view``, by path, under the key :func:`scan_state` gives it (its
    bytes and the names of the archive's people, looked up once): the archive's reviews read in one query; a scan
    whose review under its key is no current one (superseded, disposed of) has none (``review`` None)."""
    known = people(repo, view) if known is None else known
    reviews = {(r.path, r.copy_key): r for r in scanreviews.of_archive(state, view.identifier, CURRENT)}
    out = []
    for found in sorted(view.files, key=lambda f: f.path):
        if copy_kind(found.path) != "text":
            continue
        key = repo.research_copies.names_key(found.sha512, known)
        out.append(ScanState(view.identifier, found.path, key, reviews.get((found.path, key))))
    return out


def tally(scans: list[ScanState]) -> dict[str, int]:
    """How many of ``scans`` have no current proposal (``none``), and how many are pending, approved, rejected."""
    counts = dict.fromkeys(TALLIED, 0)
    for found in scans:
        counts[found.state if found.proposed else "none"] += 1
    return counts


def propose(repo: Repository, state: State, view: Any, path: str) -> Review:  # noqa: ANN401 - an ArchiveView
    """Read the scan ``path`` of ``view`` by OCR and record its proposal, pending review (the review already
    recorded under the same key, when there is one: it is not read again, nor while another process reads it:
    this one waits for it, :meth:`~repository.formats.scan_copies.ScanCopies.proposing`); :class:`ScanCopyError`
    when it cannot be read."""
    found = _scan(view, path)
    known = people(repo, view)
    key = repo.research_copies.names_key(found.sha512, known)
    kept = _proposed(state, view.identifier, path, key)
    if kept is not None:
        return kept
    copies = scan_copies(repo)
    with copies.proposing(key):  # one reads it at a time; the next one finds its proposal
        kept = _proposed(state, view.identifier, path, key)
        if kept is not None:
            return kept
        pages = copies.propose(stored(repo, view.identifier, path), key, known)
        review = scanreviews.record_proposal(state, view.identifier, path, view.archive.division, found.sha512, key,
                                             pages)
    try:
        still_catalogued(repo, view.identifier, found.sha512)
    except CopyGone:  # disposed of while it was read: its reviews apply to nothing (as the disposal marks them)
        scanreviews.dispose(state, view.identifier)
        raise
    return review


def _proposed(state: State, archive_id: str, path: str, key: str) -> Review | None:
    """The proposal recorded under ``key`` when one stands (not superseded, not disposed of), else None."""
    kept = scanreviews.find(state, archive_id, path, key)
    return kept if kept is not None and kept.state in CURRENT else None


def proposal_pages(repo: Repository, review: Review) -> list[Path]:
    """The proposal's painted pages (painted again from its boxes when the cache lost them)."""
    return scan_copies(repo).proposal_pages(stored(repo, review.archive_id, review.path), review.copy_key,
                                            review.proposed_boxes, review.pages)


def approved_copy(repo: Repository, review: Review) -> ApprovedScan:
    """The approved copy of ``review``'s scan (its pages and their PDF), made now unless kept;
    :class:`ScanCopyError` when the scan cannot be painted. ValueError when ``review`` is not approved."""
    if review.state != scanreviews.APPROVED:
        raise ValueError(f"review {review.id} is {review.state}, not approved")
    made = scan_copies(repo).approved(stored(repo, review.archive_id, review.path), review.copy_key,
                                      review.approved_boxes, review.pages)
    still_catalogued(repo, review.archive_id, review.sha512)
    return made


def kept_approved_copy(repo: Repository, review: Review) -> ApprovedScan | None:
    """The approved copy of ``review`` when it is kept whole (its use recorded, for the cache's bound), else None:
    :func:`approved_copy` makes it."""
    if review.state != scanreviews.APPROVED:
        return None
    return scan_copies(repo).kept_approved(review.copy_key, review.approved_boxes, review.pages)


def still_current(repo: Repository, review: Review) -> bool:
    """Whether ``review`` is about the archive's file as it is now: still catalogued, the same bytes at its path
    in the head version, masked with the same names (a linked household added since: no)."""
    return _current_view(repo, review) is not None


def _current_view(repo: Repository, review: Review) -> Any:  # noqa: ANN401 - an ArchiveView
    """The archive of ``review`` as it is now when the review is still about it (:func:`still_current`), else None."""
    view = repo.catalog.show(review.archive_id)
    found = None if view is None else next((f for f in view.files if f.path == review.path), None)
    current = found is not None and found.sha512 == review.sha512 and \
        repo.research_copies.names_key(found.sha512, people(repo, view)) == review.copy_key
    return view if current else None


def checked_boxes(review: Review, given: Any) -> dict[int, list[Rect]] | None:  # noqa: ANN401 - parsed JSON
    """``given`` (``{"<page>": [[left, top, right, bottom], ...]}``) as the boxes of a decision on ``review``: every
    page one of its pages, every box four whole numbers inside that page's image with some area, at most
    :data:`repository.formats.scanredact.MAX_BOXES` a page; None when it is not that."""
    from ..formats.scanredact import MAX_BOXES

    if not isinstance(given, dict):
        return None
    out: dict[int, list[Rect]] = {}
    for page, boxes in given.items():
        number = int(page) if isinstance(page, str) and page.isascii() and page.isdigit() and len(page) < 6 else 0
        width, height = review.size(number)
        if not 1 <= number <= review.pages or not isinstance(boxes, list) or len(boxes) > MAX_BOXES:
            return None
        for box in boxes:
            if not (isinstance(box, list) and len(box) == 4
                    and all(isinstance(v, int) and not isinstance(v, bool) for v in box)):
                return None
            left, top, right, bottom = box
            if not (0 <= left < right <= width and 0 <= top < bottom <= height):
                return None
        out[number] = [(b[0], b[1], b[2], b[3]) for b in boxes]
    return out


def decide(repo: Repository, state: State, review: Review, approve: bool, boxes: dict[int, list[Rect]] | None,
           actor: Actor, *, seen: str | None = None) -> Review | None:
    """Record the decision on ``review`` (:func:`repository.accounts.scanreviews.decide`, with its security-log
    line); None when it no longer applies (the file's bytes or names changed since: it is superseded, and a new
    proposal is needed), or when its decision is no longer the one the archivist saw (``seen``,
    :func:`repository.accounts.scanreviews.seen`: another archivist decided meanwhile)."""
    view = _current_view(repo, review)
    if view is None:
        scanreviews.supersede(state, review.id)
        return None
    return scanreviews.decide(state, review.id, approve, boxes, actor, seen=seen, division=view.archive.division)
