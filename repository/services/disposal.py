"""Use-cases of retention and disposal (保管期限与销毁): what is due, propose, approve, reject, list, tombstone.

The two-person rule: one archivist (or administrator) proposes an archive whose retention has ended, with a
reason; a *different* archivist or administrator approves it (DSP-SELF refuses the proposer) or rejects it.
Only an approval removes anything, and it is carried out by :mod:`repository.home.disposal` under the home lock,
crash-safe, leaving a signed tombstone in every copy (:mod:`repository.home.tombstones`). Every decision is
scoped: a user sees and decides only archives of their division (:mod:`repository.access`); an archive or
proposal outside it is answered as unknown, never as forbidden. The retention rule is
:mod:`repository.retention`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ..access import Action, Principal, may, may_see, scope_prefixes
from ..accounts.proposals import (
    PENDING,
    REJECTED,
    Proposal,
    add_proposal,
    decide,
    get_proposal,
    list_proposals,
)
from ..accounts.users import User, get_user
from ..catalog.disposals import Disposal, get_disposal, list_disposals, retention_rows
from ..descriptive import parse
from ..errors import DisposalError
from ..home import Repository
from ..home.disposal import carry_out, disposal_locks, make_intent, usable_copies, write_intent
from ..home.tombstones import build_tombstone
from ..preservation.aip_layout import DESCRIPTIVE
from ..preservation.auditlog import event_record
from ..preservation.ids import object_id
from ..preservation.signing import sign_detached
from ..preservation.tombstone import render, tombstone_dir
from ..retention import RetentionTerm, term, term_of
from ..state.db import State, open_state

MAX_REASON = 2000


@dataclass(frozen=True)
class DueArchive:
    """An archive whose retention has ended (到期档案), and its pending proposal if any."""

    archive_id: str
    reference_code: str
    title: str
    division: str
    type: str
    term: RetentionTerm
    proposal: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"archive_id": self.archive_id, "reference_code": self.reference_code, "title": self.title,
                "division": self.division, "type": self.type, **self.term.to_dict(), "proposal": self.proposal}


@dataclass(frozen=True)
class Disposed:
    """The outcome of an approval: the proposal (now disposed) and where the primary's tombstone lies."""

    proposal: Proposal
    archive_id: str
    tombstone: Path

    def to_dict(self) -> dict[str, Any]:
        return {"proposal": self.proposal.to_dict(), "archive_id": self.archive_id, "tombstone": str(self.tombstone)}


@dataclass(frozen=True)
class ApprovalPreview:
    """What approving a pending proposal would destroy and what it keeps, shown to the approver to confirm
    before anything is removed: the archive (title, 档号, division, retention term), the proposal (who, when,
    why), what goes (every version, the head's files and bytes, from every copy) and the copies that keep
    its signed tombstone."""

    proposal: Proposal
    title: str
    type: str
    term: RetentionTerm
    versions: int
    files: int
    bytes: int
    items: int
    copies: tuple[str, ...]


def _today() -> date:
    """Today in UTC: the day retention is judged on unless a caller names another."""
    return datetime.now(UTC).date()


@contextmanager
def _state(repo: Repository) -> Iterator[State]:
    with open_state(repo.cfg.state_url) as state:
        yield state


def acting_user(state: State, username: str) -> User:
    """The active account allowed to decide disposals (DSP-USER otherwise: unknown, disabled or wrong role)."""
    user = get_user(state, username)
    if user is None or not user.active or not may(user.principal, Action.DISPOSE):
        raise DisposalError(msgid="disposal.not_allowed", code="DSP-USER", username=username)
    return user


def _in_scope(principal: Principal | None, division: str) -> bool:
    return principal is None or may_see(principal, division)


#: per catalogue (its URL): the catalogue's change mark and the day of the last due list, and that list (every
#: division, longest due first, no proposal): the disposal page is opened again and again while neither moves
_DUE_SEEN: dict[str, tuple[tuple[object, ...], list[DueArchive]]] = {}


