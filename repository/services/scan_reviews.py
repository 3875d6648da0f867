"""Use-case: preparing an archive's scans for researchers (开放审核 before 开放, :mod:`repository.dip.scans`): where
each scan of an archive stands (no proposal, pending, approved, rejected), asking for the proposals of those that
have none (the ``scan-proposal`` jobs, :func:`repository.jobs.proposals.queue_proposals`: the same jobs a
researcher's view queues, never twice), and the list of reviews. The archive page and ``hsar scan-review`` call it.

Only a user who may review scans (:data:`repository.access.Action.REVIEW_SCANS`: archivists, administrators) may,
and only for archives in their division scope: an archive outside it, or not there, is ``NOT-FOUND``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .. import access
from ..access import Principal
from ..accounts import scanreviews
from ..accounts.users import get_user
from ..dip.scans import TALLIED, Review, ScanState, archive_scans, tally
from ..errors import HsarError
from ..home import Repository
from ..jobs.proposals import Asked, queue_proposals, unproposed
from ..jobs.records import JobRecords
from ..state.db import State, open_state

#: the states a review list may ask for (a review superseded or disposed of is of no use to a reviewer)
LISTED = scanreviews.CURRENT


def may_review(principal: Principal) -> bool:
    return access.may(principal, access.Action.REVIEW_SCANS)


def reviewer(repo: Repository, username: str) -> Principal:
    """The principal of the active account ``username`` when it may review scans; HsarError ``SCAN-USER``
    otherwise (unknown, disabled, or a role without the right)."""
    with open_state(repo.cfg.state_url) as state:
        user = get_user(state, username)
    if user is None or not user.active or not may_review(user.principal):
        raise HsarError(msgid="scans.prepare.not_allowed", code="SCAN-USER", username=username)
    return user.principal


@contextmanager
def _state(repo: Repository, given: State | None) -> Iterator[State]:
    """``given`` (a request's shared state database), or the home's opened for the call."""
    if given is not None:
        yield given
        return
    with open_state(repo.cfg.state_url) as opened:
        yield opened


def _view(repo: Repository, principal: Principal, archive_id: str) -> Any:  # noqa: ANN401 - an ArchiveView
    view = repo.catalog.show(archive_id)
    if view is None or not may_review(principal) or not access.may_see(principal, view.archive.division):
        raise HsarError(msgid="services.not_found", code="NOT-FOUND", archive=archive_id)
    return view


@dataclass(frozen=True)
class ArchiveScans:
    """The scans of one archive, each where it stands for researchers, and how many stand where."""

    archive_id: str
    scans: tuple[ScanState, ...]

    @property
    def counts(self) -> dict[str, int]:
        """``none``, ``pending``, ``approved``, ``rejected``: how many scans (:func:`repository.dip.scans.tally`)."""
        return tally(list(self.scans))

    def to_dict(self) -> dict[str, Any]:
        return {"archive_id": self.archive_id, "scans": len(self.scans), "counts": self.counts}


def scans_of(repo: Repository, principal: Principal, archive_id: str, *, state: State | None = None) -> ArchiveScans:
    """The scans of ``archive_id`` for ``principal`` (NOT-FOUND: not a reviewer, or not in their scope)."""
    view = _view(repo, principal, archive_id)
    with _state(repo, state) as used:
        return ArchiveScans(view.identifier, tuple(archive_scans(repo, used, view)))


@dataclass(frozen=True)
class Proposed:
    """What asking for an archive's proposals did: each scan without a current proposal and its job."""

    archive_id: str
    asked: tuple[Asked, ...]
    counts: dict[str, int]  # before asking

    @property
    def queued(self) -> int:
        """How many jobs were queued now (the others were recorded already: waiting, running, failed lately)."""
        return sum(1 for a in self.asked if a.new)

    def to_dict(self) -> dict[str, Any]:
        return {"archive_id": self.archive_id, "queued": self.queued, "already": len(self.asked) - self.queued,
                "counts": self.counts, "jobs": [a.to_dict() for a in self.asked]}


def propose_all(repo: Repository, principal: Principal, archive_id: str, *, username: str | None = None,
                state: State | None = None) -> Proposed:
    """Ask for the proposal of every scan of ``archive_id`` that has none (one ``scan-proposal`` job each, for
    ``username``: the account asking; None for the shell's operator), as ``principal`` may (NOT-FOUND otherwise);
    ``state``: the state database to read (a request's shared one). HsarError ``JOB-QUEUE`` when the queue cannot
    be reached."""
    found = scans_of(repo, principal, archive_id, state=state)
    records = JobRecords(state) if state is not None else None
    asked = queue_proposals(repo.cfg, username, unproposed(found.scans), records=records)
    return Proposed(found.archive_id, tuple(asked), found.counts)


@dataclass(frozen=True)
class Listed:
    """A review in a list, with its archive's title and how many boxes were proposed."""

    review: Review
    title: str
    boxes: int

    def to_dict(self) -> dict[str, Any]:
        r = self.review
        return {"review": r.id, "archive_id": r.archive_id, "title": self.title, "path": r.path, "state": r.state,
                "pages": r.pages, "boxes": self.boxes, "proposed_at": r.proposed_at.isoformat(),
                "decided_by": r.decided_by, "decided_at": r.decided_at.isoformat() if r.decided_at else None}


def reviews(repo: Repository, principal: Principal, *, archive_id: str | None = None,
            states: Sequence[str] = (scanreviews.PENDING,), state: State | None = None,
            limit: int = 200) -> list[Listed]:
    """The reviews in ``states`` within ``principal``'s scope (of ``archive_id`` only, when given: an archive
    outside the scope lists nothing, as the access register's filter does), the oldest proposal first; nothing
    for a user who may not review scans. ValueError for a state that is not one of :data:`LISTED`."""
    if any(s not in LISTED for s in states):
        raise ValueError(f"not a listed state: {states!r}")
    if not may_review(principal):
        return []
    with _state(repo, state) as used:
        return _listed(repo, principal, used, states, archive_id, limit)


def _listed(repo: Repository, principal: Principal, state: State, states: Sequence[str], archive_id: str | None,
            limit: int) -> list[Listed]:
    """(The scope is the archives' divisions as the catalogue has them now, read a batch of rows at a time: a
    review's own division is the one its archive had when it was proposed.)"""
    out: list[Listed] = []
    titles: dict[str, str | None] = {}
    for rows in scanreviews.listed(state, states, archive_id=archive_id):
        divisions = repo.catalog.divisions_of({r.archive_id for r in rows}, disposed=False)
        for review in rows:
            division = divisions.get(review.archive_id)
            if division is None or not access.may_see(principal, division):
                continue
            if review.archive_id not in titles:
                view = repo.catalog.show(review.archive_id)
                titles[review.archive_id] = view.archive.title if view is not None else None
            title = titles[review.archive_id]
            if title is not None:
                out.append(Listed(review, title, sum(len(b) for b in review.proposed_boxes.values())))
                if len(out) >= limit:
                    return out
    return out


__all__ = ["LISTED", "TALLIED", "ArchiveScans", "Listed", "Proposed", "may_review", "propose_all", "reviewer",
           "reviews", "scans_of"]
