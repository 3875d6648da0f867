"""Use-case: a researcher's copy of a document (利用件), what a user who never sees personal data receives
instead of the stored file (:mod:`repository.dip.research`); and keeping the folder of copies within its bound
(``hsar cache prune``)."""

from __future__ import annotations

from ..dip.research import (
    PendingCopy,
    Pruned,
    RedactError,
    copy_kind,
    pending_copy,
    prune_copies,
    research_copy,
)

__all__ = ["PendingCopy", "Pruned", "RedactError", "copy_kind", "pending_copy", "prune_copies", "research_copy"]