def _due_everywhere(repo: Repository, today: date) -> list[DueArchive]:
    """Every catalogued archive due on ``today``, longest due first: worked out again only when the catalogue
    changed (an ingest, a supplement, a disposal, a rebuild: :func:`~repository.catalog.statistics.change_mark`)
    or the day did; at 200,000 archives reading and judging the terms costs ~2 s, the mark ~20 ms."""
    from ..catalog.statistics import change_mark

    key = (*change_mark(repo.catalog), today)
    where = str(repo.cfg.catalog_url)
    seen = _DUE_SEEN.get(where)
    if seen is not None and seen[0] == key:
        return seen[1]
    found = []
    for r in retention_rows(repo.catalog, None, could_be_due=True):
        kept = term(r.retention, r.type, r.year, r.end, r.status, r.status_since)
        if kept.due(today):
            found.append(DueArchive(r.archive_id, r.reference_code, r.title, r.division, r.type, kept, None))
    found.sort(key=lambda d: (d.term.ends or date.max, d.archive_id))
    _DUE_SEEN[where] = (key, found)
    return found


def due(repo: Repository, principal: Principal | None = None, *, today: date | None = None) -> list[DueArchive]:
    """Catalogued archives whose retention has ended on ``today`` (default: today, UTC), in the principal's
    division scope (None: all), with the id of a pending proposal where there is one; the longest due first
    (earliest end of retention, then identifier), as the disposal page and ``hsar disposal due`` list them."""
    repo.recover_if_idle()
    today = today or _today()
    prefixes = None if principal is None else scope_prefixes(principal)
    with _state(repo) as state:
        pending = {p.archive_id: p.id for p in list_proposals(state, [PENDING])}
    return [replace(d, proposal=pending.get(d.archive_id)) if d.archive_id in pending else d
            for d in _due_everywhere(repo, today)
            if prefixes is None or any(d.division.startswith(p) for p in prefixes)]


def _stored_term(repo: Repository, archive_id: str) -> RetentionTerm:
    """The retention term as the store's head description says (the catalogue is only a cache)."""
    return term_of(parse(repo.store.content_path(object_id(archive_id), DESCRIPTIVE).read_bytes()))


def propose(repo: Repository, archive_id: str, reason: str, username: str, *, today: date | None = None,
            now: datetime | None = None) -> Proposal:
    """A pending proposal to dispose of ``archive_id``: it must be catalogued, in the user's scope and due."""
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise DisposalError(msgid="disposal.bad_reason", code="DSP-REASON", maximum=MAX_REASON)
    repo.recover_if_idle()
    with _state(repo) as state:
        user = acting_user(state, username)
        view = repo.catalog.show(archive_id)
        if view is None or not _in_scope(user.principal, view.archive.division):
            gone = get_disposal(repo.catalog, archive_id)
            if gone is not None and _in_scope(user.principal, gone.division):
                raise DisposalError(msgid="disposal.already_disposed", code="DSP-DISPOSED", archive=archive_id)
            raise DisposalError(msgid="disposal.unknown_archive", code="DSP-UNKNOWN", archive=archive_id)
        kept = _stored_term(repo, archive_id)
        if not kept.due(today or _today()):
            raise DisposalError(msgid="disposal.not_due", code="DSP-NOT-DUE", archive=archive_id,
                                retention=kept.retention.value, ends=kept.ends.isoformat() if kept.ends else "-")
        return add_proposal(state, archive_id, view.archive.reference_code, view.archive.division, reason,
                            user.username, now=now)


def _pending(state: State, proposal_id: int, user: User) -> Proposal:
    proposal = get_proposal(state, proposal_id)
    if proposal is None or not _in_scope(user.principal, proposal.division):
        raise DisposalError(msgid="disposal.unknown_proposal", code="DSP-UNKNOWN", proposal=proposal_id)
    if proposal.state != PENDING:
        raise DisposalError(msgid="disposal.decided", code="DSP-DECIDED", proposal=proposal_id, state=proposal.state)
    if proposal.proposed_by == user.username:
        raise DisposalError(msgid="disposal.self_approval", code="DSP-SELF", proposal=proposal_id,
                            username=user.username)
    return proposal


def preview_approval(repo: Repository, proposal_id: int, username: str) -> ApprovalPreview:
    """What :func:`approve` would remove and keep, for the approver's confirmation; refused as an approval
    would be (DSP-USER, DSP-UNKNOWN, DSP-DECIDED, DSP-SELF, DSP-COPY). Nothing is changed."""
    repo.recover_if_idle()
    with _state(repo) as state:
        proposal = _pending(state, proposal_id, acting_user(state, username))
    view = repo.catalog.show(proposal.archive_id)
    if view is None:
        raise DisposalError(msgid="disposal.unknown_archive", code="DSP-UNKNOWN", archive=proposal.archive_id)
    a = view.archive
    return ApprovalPreview(proposal, a.title, a.type.value, _stored_term(repo, proposal.archive_id),
                           len(view.versions), len(view.files), view.total_bytes,
                           sum(len(g.items) for g in view.items_by_class),
                           tuple(c.label for c in usable_copies(repo)))


