"""Recording audit results: PREMIS events to the hash-chained audit log, rows to the catalogue.

One writer: the in-process run records each archive as it is judged; a sharded run records each shard's
results in the parent, in selection order (:mod:`.shards`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import HsarError
from ..messages import Text
from ..preservation.auditlog import event_record
from .result import ArchiveResult

if TYPE_CHECKING:
    from .work import Run as _Run


def record_results(run: _Run, results: list[ArchiveResult]) -> list[ArchiveResult]:
    """Append the events to the audit log and the results to the catalogue, several archives in one write
    and one transaction (a failing catalogue is a note); each result gets its log anchor."""
    from ..catalog.audits_sqlite import AuditEvent, AuditRecord

    heads = run.log.append_groups([[event_record(e, object_id=r.object_id, archive_id=r.archive_id)
                                    for e in r.events] for r in results])
    results = [replace(r, log=head) for r, head in zip(results, heads, strict=True)]
    catalog = run.catalog
    if catalog is None:
        return results
    rows = []
    for result in results:
        events = tuple(AuditEvent(e.identifier, e.type, e.datetime, e.outcome, e.detail,
                                   "; ".join(a.identifier for a in e.agents),
                                   e.objects[0].identifier if e.objects else None, e.outcome_detail)
                       for e in result.events)
        sources = sorted({label for r in result.repairs if r.verified and r.source
                          for label in [r.source.split(":", 1)[0]] if label in run.copies})
        detail = {"codes": sorted({f.code for f in result.findings}),
                  "log": result.log.to_dict() if result.log else None,
                  "findings": [f.to_dict() for f in result.findings[:200]]}
        rows.append(AuditRecord(
            result.archive_id, result.head, result.started, result.finished, result.result, result.files_checked,
            result.bytes_checked, result.signature_ok, ", ".join(sources) or None, "hsar", detail, events))
    try:
        catalog.record_audits(rows)
    except HsarError as exc:
        run.notes.append(Text.of("audit.note.catalogue", detail=exc.as_text()))
    return results
