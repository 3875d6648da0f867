"""Disposal proposals (销毁申请) in the state database: the record of the two-person rule.

One archivist proposes an archive whose retention has ended, with a reason; a *different* archivist or
administrator approves or rejects it. These records are not derivable from the store (who proposed, who
decided, when, why), so they live in the state database (table ``disposal_proposals``, migration 0003); the
tombstone kept in the store after an approved disposal repeats the same facts, signed. Nothing here touches
the store: :mod:`repository.home.disposal` carries an approval out, :mod:`repository.services.disposal` checks
who may do what.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, insert, select, update

from ..errors import DisposalError
from ..state import tables as t
from ..state.db import State
from .users import utc

PENDING, DISPOSED, REJECTED = "pending", "disposed", "rejected"
STATES = (PENDING, DISPOSED, REJECTED)


@dataclass(frozen=True)
class Proposal:
    id: int
    archive_id: str
    reference_code: str
    division: str
    reason: str
    state: str
    proposed_by: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    note: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "archive_id": self.archive_id, "reference_code": self.reference_code,
                "division": self.division, "reason": self.reason, "state": self.state,
                "proposed_by": self.proposed_by, "proposed_at": self.proposed_at.isoformat(),
                "decided_by": self.decided_by,
                "decided_at": self.decided_at.isoformat() if self.decided_at else None, "note": self.note}


def _proposal(row: Row) -> Proposal:
    return Proposal(id=int(row.id), archive_id=row.archive_id, reference_code=row.reference_code,
                    division=row.division, reason=row.reason, state=row.state, proposed_by=row.proposed_by,
                    proposed_at=utc(row.proposed_at), decided_by=row.decided_by,
                    decided_at=utc(row.decided_at) if row.decided_at is not None else None, note=row.note)


def add_proposal(state: State, archive_id: str, reference_code: str, division: str, reason: str, username: str,
                 *, now: datetime | None = None) -> Proposal:
    """A new pending proposal; DisposalError DSP-PENDING when the archive already has one."""
    with state.transaction(write=True) as conn:
        open_one = conn.execute(select(t.disposal_proposals.c.id).where(
            t.disposal_proposals.c.archive_id == archive_id, t.disposal_proposals.c.state == PENDING)).first()
        if open_one is not None:
            raise DisposalError(msgid="disposal.already_proposed", code="DSP-PENDING", archive=archive_id,
                                proposal=open_one.id)
        new_id = conn.execute(insert(t.disposal_proposals).values(
            archive_id=archive_id, reference_code=reference_code, division=division, reason=reason,
            state=PENDING, proposed_by=username, proposed_at=now or datetime.now(UTC))).inserted_primary_key
        assert new_id is not None
        row = conn.execute(select(t.disposal_proposals).where(t.disposal_proposals.c.id == new_id[0])).one()
        return _proposal(row)


def get_proposal(state: State, proposal_id: int) -> Proposal | None:
    """The proposal numbered ``proposal_id``; None for none (a number no 64-bit key holds included: asked
    for it, SQLite raises OverflowError)."""
    if not 0 < proposal_id < 2**63:
        return None
    with state.transaction() as conn:
        row = conn.execute(select(t.disposal_proposals).where(t.disposal_proposals.c.id == proposal_id)).first()
    return _proposal(row) if row is not None else None


def list_proposals(state: State, states: Iterable[str] | None = None) -> list[Proposal]:
    """Proposals, newest first (``states`` limits them, e.g. ``[PENDING]``)."""
    query = select(t.disposal_proposals).order_by(t.disposal_proposals.c.id.desc())
    if states is not None:
        query = query.where(t.disposal_proposals.c.state.in_(list(states)))
    with state.transaction() as conn:
        return [_proposal(r) for r in conn.execute(query)]


def decide(state: State, proposal_id: int, new_state: str, username: str, *, note: str | None = None,
           now: datetime | None = None) -> bool:
    """Mark a pending proposal disposed or rejected; False when it was no longer pending (idempotent recovery
    of a disposal calls this again)."""
    if new_state not in (DISPOSED, REJECTED):
        raise ValueError(new_state)
    with state.transaction(write=True) as conn:
        done = conn.execute(update(t.disposal_proposals).where(
            t.disposal_proposals.c.id == proposal_id, t.disposal_proposals.c.state == PENDING).values(
            state=new_state, decided_by=username, decided_at=now or datetime.now(UTC), note=note))
        return bool(done.rowcount)
