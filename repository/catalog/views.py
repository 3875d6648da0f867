"""Read models of the catalogue: what ``hsar show`` prints and ``hsar show --json`` emits.

All frozen dataclasses, so the answers before and after ``hsar rebuild-catalog`` compare with ``==``.
Datetimes are UTC-aware whatever the database returned.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ..model import (
    MATERIAL_CLASS_LABELS,
    RETENTION_LABELS,
    STATUS_LABELS,
    Archive,
    MaterialClass,
    PaperRef,
    Volume,
)
from .serial import to_plain


def volumes_in_order(volumes: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The paper volumes an archive's items are bound in (``{"items": [numbers], ...}``), each volume's item
    numbers ascending, the volumes by their first item: as the paper is filed, not as the items are grouped."""
    found = list(volumes)
    for v in found:
        v["items"].sort()
    return sorted(found, key=lambda v: v["items"][0])


@dataclass(frozen=True)
class VersionView:
    number: str
    created: datetime
    message: str
    user: str | None
    sip_name: str
    package_type: str
    file_count: int
    bytes: int
    checks: dict[str, Any] | None
    volume: Volume | None  # the paper volume as described at this version


@dataclass(frozen=True)
class ItemView:
    number: int  # 件号
    material_class: MaterialClass
    subtype: str
    title: str
    date: date
    pages: int
    paper: PaperRef
    files: tuple[str, ...]
    version_added: str


@dataclass(frozen=True)
class ClassGroup:
    """The items of one material class (材料类别), in item-number order."""

    material_class: MaterialClass
    label: str
    items: tuple[ItemView, ...]


@dataclass(frozen=True)
class FileView:
    path: str
    size: int
    sha512: str
    puid: str | None
    format_name: str | None
    format_version: str | None
    policy: str | None
    item_number: int | None
    version_added: str


@dataclass(frozen=True)
class EventView:
    identifier: str
    type: str
    datetime: datetime
    outcome: str | None
    outcome_detail: str | None
    detail: str | None
    agent: str | None
    object_path: str | None
    version: str


@dataclass(frozen=True)
class RelationView:
    """A household-unit link (房户对接) seen from this archive: ``direction`` is ``out`` or ``in``."""

    direction: str
    type: str
    other: str
    other_title: str | None  # None when the other archive is not catalogued
    start: date
    end: date | None


@dataclass(frozen=True)
class ArchiveView:
    """Everything ``hsar show ARCHIVE_ID`` prints."""

    archive: Archive  # the current merged description
    head_version: str
    created: datetime
    updated: datetime
    versions: tuple[VersionView, ...]
    items_by_class: tuple[ClassGroup, ...]
    files: tuple[FileView, ...]  # payload of the head version
    events: tuple[EventView, ...]  # in time order
    relations: tuple[RelationView, ...]

    @property
    def identifier(self) -> str:
        return self.archive.identifier

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def paper_references(self) -> dict[str, Any]:
        """Volume (案卷) and per-item paper references (目录号/案卷号/件号/页号/盒号/shelf)."""
        volumes: dict[tuple[str, str, str], dict[str, Any]] = {}
        for group in self.items_by_class:
            for i in group.items:
                p = i.paper
                entry = volumes.setdefault((p.catalogue, p.volume, p.box), {
                    "catalogue": p.catalogue, "volume": p.volume, "box": p.box, "shelf": to_plain(p.shelf),
                    "shelf_text": str(p.shelf), "items": []})
                entry["items"].append(i.number)
        a = self.archive
        return {
            "fonds": a.fonds,
            "reference_code": a.reference_code,
            "volume": to_plain(a.volume) | {"shelf_text": str(a.volume.shelf)},
            # every paper volume the items are bound in (separately filed supplements add volumes, 另行立卷)
            "volumes": volumes_in_order(volumes.values()),
            "items": [to_plain(i.paper) | {"number": i.number, "shelf_text": str(i.paper.shelf)}
                      for g in self.items_by_class for i in g.items],
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``hsar show --json``)."""
        a = self.archive
        description = to_plain(a)
        description.pop("items", None)
        description["retention_label"] = RETENTION_LABELS[a.retention]
        if a.household is not None:
            current = a.household.status
            description["status"] = {"status": current.status.value, "label": STATUS_LABELS[current.status],
                                     "since": current.since.isoformat()}
        return {
            "identifier": a.identifier,
            "head_version": self.head_version,
            "created": self.created.isoformat(),
            "updated": self.updated.isoformat(),
            "description": description,
            "paper_references": self.paper_references(),
            "versions": to_plain(self.versions),
            "items_by_class": to_plain(self.items_by_class),
            "files": to_plain(self.files),
            "total_bytes": self.total_bytes,
            "events": to_plain(self.events),
            "relations": to_plain(self.relations),
        }


@dataclass(frozen=True)
class ArchiveSummary:
    """One row of an archive list."""

    identifier: str
    type: str
    title: str
    division: str
    reference_code: str
    year: int
    status: str | None
    head_version: str
    updated: datetime


@dataclass(frozen=True)
class CatalogStats:
    """Counts for dashboards: archives by type, division and status; versions, files and bytes."""

    archives: int
    by_type: dict[str, int]
    by_division: dict[str, int]
    by_status: dict[str, int]
    versions: int
    files: int
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)


def class_label(material_class: MaterialClass) -> str:
    return MATERIAL_CLASS_LABELS.get(material_class, str(material_class))
