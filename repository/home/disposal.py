"""Carrying out an approved disposal (销毁), crash-safe: intent first, tombstones, removal, records, done.

Order of the steps (DESIGN principle 2, nothing half-removed):

1. the **intent** ``staging/dispose-<proposal>.json`` is written (temporary file, rename): it holds the signed
   tombstone and the PREMIS deletion event, so everything after it can be finished from it alone;
2. the **tombstone** goes into every copy (the primary storage root and every replica), each built in that
   copy's staging and renamed into place;
3. the **object** is removed from every replica, then from the primary (its root renamed into staging in one
   step, then deleted);
4. the **catalogue** forgets the archive and keeps its tombstone; the **search index** drops its document;
5. the deletion event is appended to the hash-chained **audit log** (once: recovery looks for it first);
6. the **proposal** is marked disposed in the state database (and so are the reviews of its scans' researchers'
   copies), and the intent removed.

Steps 2-6 run holding the home lock and :func:`disposal_locks` (the audit lock and, exclusively, the
store-readers lock of :mod:`repository.preservation.storelock`): no ingest, OCR commit, audit, export or
replication runs meanwhile, and one that is running refuses the disposal (DSP-BUSY, nothing removed).

A crash anywhere after step 1 is finished by :func:`finish_disposals`, which :meth:`Repository.recover` runs
(every command that reads the store recovers first), when those locks are free; before step 1 nothing has
changed. Every step is idempotent. A replica that cannot be opened stops the disposal before anything is removed, and an interrupted
one keeps its intent until the replica is back.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DisposalError
from ..preservation.auditlog import AuditLog
from ..preservation.ocfl_layout import fsync_path, write_durable
from ..preservation.replica import open_copies
from ..preservation.storelock import disposing
from ..preservation.tombstone import remove_object, write_tombstone

if TYPE_CHECKING:
    from . import Repository

PREFIX, SUFFIX = "dispose-", ".json"


@contextmanager
def disposal_locks(repo: Repository) -> Iterator[None]:
    """The audit lock and the store-readers lock, exclusively (DSP-BUSY when an audit, an export, an OCR run
    or replication holds one); re-entrant in the thread holding them. Take it holding :meth:`Repository.lock`."""
    with disposing(repo.paths.readers_lock, repo.paths.audit_lock):
        yield


def intent_path(repo: Repository, proposal_id: int) -> Path:
    return repo.paths.staging / f"{PREFIX}{proposal_id}{SUFFIX}"


def intents(repo: Repository) -> list[Path]:
    return sorted(repo.paths.staging.glob(f"{PREFIX}*{SUFFIX}"))


def pending_objects(repo: Repository) -> dict[str, str]:
    """``{object id: archive id}`` of approved disposals whose intent is still in staging (interrupted, or
    being carried out): the audit leaves them alone (DSP006) until recovery has finished them."""
    found = {}
    for path in intents(repo):
        try:
            intent = json.loads(path.read_text("utf-8"))
            found[str(intent["object_id"])] = str(intent["archive_id"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # unreadable: recovery reports it
    return found


def write_intent(repo: Repository, proposal_id: int, intent: dict[str, Any]) -> Path:
    """Step 1: the intent, durable and whole (written beside, then renamed)."""
    target = intent_path(repo, proposal_id)
    partial = target.with_name(f".{target.name}.tmp")
    write_durable(partial, json.dumps(intent, ensure_ascii=False, sort_keys=True).encode("utf-8"))
    os.replace(partial, target)
    fsync_path(target.parent, directory=True)
    return target


def make_intent(proposal_id: int, archive_id: str, object_id: str, approver: str, tombstone: bytes,
                signature: bytes, log_record: dict[str, Any]) -> dict[str, Any]:
    return {"proposal": proposal_id, "archive_id": archive_id, "object_id": object_id, "approved_by": approver,
            "tombstone": base64.b64encode(tombstone).decode("ascii"),
            "signature": base64.b64encode(signature).decode("ascii"), "log_record": log_record}


def usable_copies(repo: Repository) -> list[Any]:
    """The primary and every replica; DisposalError DSP-COPY when one cannot be opened (nothing removed)."""
    copies = open_copies(repo)
    broken = [c for c in copies if c.store is None]
    if broken:
        raise DisposalError(msgid="disposal.copy_unusable", code="DSP-COPY", copy=broken[0].label,
                            detail=broken[0].error or "")
    return copies


def _logged(log: AuditLog, event_id: str) -> bool:
    needle = event_id.encode("ascii")
    try:
        with open(log.path, "rb") as handle:
            return any(needle in line for line in handle)
    except FileNotFoundError:
        return False


def carry_out(repo: Repository, path: Path, *, recovering: bool = False) -> str:
    """Steps 2-6 from the intent at ``path``; the archive id."""
    from ..accounts.proposals import DISPOSED, decide
    from ..accounts.scanreviews import dispose as dispose_scan_reviews
    from ..catalog.disposals import record_disposal
    from ..search.pdfheaders import forget as forget_pdf_headers
    from ..state.db import open_state

    intent = json.loads(path.read_text("utf-8"))
    archive_id, oid = intent["archive_id"], intent["object_id"]
    data, signature = base64.b64decode(intent["tombstone"]), base64.b64decode(intent["signature"])
    tombstone = json.loads(data)
    copies = usable_copies(repo)
    for copy in copies:
        write_tombstone(copy.root, oid, data, signature, copy.staging)
    for copy in [*copies[1:], copies[0]]:  # replicas first: the primary goes last
        remove_object(copy.store, oid, copy.staging)
    record_disposal(repo.catalog, tombstone)
    repo.search.delete(archive_id)
    repo.search.commit()
    repo.search.close()  # drops a kept searcher: Whoosh's Searcher.refresh() misses deletions in old segments
    repo.text_cache.forget(f["sha512"] for f in tombstone["removed"]["files"])  # its PDFs' texts too
    repo.research_copies.forget(f["sha512"] for f in tombstone["removed"]["files"])  # researchers' copies of them
    # (scans' proposed and approved copies too: their files are named by the same digests, cache/research/)
    forget_pdf_headers(repo.text_cache, oid)  # and which of its files were PDFs
    log = AuditLog(repo.paths.audit)
    record = intent["log_record"]
    if not (recovering and _logged(log, record["event"]["identifier"])):
        log.append([record])
    with open_state(repo.cfg.state_url) as state:
        dispose_scan_reviews(state, str(archive_id))  # its scans' reviews apply to nothing now
        decide(state, int(intent["proposal"]), DISPOSED, intent["approved_by"],
               now=_when(tombstone["disposed_at"]))
    path.unlink()
    fsync_path(path.parent, directory=True)
    return str(archive_id)


def _when(value: str) -> Any:  # noqa: ANN401 - a datetime
    from datetime import datetime

    return datetime.fromisoformat(value)


def finish_disposals(repo: Repository) -> list[str]:
    """Finish every disposal a crash interrupted (call it holding the home lock)."""
    done = []
    for partial in repo.paths.staging.glob(f".{PREFIX}*{SUFFIX}.tmp"):  # killed while writing the intent
        partial.unlink(missing_ok=True)
        done.append(f"removed {partial.name}")
    pending = intents(repo)
    if not pending:
        return done
    try:
        with disposal_locks(repo):
            for path in pending:
                try:
                    archive_id = carry_out(repo, path, recovering=True)
                except (DisposalError, OSError) as exc:
                    done.append(f"could not finish disposal {path.name}: {exc}")
                    continue
                done.append(f"finished the disposal of {archive_id}")
    except DisposalError as exc:  # DSP-BUSY: an audit or a reader is running; the intents wait for them
        done.append(f"could not finish disposals yet: {exc}")
    return done
