"""Use-case: a researcher's copy of a document (利用件), what a user who never sees personal data receives
instead of the stored file (:mod:`repository.dip.research`)."""

from __future__ import annotations

from ..dip.research import PendingCopy, RedactError, copy_kind, pending_copy, research_copy

__all__ = ["PendingCopy", "RedactError", "copy_kind", "pending_copy", "research_copy"]
