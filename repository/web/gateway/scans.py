"""Scans' researchers' copies on the web (开放审核, :mod:`repository.dip.scans`): where a scan stands for a
researcher (and the proposal job queued when it has none), and the review pages of archivists and administrators.

A review is shown only to a user who may review scans (:data:`repository.access.Action.REVIEW_SCANS`) and whose
division scope holds the archive; to anyone else it does not exist (the pages answer 404). Opening a scan that has
no proposal yet queues the ``scan-proposal`` job once for its key (the same key again: the job recorded first,
whatever it did; one that failed is tried again after
:data:`repository.jobs.proposals.RETRY_SECONDS`).
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ...accounts import scanreviews
from ...accounts.securitylog import Actor
from ...config import Config
from ...errors import HsarError
from ...home import Repository
from ...services import research, scan_reviews
from ...services.research import Review, ScanState
from ...state.db import State
from .. import shared
from . import access, accounts
from .access import Principal
from .jobs import queued_ahead_of


@contextmanager
def _state(cfg: Config) -> Iterator[State]:
    yield shared.state(shared.state_url(cfg))


def scan_state(repo: Repository, view: Any, path: str, known: list[Any]) -> ScanState:  # noqa: ANN401
    """Where the scan ``path`` of ``view`` stands (its key and review)."""
    with _state(repo.cfg) as state:
        return research.scan_state(repo, state, view, path, known=known)


def queue_proposal(repo: Repository, principal: Principal, found: ScanState) -> str | None:
    """The id of the job proposing the copy of ``found`` (queued now unless recorded: one per key; after a done
    one, whose proposal was superseded or disposed of since, the next one in its chain, as often as that happens:
    :func:`repository.jobs.proposals.queue_proposals`)."""
    from ...jobs.proposals import queue_proposals
    from ...jobs.records import JobRecords

    with _state(repo.cfg) as state:
        asked = queue_proposals(repo.cfg, principal.username, [found], records=JobRecords(state))
    return asked[0].job_id if asked else None


def still_current(repo: Repository, review: Review) -> bool:
    """Whether ``review`` is about the file and names as they are now (:func:`repository.dip.scans.still_current`)."""
    return research.still_current(repo, review)


def approved(repo: Repository, review: Review) -> research.ApprovedScan:
    """The approved copy of ``review`` (made now unless kept; :class:`ScanCopyError` when it cannot be)."""
    return research.approved_copy(repo, review)


def kept(repo: Repository, review: Review) -> research.ApprovedScan | None:
    """The approved copy of ``review`` when it is kept (its use recorded), else None."""
    return research.kept_approved_copy(repo, review)


def copy_name(review: Review) -> str:
    """What names the approved copy of ``review``: its bytes and names, and the decision's boxes (another decision,
    another copy: another job)."""
    return f"{review.copy_key}.{research.boxes_tag(review.approved_boxes)}"


def copy_job_key(kind: str, username: str, copy: str) -> str:
    """The dedupe key of the job of ``kind`` making the copy named ``copy`` for ``username`` (a digest: any name
    fits the jobs table's 128 characters)."""
    return f"{kind}:" + hashlib.sha256(f"{username}\0{copy}".encode()).hexdigest()


def queue_copy(repo: Repository, principal: Principal, review: Review) -> str | None:
    """Queue the job making the approved copy of ``review`` when it is longer than a request may make
    (``web.research_inline_scan_pages``): the archivist's approval starts it, so the copy is ready before a
    researcher asks. The job's id (None: short enough, or a queue that cannot be reached: the researcher's
    first view makes it then)."""
    from ...jobs import JobQueue

    if review.pages <= int(repo.cfg["web.research_inline_scan_pages"]):
        return None
    key = copy_job_key("scan-copy", principal.username, copy_name(review))
    try:
        with JobQueue(repo.cfg) as queue:
            return queue.submit("scan-copy", {"archives": [review.archive_id], "path": review.path},
                                user=principal.username, dedupe_key=key).id
    except HsarError:
        return None


# ------------------------------------------------------------------ the review pages


may_review = scan_reviews.may_review  # (the one rule: archivists and administrators, Action.REVIEW_SCANS)


Listed = scan_reviews.Listed


def pending(repo: Repository, principal: Principal, archive_id: str | None = None,
            shown: str = scanreviews.PENDING) -> list[Listed] | None:
    """The reviews in the state ``shown`` (by default those awaiting review) within ``principal``'s scope (of
    ``archive_id`` only, when given: one outside the scope lists nothing), oldest proposal first (None: not a
    reviewer)."""
    if not may_review(principal):
        return None
    with _state(repo.cfg) as state:
        return scan_reviews.reviews(repo, principal, archive_id=archive_id, states=(shown,), state=state)


def has_scans(paths: Iterable[str]) -> bool:
    """Whether any of ``paths`` is a scan (a researcher receives its copy only once reviewed)."""
    return any(research.copy_kind(p) == "text" for p in paths)


def archive_scans(repo: Repository, principal: Principal, archive_id: str) -> scan_reviews.ArchiveScans | None:
    """Where the scans of ``archive_id`` stand, for the archive page of a reviewer (None: not a reviewer, or the
    archive is not there for them)."""
    if not may_review(principal):
        return None
    try:
        with _state(repo.cfg) as state:
            return scan_reviews.scans_of(repo, principal, archive_id, state=state)
    except HsarError:  # NOT-FOUND
        return None


def propose_all(repo: Repository, principal: Principal, archive_id: str) -> scan_reviews.Proposed | None:
    """Queue the proposal job of every scan of ``archive_id`` that has none (:func:`queue_proposal`'s jobs, for
    ``principal``); None when the archive is not there for them. HsarError ``JOB-QUEUE``: no queue."""
    try:
        with _state(repo.cfg) as state:
            return scan_reviews.propose_all(repo, principal, archive_id, username=principal.username, state=state)
    except HsarError as exc:
        if exc.code == "NOT-FOUND":
            return None
        raise


def queued_ahead(repo: Repository, done: scan_reviews.Proposed) -> int | None:
    """How many queued jobs wait ahead of the proposal jobs ``done`` asked for (ahead of the first of them still
    queued; None: none is): a count of every user's jobs, nothing more of them (:func:`.jobs.queued_ahead_of`)."""
    return queued_ahead_of(repo.cfg, [asked.job_id for asked in done.asked])


def review(repo: Repository, principal: Principal, review_id: int) -> Review | None:
    """Review ``review_id`` for ``principal``: None when they may not review scans, or its archive is outside
    their scope, gone, or the review is not there."""
    if not may_review(principal):
        return None
    with _state(repo.cfg) as state:
        found = scanreviews.get(state, review_id)
    if found is None or found.state == scanreviews.DISPOSED:
        return None
    view = repo.catalog.show(found.archive_id)  # (its division now: the row's is the one it had when proposed)
    return found if view is not None and access.may_see(principal, view.archive.division) else None


def page_image(repo: Repository, found: Review, page: int, original: bool) -> bytes | Path | None:
    """Page ``page`` of the review's scan: as proposed (painted, a PNG file) or as stored (PNG bytes)."""
    if not 1 <= page <= found.pages:
        return None
    if not original:
        return research.proposal_pages(repo, found)[page - 1]
    from ...formats.scanpages import page_images
    from ...formats.scanredact import open_page

    with tempfile.TemporaryDirectory(prefix="hsar-review-") as work:
        pages = page_images(research.stored(repo, found.archive_id, found.path), Path(work), only=page)
        image = next((p.image for p in pages if p.number == page), None)
        if image is None:
            return None
        out = io.BytesIO()
        open_page(image).save(out, "PNG")
    return out.getvalue()


class BadBoxes(Exception):
    """The boxes of a decision are not boxes of the review's pages."""


class DecidedMeanwhile(Exception):
    """The review's decision is no longer the one the archivist's page showed: another archivist decided since."""


class NothingPainted(Exception):
    """An approval that paints nothing, not confirmed: the scan would reach researchers as it is stored."""


def seen(found: Review) -> str:
    """What the review page gives back with a decision (:func:`repository.accounts.scanreviews.seen`)."""
    return scanreviews.seen(found)


def decide(repo: Repository, principal: Principal, actor: Actor, found: Review, approve: bool,
           given: Any, shown: str, *, nothing_personal: bool = False) -> Review | None:  # noqa: ANN401 - parsed JSON
    """Record ``principal``'s decision on ``found`` (the boxes ``given``, when approving), made on a page that
    showed its decision as ``shown`` (:func:`seen`): :class:`BadBoxes` when they are not boxes of its pages;
    :class:`NothingPainted` for an approval without a box unless the archivist confirmed that the scan holds
    nothing personal (``nothing_personal``); :class:`DecidedMeanwhile` when another archivist decided since that
    page was shown (theirs stands, nothing recorded); None when the review no longer applies (superseded)."""
    boxes = research.checked_boxes(found, given) if approve else None
    if approve and boxes is None:
        raise BadBoxes(found.id)
    if approve and boxes is not None and not any(boxes.values()) and not nothing_personal:
        raise NothingPainted(found.id)
    with _state(repo.cfg) as state:
        done = research.decide(repo, state, found, approve, boxes, actor, seen=shown)
        if done is None:
            now = scanreviews.get(state, found.id)
            if now is not None and now.state in scanreviews.CURRENT:
                raise DecidedMeanwhile(found.id)
    if done is not None and done.state == scanreviews.APPROVED:
        queue_copy(repo, principal, done)
    return done


def register_review(repo: Repository, principal: Principal, found: Review, purpose: str) -> None:
    """The review page shows an archivist the scan (its pages as stored, too): a use in the access register."""
    accounts.record_use(repo.cfg, principal, "view", found.archive_id, item=found.path, purpose=purpose,
                        masked=False)
