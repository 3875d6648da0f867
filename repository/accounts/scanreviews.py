"""The open review (开放审核) of scans' researchers' copies in the state database (table ``scan_reviews``,
migration 0007): what OCR proposed to paint over a scan, and what an archivist decided.

A proposal is made for one file of one archive, for its bytes (SHA-512) masked with the names of the archive's
people (``copy_key``: :meth:`repository.formats.research_copies.ResearchCopies.key`, which names both): another
set of names (a linked household added) is another key, so another proposal and another review; the older rows of
the same file are then ``superseded``. The archivist's decision (the boxes approved, page by page, in the page
image's pixels; or a rejection) is written with its line in the security log (:mod:`.securitylog`, events
``scan-approve`` and ``scan-reject``) in one transaction: no decision without its line. A disposed archive's rows
are marked ``disposed`` (:func:`dispose`): their boxes no longer apply to anything.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, and_, insert, select, update

from ..state import tables as t
from ..state.db import State
from ..state.tables import utc
from . import securitylog
from .securitylog import Actor, Event

PENDING, APPROVED, REJECTED, SUPERSEDED, DISPOSED = "pending", "approved", "rejected", "superseded", "disposed"
STATES = (PENDING, APPROVED, REJECTED, SUPERSEDED, DISPOSED)
#: the states of a current review, open to a decision (not superseded by new bytes or names, not disposed of)
CURRENT = (PENDING, APPROVED, REJECTED)
Rect = tuple[int, int, int, int]


@dataclass(frozen=True)
class Review:
    id: int
    archive_id: str
    path: str
    division: str
    sha512: str
    copy_key: str
    state: str
    pages: int
    proposed: dict[str, Any]  # {"<page>": {"size": [w, h], "boxes": [[l, t, r, b], ...]}}
    boxes: dict[str, Any] | None  # the decision's: {"<page>": [[l, t, r, b], ...]}
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None

    def size(self, page: int) -> tuple[int, int]:
        width, height = self.proposed.get(str(page), {}).get("size", (0, 0))
        return int(width), int(height)

    @property
    def proposed_boxes(self) -> dict[int, list[Rect]]:
        return {int(k): [_rect(b) for b in v.get("boxes", [])] for k, v in self.proposed.items()}

    @property
    def approved_boxes(self) -> dict[int, list[Rect]]:
        """The boxes approved, page by page (empty unless approved)."""
        if self.state != APPROVED or self.boxes is None:
            return {}
        return {int(k): [_rect(b) for b in v] for k, v in self.boxes.items()}


def _rect(value: Sequence[Any]) -> Rect:
    left, top, right, bottom = (int(v) for v in value)
    return left, top, right, bottom


def _review(row: Row[Any]) -> Review:
    return Review(id=int(row.id), archive_id=row.archive_id, path=row.path, division=row.division, sha512=row.sha512,
                  copy_key=row.copy_key, state=row.state, pages=int(row.pages), proposed=dict(row.proposed or {}),
                  boxes=dict(row.boxes) if row.boxes is not None else None, proposed_at=utc(row.proposed_at),
                  decided_by=row.decided_by, decided_at=utc(row.decided_at) if row.decided_at is not None else None)


def _plain_proposal(pages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {str(int(p["page"])): {"size": [int(v) for v in p["size"]], "boxes": [list(_rect(b)) for b in p["boxes"]]}
            for p in pages}


def record_proposal(state: State, archive_id: str, path: str, division: str, sha512: str, copy_key: str,
                    pages: Sequence[Mapping[str, Any]], *, now: datetime | None = None) -> Review:
    """The proposal for ``path`` of ``archive_id`` under ``copy_key`` (``pages``: each page's ``page``, ``size``
    and ``boxes``, as :func:`repository.formats.scanredact.propose` gives them), pending review; one already
    recorded under that key is kept as it is (a proposal made again: the same review), unless it was superseded
    or disposed of (then it is pending again, undecided). Older rows of the same file under another key are
    ``superseded``."""
    c = t.scan_reviews.c
    when = utc(now) if now is not None else datetime.now(UTC)
    with state.transaction(write=True) as conn:
        found = conn.execute(select(t.scan_reviews).where(c.archive_id == archive_id, c.path == path,
                                                          c.copy_key == copy_key)).first()
        if found is None:
            conn.execute(insert(t.scan_reviews).values(
                archive_id=archive_id, path=path, division=division, sha512=sha512, copy_key=copy_key,
                state=PENDING, pages=len(pages), proposed=_plain_proposal(pages), proposed_at=when))
        elif found.state in (SUPERSEDED, DISPOSED):  # the same names again (or the archive ingested again): anew
            conn.execute(update(t.scan_reviews).where(c.id == found.id).values(
                state=PENDING, division=division, pages=len(pages), proposed=_plain_proposal(pages),
                proposed_at=when, boxes=None, decided_by=None, decided_at=None))
        conn.execute(update(t.scan_reviews).where(
            c.archive_id == archive_id, c.path == path, c.copy_key != copy_key,
            c.state.in_(CURRENT)).values(state=SUPERSEDED))
        row = conn.execute(select(t.scan_reviews).where(c.archive_id == archive_id, c.path == path,
                                                        c.copy_key == copy_key)).one()
    return _review(row)


def find(state: State, archive_id: str, path: str, copy_key: str) -> Review | None:
    c = t.scan_reviews.c
    with state.transaction() as conn:
        row = conn.execute(select(t.scan_reviews).where(c.archive_id == archive_id, c.path == path,
                                                        c.copy_key == copy_key)).first()
    return _review(row) if row is not None else None


def get(state: State, review_id: int) -> Review | None:
    with state.transaction() as conn:
        row = conn.execute(select(t.scan_reviews).where(t.scan_reviews.c.id == review_id)).first()
    return _review(row) if row is not None else None


def listed(state: State, states: Sequence[str] = (PENDING,), *, archive_id: str | None = None,
           batch: int = 500) -> Iterator[list[Review]]:
    """Rows in ``states`` (of ``archive_id`` only, when given), the oldest proposal first, ``batch`` at a time.
    Not filtered by division: a row's is the archive's when it was proposed, and an archive may have moved since
    (the caller asks the catalogue)."""
    c = t.scan_reviews.c
    query = select(t.scan_reviews).where(c.state.in_(list(states)))
    if archive_id is not None:
        query = query.where(c.archive_id == archive_id)
    query = query.order_by(c.proposed_at, c.id)
    offset = 0
    while True:
        with state.transaction() as conn:
            rows = conn.execute(query.offset(offset).limit(batch)).all()
        if rows:
            yield [_review(r) for r in rows]
        if len(rows) < batch:
            return
        offset += batch


def of_archive(state: State, archive_id: str, states: Sequence[str] = CURRENT) -> list[Review]:
    """Every row of ``archive_id`` in ``states`` (one query: an archive's scans are summed up from it)."""
    c = t.scan_reviews.c
    with state.transaction() as conn:
        rows = conn.execute(select(t.scan_reviews).where(c.archive_id == archive_id, c.state.in_(list(states)))
                            .order_by(c.path, c.id)).all()
    return [_review(r) for r in rows]


def seen(review: Review) -> str:
    """The review's decision as a review page shows it (its state and when it was decided): the page gives it back
    with the archivist's decision (:func:`decide`), so a decision another archivist made meanwhile is never
    overwritten unseen."""
    return f"{review.state}@{review.decided_at.isoformat() if review.decided_at is not None else ''}"


def _unchanged(token: str) -> Any:  # noqa: ANN401 - an SQL condition
    """The condition that a row's decision is still the one ``token`` (:func:`seen`) names; never true for a token
    that is not one."""
    c = t.scan_reviews.c
    shown, _at, when = token.partition("@")
    if shown not in CURRENT or not _at:
        return c.id != c.id
    try:
        decided = utc(datetime.fromisoformat(when)) if when else None
    except ValueError:
        return c.id != c.id
    return and_(c.state == shown, c.decided_at.is_(None) if decided is None else c.decided_at == decided)


def decide(state: State, review_id: int, approve: bool, boxes: Mapping[int, Sequence[Rect]] | None, actor: Actor,
           *, seen: str | None = None, now: datetime | None = None, division: str | None = None) -> Review | None:
    """Approve the copy of review ``review_id`` painted with ``boxes`` (by page), or reject it; with its line in
    the security log. None when the review is not there or no longer open to a decision (superseded, disposed),
    or, given ``seen`` (:func:`seen` of the review as the archivist saw it), when its decision is no longer that
    one (another archivist decided meanwhile: theirs stands). ``division``: the archive's now (an archive may move
    after its proposal), recorded on the row and its security-log line."""
    c = t.scan_reviews.c
    when = utc(now) if now is not None else datetime.now(UTC)
    plain = {str(k): [list(_rect(b)) for b in v] for k, v in sorted((boxes or {}).items())} if approve else None
    unchanged = _unchanged(seen) if seen is not None else c.id == review_id
    with state.transaction(write=True) as conn:
        done = conn.execute(update(t.scan_reviews).where(
            and_(c.id == review_id, c.state.in_(CURRENT), unchanged)).values(
                state=APPROVED if approve else REJECTED, boxes=plain, decided_by=actor.username[:64],
                decided_at=when, **({} if division is None else {"division": division})))
        if done.rowcount != 1:
            return None
        row = conn.execute(select(t.scan_reviews).where(c.id == review_id)).one()
        securitylog.append(conn, actor, Event.SCAN_APPROVE if approve else Event.SCAN_REJECT,
                           division=row.division, at=when,
                           detail={"archive": row.archive_id, "path": row.path, "sha512": row.sha512,
                                   "copy_key": row.copy_key, "review": int(row.id), "pages": int(row.pages),
                                   "boxes": sum(len(v) for v in (plain or {}).values())})
    return _review(row)


def supersede(state: State, review_id: int) -> None:
    """Review ``review_id`` no longer applies (its file's names changed since it was proposed)."""
    c = t.scan_reviews.c
    with state.transaction(write=True) as conn:
        conn.execute(update(t.scan_reviews).where(c.id == review_id, c.state.in_(CURRENT))
                     .values(state=SUPERSEDED))


def dispose(state: State, archive_id: str) -> int:
    """Mark every review of ``archive_id`` disposed of (the same bytes in another archive keep theirs); how many
    rows were marked."""
    c = t.scan_reviews.c
    with state.transaction(write=True) as conn:
        done = conn.execute(update(t.scan_reviews).where(c.archive_id == archive_id, c.state != DISPOSED)
                            .values(state=DISPOSED))
    return int(done.rowcount or 0)
