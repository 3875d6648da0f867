"""Use-case: a researcher's copy of a document (利用件), what a user who never sees personal data receives
instead of the stored file (:mod:`repository.dip.research`), and a scan's, approved by an archivist
(:mod:`repository.dip.scans`); and keeping the folder of copies within its bound (``hsar cache prune``)."""

from __future__ import annotations

from ..dip.research import (
    CopyGone,
    PendingCopy,
    Pruned,
    RedactError,
    copy_kind,
    pending_copy,
    prune_copies,
    research_copy,
)
from ..dip.scans import (
    ApprovedScan,
    Review,
    ScanCopyError,
    ScanState,
    approved_copy,
    boxes_tag,
    checked_boxes,
    decide,
    kept_approved_copy,
    proposal_pages,
    scan_state,
    still_current,
    stored,
)

__all__ = ["ApprovedScan", "CopyGone", "PendingCopy", "Pruned", "RedactError", "Review", "ScanCopyError", "ScanState",
           "approved_copy", "boxes_tag", "checked_boxes", "copy_kind", "decide", "kept_approved_copy", "pending_copy",
           "proposal_pages", "prune_copies", "research_copy", "scan_state", "still_current", "stored"]