def approve(repo: Repository, proposal_id: int, username: str, *, today: date | None = None,
            now: datetime | None = None, confirm: str | None = None) -> Disposed:
    """Approve a pending proposal as a second person and carry the disposal out, under the home lock and with
    no audit, export, OCR run or replication running (ING-BUSY or DSP-BUSY at once otherwise: nothing changed,
    the proposal stays pending). ``confirm``, when given (the web's confirmation), must be the archive's
    identifier as typed by the approver (DSP-CONFIRM otherwise, nothing changed); the command line names the
    proposal itself and passes none."""
    now = now or datetime.now(UTC)
    with _state(repo) as state:
        user = acting_user(state, username)
        asked = _pending(state, proposal_id, user)  # refused at once, before waiting for the home
    if confirm is not None and confirm.strip() != asked.archive_id:
        raise DisposalError(msgid="disposal.confirm_mismatch", code="DSP-CONFIRM", proposal=proposal_id,
                            archive=asked.archive_id)
    with repo.lock(), disposal_locks(repo):
        if repo.needs_recovery():
            repo.recover()
        with _state(repo) as state:
            proposal = _pending(state, proposal_id, user)  # again, under the lock: one approval wins
        archive_id, oid = proposal.archive_id, object_id(proposal.archive_id)
        if not repo.store.exists(oid):
            raise DisposalError(msgid="disposal.unknown_archive", code="DSP-UNKNOWN", archive=archive_id)
        kept = _stored_term(repo, archive_id)
        if not kept.due(today or _today()):
            raise DisposalError(msgid="disposal.not_due", code="DSP-NOT-DUE", archive=archive_id,
                                retention=kept.retention.value, ends=kept.ends.isoformat() if kept.ends else "-")
        copies = usable_copies(repo)
        tombstone, event = build_tombstone(repo.store, archive_id, proposal, user.username, now,
                                           repo.cfg["repository.institution"], [c.label for c in copies])
        data = render(tombstone)
        signature = sign_detached(data, repo.signer, signing_time=now)
        record = event_record(event, object_id=oid, archive_id=archive_id)
        path = write_intent(repo, proposal.id, make_intent(proposal.id, archive_id, oid, user.username, data,
                                                           signature, record))
        carry_out(repo, path)
    with _state(repo) as state:
        done = get_proposal(state, proposal.id)
    assert done is not None
    return Disposed(done, archive_id, tombstone_dir(repo.store.root, oid))


def reject(repo: Repository, proposal_id: int, username: str, note: str = "", *, now: datetime | None = None
           ) -> Proposal:
    """Reject a pending proposal as a second person; nothing is removed."""
    with _state(repo) as state:
        user = acting_user(state, username)
        proposal = _pending(state, proposal_id, user)
        decide(state, proposal.id, REJECTED, user.username, note=note.strip() or None, now=now)
        done = get_proposal(state, proposal.id)
    assert done is not None
    return done


def proposals(repo: Repository, principal: Principal | None = None, states: Sequence[str] | None = None
              ) -> list[Proposal]:
    """Proposals in the principal's scope (None: all), newest first."""
    with _state(repo) as state:
        return [p for p in list_proposals(state, states) if _in_scope(principal, p.division)]


def disposed(repo: Repository, principal: Principal | None = None) -> list[Disposal]:
    """Archives disposed of, from the catalogue (rebuilt from the store's tombstones), in scope."""
    return list_disposals(repo.catalog, None if principal is None else scope_prefixes(principal))


def tombstone_of(repo: Repository, archive_id: str, principal: Principal | None = None) -> Disposal | None:
    """The disposal record of ``archive_id`` when it was disposed of and is in scope, else None."""
    found = get_disposal(repo.catalog, archive_id)
    return found if found is not None and _in_scope(principal, found.division) else None


def user_principal(repo: Repository, username: str) -> Principal:
    """The principal of an acting user (DSP-USER when not allowed to decide disposals)."""
    with _state(repo) as state:
        return acting_user(state, username).principal
