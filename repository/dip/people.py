"""The people of an archive, for masking what a user without personal data sees (:mod:`repository.privacy`).

A unit archive (一套一档) describes no person itself, but its documents name its tenants and buyers
(承租人, 购房人): they are the people of the household archives it is linked with (房户对接). So an
archive's people are those of its own household record and of every archive linked to it, either way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..catalog import households
from ..catalog.serial import to_plain
from ..home import Repository
from ..privacy import mask_with_people


def people(repo: Repository, view: Any) -> list[Any]:  # noqa: ANN401 - catalog ArchiveView
    """The household records (JSON-ready) of the archive ``view`` and of the archives linked to it (none
    when ``view`` is None: an archive no longer catalogued)."""
    if view is None:
        return []
    found = [to_plain(view.archive.household)] if view.archive.household else []
    for relation in view.relations:
        other = repo.catalog.show(relation.other)
        if other is not None and other.archive.household:
            found.append(to_plain(other.archive.household))
    return found


def people_of(repo: Repository, archive_ids: Iterable[str]) -> dict[str, list[Any]]:
    """:func:`people` of many archives at once (a page of search hits), in at most three catalogue queries:
    per archive id, its household record and those of the archives linked to it. An archive the catalogue does
    not hold is left out: nobody can say whose names it holds."""
    return dict(households.with_links(repo.catalog, archive_ids))


def masked_with(found: list[Any], value: Any, *, ids_first: bool = False) -> Any:  # noqa: ANN401 - JSON-ready value
    """``value`` masked as :func:`masked` masks it, with the archive's people ``found`` already looked up
    (:func:`people`, :func:`people_of`); ``ids_first``: as :func:`repository.privacy.mask_with_people` (a search
    hit, masked in one pass as if its identity numbers had been masked before)."""
    return mask_with_people(found, value, ids_first=ids_first)


def masked(repo: Repository, view: Any, value: Any) -> Any:  # noqa: ANN401 - JSON-ready value
    """``value`` as a researcher sees it: resident IDs, phones, incomes masked, and every name of the
    people of ``view`` (its own and of its linked archives) masked wherever it appears."""
    return masked_with(people(repo, view), value)
