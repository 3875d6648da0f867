"""Masking of resident identity numbers (公民身份号码, GB 11643) in search results.

Archives hold the identity numbers of low-income households; disclosure beyond the purpose of use is
forbidden. Callers not allowed to see them get ``110101********1234`` (the rule is :mod:`repository.privacy`),
in titles, items, paper references and highlight fragments alike.
"""

from __future__ import annotations

from dataclasses import replace

from ..privacy import mask_text, mask_value
from .results import Hit, SearchResult


def mask_hit(hit: Hit) -> Hit:
    """The hit with every identity number in its title, items, paper references and highlights masked."""
    return replace(hit, title=mask_text(hit.title), items=mask_value(hit.items), paper=mask_value(hit.paper),
                   highlights={k: mask_text(v) for k, v in hit.highlights.items()})


def mask_result(result: SearchResult) -> SearchResult:
    """The result with :func:`mask_hit` applied to every hit."""
    return replace(result, hits=[mask_hit(h) for h in result.hits])
