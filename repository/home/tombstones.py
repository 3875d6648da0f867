"""Making a tombstone (销毁记录) of an archive about to be disposed of: what it names, read from the store.

The facts come from storage, the source of truth: the head version's ``metadata/descriptive.xml`` (identifier,
档号, division, retention and its term, the paper volume and every item's paper reference) and the object's
inventory (every version with its date and message, every stored file's content path and sha512). The
proposal adds who proposed and why; the approval adds who approved and when. The PREMIS ``deletion`` event
(agents: hsar, the proposer as implementer, the approver as authorizer, the holding institution) is part of
the tombstone and goes to the hash-chained audit log as well. Layout and signature:
:mod:`repository.preservation.tombstone`. Titles and personal data are left out on purpose: what was disposed
of must not live on in its record.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..descriptive import parse
from ..model import Archive, PaperRef, Shelf
from ..preservation.aip_layout import DESCRIPTIVE
from ..preservation.ids import object_id as object_id_of
from ..preservation.premis import PremisAgent, PremisEvent, hsar_agent, institution_agent
from ..preservation.tombstone import FORMAT
from ..retention import term_of

if TYPE_CHECKING:
    from ..accounts.proposals import Proposal
    from ..preservation.ocfl import OcflStore


def _shelf(shelf: Shelf) -> dict[str, Any]:
    return {"store": shelf.store, "row": shelf.row, "cabinet": shelf.cabinet, "cell": shelf.cell}


def _paper(number: int, material_class: str, subtype: str, p: PaperRef) -> dict[str, Any]:
    return {"item_number": number, "class": material_class, "subtype": subtype, "catalogue": p.catalogue,
            "volume": p.volume, "item": p.item, "page_start": p.page_start, "page_end": p.page_end,
            "box": p.box, "shelf": _shelf(p.shelf)}


def paper_references(archive: Archive) -> dict[str, Any]:
    v = archive.volume
    return {"fonds": archive.fonds, "reference_code": archive.reference_code,
            "volume": {"catalogue": v.catalogue, "number": v.number, "box": v.box, "shelf": _shelf(v.shelf)},
            "items": [_paper(i.number, i.material_class.value, i.subtype, i.paper) for i in archive.items]}


def removed(store: OcflStore, oid: str) -> dict[str, Any]:
    """What disposal removes: every version and every stored file (content path, sha512)."""
    inventory = store.inventory(oid)
    versions = [{"version": v.name, "created": v.created.isoformat(), "message": v.message,
                 "files": len(v.state)} for v in store.versions(oid)]
    files = sorted(({"path": path, "sha512": digest.lower()} for digest, paths in inventory["manifest"].items()
                    for path in paths), key=lambda f: f["path"])
    return {"object_root": store.object_root(oid).relative_to(store.root).as_posix(),
            "head": inventory["head"], "versions": versions, "files": files,
            "bytes": sum((store.object_root(oid) / f["path"]).stat().st_size for f in files)}


def deletion_event(archive_id: str, proposal: Proposal, approver: str, when: datetime, institution: str,
                   copies: list[str]) -> tuple[PremisEvent, list[PremisAgent]]:
    person = [PremisAgent(f"person/{proposal.proposed_by}", proposal.proposed_by, "person", None, "proposer"),
              PremisAgent(f"person/{approver}", approver, "person", None, "approver")]
    agents = [hsar_agent(), *person, institution_agent(institution)]
    event = PremisEvent.new(
        "deletion", when=when,
        detail=f"disposal of {archive_id} after its retention ended (proposal {proposal.id}): "
               f"removed from {', '.join(copies)}, the catalogue and the search index",
        outcome_detail=proposal.reason,
        agents=[(agents[0].identifier, "executing program"), (person[0].identifier, "implementer"),
                (person[1].identifier, "authorizer"), (agents[3].identifier, "implementer")],
        objects=[object_id_of(archive_id)])
    return event, agents


def event_dict(event: PremisEvent, agents: list[PremisAgent]) -> dict[str, Any]:
    return {"identifier": event.identifier, "type": event.type, "datetime": event.datetime.isoformat(),
            "outcome": event.outcome, "detail": event.detail, "outcome_detail": event.outcome_detail,
            "agents": [list(a) for a in event.agents], "objects": [list(o) for o in event.objects],
            "agent_descriptions": [{"identifier": a.identifier, "name": a.name, "type": a.type,
                                    "version": a.version, "note": a.note} for a in agents]}


def build_tombstone(store: OcflStore, archive_id: str, proposal: Proposal, approver: str, when: datetime,
                    institution: str, copies: list[str]) -> tuple[dict[str, Any], PremisEvent]:
    """The tombstone's JSON value for ``archive_id`` and its PREMIS deletion event."""
    oid = object_id_of(archive_id)
    archive = parse(store.content_path(oid, DESCRIPTIVE).read_bytes())
    event, agents = deletion_event(archive_id, proposal, approver, when, institution, copies)
    tombstone = {
        "format": FORMAT, "archive_id": archive_id, "object_id": oid, "reference_code": archive.reference_code,
        "type": archive.type.value, "division": archive.division, "institution": archive.institution,
        "fonds": archive.fonds, "year": archive.year, "retention": archive.retention.value,
        "retention_term": term_of(archive).to_dict(), "paper": paper_references(archive),
        "removed": removed(store, oid) | {"copies": copies, "catalogue": True, "search_index": True},
        "disposed_at": when.isoformat(),
        "proposal": {"id": proposal.id, "reason": proposal.reason, "proposed_by": proposal.proposed_by,
                     "proposed_at": proposal.proposed_at.isoformat(), "approved_by": approver,
                     "approved_at": when.isoformat()},
        "premis_event": event_dict(event, agents),
    }
    return tombstone, event
