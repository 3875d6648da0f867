"""The audit's view of disposed archives (销毁记录的检查): tombstones are checked, absences are expected.

A disposed archive's object is gone from every copy on purpose; the audit never selects it (neither storage
nor the catalogue lists it), so its absence is no failure. What is checked, in every usable copy:

- each tombstone (:mod:`repository.preservation.tombstone`) is readable, complete and sits where its object
  id puts it (else DSP004, error), and its detached CMS signature verifies over ``tombstone.json`` against
  ``signing.trust_roots`` at its disposal time (else DSP001, error);
- the disposed object is not in the copy again (restored from a backup, re-ingested, copied back): DSP002
  (error);
- every replica holds each tombstone the primary holds: DSP003 (warning; the next disposal or recovery writes
  it again).

An audit of archives named (``hsar audit --archive``, the audit page's job) checks the tombstones of those
archives only: its report is for their division (:func:`repository.audit.select.run_scope`) and names no other.

An approved disposal whose intent is still in staging (a crash cut it short; a running one holds the audit
lock, so no audit sees it) may have removed the object from some copies and not others: such an object is
neither audited nor judged by its tombstones, only reported (DSP006, a warning) until recovery finishes it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

from ..codes import Issue, issue
from ..messages import Text
from ..preservation.copies import PRIMARY, Copy
from ..preservation.ids import archive_key
from ..preservation.signing import verify_detached
from ..preservation.tombstone import SIGNATURE_FILE, TOMBSTONE_FILE, StoredTombstone, read_tombstones


def _trust_problem(ts: StoredTombstone, trust_roots: list[Path]) -> tuple[str, str | Text] | None:
    """(code, detail) of what is wrong with a tombstone, None when it can be trusted."""
    if ts.data is None or ts.object_id is None or ts.archive_id is None:
        return "DSP004", TOMBSTONE_FILE
    if not ts.well_placed:
        return "DSP004", ts.directory.name
    if ts.signature is None:
        return "DSP004", SIGNATURE_FILE
    status = verify_detached(ts.raw, ts.signature, trust_roots, at=ts.disposed_at)
    return None if status.bottom_line else ("DSP001", status.reason or "")


def without_disposed(ids: list[str], copies: Mapping[str, Copy], pending: Mapping[str, str] | None = None
                     ) -> list[str]:
    """``ids`` less the objects a tombstone of any copy says were disposed of, and those of ``pending``
    disposals (object id -> archive id): they are not audited (nor repaired from a copy that still has them,
    which would spread them again); :func:`tombstone_issues` reports them instead."""
    disposed = {ts.object_id for copy in copies.values() for ts in read_tombstones(copy.root)} | set(pending or ())
    return [i for i in ids if i not in disposed] if disposed else ids


def tombstone_issues(copies: Mapping[str, Copy], trust_roots: list[Path], pending: Mapping[str, str] | None = None,
                     only: Collection[str] | None = None) -> list[Issue]:
    """Issues of the tombstones of every usable copy (label -> copy); an object of a ``pending`` disposal
    gets DSP006 and no other. With ``only`` (object ids: the archives a run names), the issues of those objects
    alone: a run confined to them reports nothing of other archives (a tombstone that names no object is then
    left to the runs over the whole store)."""
    wanted = None if only is None else set(only)
    pending = {k: v for k, v in (pending or {}).items() if wanted is None or k in wanted}
    found: list[Issue] = [issue("DSP006", oid, archive=aid) for oid, aid in sorted(pending.items())]
    held: dict[str, set[str]] = {}
    for label, copy in copies.items():
        if copy.store is None:
            continue
        held[label] = set()
        for ts in read_tombstones(copy.root):
            if wanted is not None and ts.object_id not in wanted:
                continue
            problem = _trust_problem(ts, trust_roots)
            if ts.object_id is not None:
                held[label].add(ts.object_id)  # there, trusted or not (DSP001 says which)
            if ts.object_id in pending:
                continue
            if problem is not None:
                found.append(issue(problem[0], str(ts.directory), copy=label, detail=problem[1]))
                continue
            assert ts.object_id is not None
            if copy.store.exists(ts.object_id):
                found.append(issue("DSP002", str(copy.store.object_root(ts.object_id)), copy=label,
                                   archive=ts.archive_id))
    for label, ids in held.items():
        if label == PRIMARY:
            continue
        for missing in sorted(held.get(PRIMARY, set()) - ids - set(pending)):
            found.append(issue("DSP003", missing, copy=label, archive=archive_key(missing)))
    return found
