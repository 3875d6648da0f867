"""Use-case: the people of an archive and what masking them gives a user who sees no personal data
(:mod:`repository.dip.people`)."""

from __future__ import annotations

from ..dip.people import masked, masked_with, people, people_of

__all__ = ["masked", "masked_with", "people", "people_of"]
