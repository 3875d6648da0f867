"""What the catalogue is told about one stored version (an OCFL version of one archive's AIP).

Ingest builds a :class:`VersionRecord` after a version is committed to the store; the rebuild reads the same
facts back from the store (:mod:`repository.catalog.rebuild`). The two must agree for a rebuilt catalogue to
give the same answers, so the meaning of each field is fixed here:

- ``archive``: the archive's *current merged* description at this version (``metadata/descriptive.xml``).
- ``files``: the payload files (``data/...``) of this version's logical state, all of them, not only the
  new ones; ``version_added`` names the version in which the file's present content first appeared.
- ``events``: the PREMIS events of this version (those of its own ``metadata/premis/vN.xml``; for a version
  stored with a cumulative ``metadata/premis.xml``, those it added to it).
- ``checks_summary``: the summary of this SIP's four-property report (``metadata/checks.json``).
- ``carried`` (ingest of a supplement only): when set, ``files`` holds only the payload files new or changed
  in this version, and the others are the file rows of ``carried.version`` already in the catalogue, copied
  there (:class:`CarriedFiles`); the catalogue refuses with :class:`CarryUnavailable` when it cannot, and the
  caller then gives the whole record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import CatalogError

if TYPE_CHECKING:  # for annotations only: the audit records events without importing the model
    from ..model import Archive


def utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def version_seq(number: str) -> int:
    """The integer of an OCFL version number: ``"v3"`` and ``"v003"`` give 3."""
    digits = number[1:] if number[:1] == "v" else number
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"not an OCFL version number: {number!r}")
    return int(digits)


@dataclass(frozen=True)
class FileRecord:
    """One payload file of a version: fixity and format facts (PRONOM PUID, format policy)."""

    path: str
    size: int
    sha512: str
    puid: str | None
    format_name: str | None
    policy: str | None
    item_number: int | None
    version_added: str
    format_version: str | None = None


@dataclass(frozen=True)
class EventRecord:
    """One PREMIS event: ``agent`` is the linking agents' names joined by ``"; "``."""

    identifier: str
    type: str
    datetime: datetime
    outcome: str | None
    detail: str | None
    agent: str | None
    object_path: str | None
    outcome_detail: str | None = None


class CarryUnavailable(CatalogError):
    """The file rows a record says to carry over are not in the catalogue as expected (the caller then
    records the whole version)."""


@dataclass(frozen=True)
class CarriedFiles:
    """The payload files a version shares, unchanged, with ``version`` before it: every file row of that
    version but those at ``exclude`` (changed or removed since), ``count`` rows in all; their format policy is
    derived again by ``policy_of`` (the setting may have changed since)."""

    version: str
    exclude: frozenset[str]
    count: int
    policy_of: Callable[[str | None], str | None] | None = None


@dataclass(frozen=True)
class VersionRecord:
    """Everything the catalogue stores about one version of one archive."""

    archive: Archive
    version: str
    created: datetime
    message: str
    sip_name: str
    files: list[FileRecord]
    events: list[EventRecord]
    checks_summary: dict[str, Any] = field(default_factory=dict)
    user: str | None = None
    carried: CarriedFiles | None = None

    @property
    def archive_id(self) -> str:
        return self.archive.identifier
