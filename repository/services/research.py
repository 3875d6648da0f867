"""Use-case: a researcher's copy of a document (利用件), what a user who never sees personal data receives
instead of the stored file (:mod:`repository.dip.research`)."""

from __future__ import annotations

from ..dip.research import RedactError, copy_kind, research_copy

__all__ = ["RedactError", "copy_kind", "research_copy"]
