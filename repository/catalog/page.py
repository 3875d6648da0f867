"""One archive in its JSON-ready form, read straight from the rows: what the archive page and the API show.

:func:`repository.catalog.read.show` builds the typed :class:`~.views.ArchiveView` (``hsar show``, the
rebuild comparison) and :meth:`~.views.ArchiveView.to_dict` turns it into plain dicts again; a page that only
wants the plain form paid for both (a frozen dataclass per version, item, file and event, then the walk back,
about a millisecond per view at 200,000 archives). :func:`plain` makes the same dicts (equal, keys in the same
order: a test compares them over every archive of the fixtures) from the rows of :mod:`.read`'s prebuilt
statements, in one transaction with the two facts the page adds: the newest audit of the archive and the
division of every linked archive (whether the user may see it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from ..model import (
    CLASSES_BY_TYPE,
    RETENTION_LABELS,
    STATUS_LABELS,
    Archive,
    ArchiveType,
    MaterialClass,
    Retention,
    Shelf,
    Status,
)
from . import read
from . import tables as t
from .rawrows import Prepared
from .records import utc
from .serial import normalised, to_plain
from .views import class_label, volumes_in_order


def _newest_audit(column: Any) -> Any:  # noqa: ANN401 - a column of audits -> its scalar subquery
    """``column`` of the archive's newest finished audit (as catalog.audits.last_checked gives it per archive), by its index."""
    a = t.audits.c
    return (select(column).where(a.archive_id == t.archives.c.id, a.finished.is_not(None))
            .order_by(a.finished.desc()).limit(1).scalar_subquery())


# the archive's row with its newest audit (one statement instead of two)
_ARCHIVE = select(t.archives, _newest_audit(t.audits.c.finished).label("audit_finished"),
                  _newest_audit(t.audits.c.bytes_checked).label("audit_bytes")).where(t.archives.c.id == read._ID)
# the page's statements, run on SQLite's own cursor (:mod:`.rawrows`: the same rows, without SQLAlchemy's cost per
# statement); plain() (the API, the rebuild comparison) runs the archive's row through SQLAlchemy as before
_PAGE_ARCHIVE, _VERSIONS, _ITEMS, _FILES, _EVENTS, _RELATIONS = (
    Prepared(s) for s in (_ARCHIVE, read._VERSIONS, read._ITEMS, read._FILES, read._EVENTS, read._RELATIONS))


@dataclass(frozen=True)
class PlainArchive:
    """The plain view (``ArchiveView.to_dict()``), its newest audit and the divisions of its linked archives."""

    data: dict[str, Any]
    last_audit: tuple[datetime, int] | None  # (finished, bytes checked), as catalog.audits.last_checked
    divisions: dict[str, str]  # linked archive id -> its division, catalogued or disposed of (else absent)


def read_plain(conn: Connection, archive_id: str) -> PlainArchive | None:
    found = _PAGE_ARCHIVE.rows(conn, {"archive_id": archive_id})
    if not found:
        return None
    row = found[0]
    data = _plain(conn, archive_id, row)
    others = sorted({r["other"] for r in data["relations"]})
    divisions = read.divisions_of(conn, others) if others else {}  # a disposed one's too, from its tombstone
    audited = (utc(row.audit_finished), int(row.audit_bytes or 0)) if row.audit_finished is not None else None
    return PlainArchive(data, audited, divisions)


def _shelf(r: Any) -> dict[str, Any]:
    return {"store": r.shelf_store, "row": r.shelf_row, "cabinet": r.shelf_cabinet, "cell": r.shelf_cell}


def _shelf_text(shelf: dict[str, Any]) -> str:
    return str(Shelf(**shelf))


def _iso(value: Any) -> Any:  # noqa: ANN401 - a date, a datetime or None
    return None if value is None else value.isoformat()


def _version(r: Any) -> dict[str, Any]:
    volume = None
    if r.volume_number is not None:
        volume = {"catalogue": r.volume_catalogue, "number": r.volume_number, "box": r.volume_box,
                  "shelf": _shelf(r), "separately_filed": bool(r.separately_filed),
                  "original_volume": r.original_volume}
    return {"number": r.number, "created": utc(r.created).isoformat(), "message": r.message, "user": r.ocfl_user,
            "sip_name": r.sip_name, "package_type": r.package_type, "file_count": r.file_count, "bytes": r.bytes,
            "checks": to_plain(r.checks), "volume": volume}


_CLASSES = {c.value: c for c in MaterialClass}


def _groups(conn: Connection, archive_type: ArchiveType, files_of: dict[int, list[str]],
            params: dict[str, str]) -> list[dict[str, Any]]:
    by_class: dict[MaterialClass, list[dict[str, Any]]] = {}
    for r in _ITEMS.rows(conn, params):
        material = _CLASSES.get(r.material_class) or MaterialClass(r.material_class)
        paper = {"catalogue": r.catalogue, "volume": r.volume, "item": r.item, "page_start": r.page_start,
                 "page_end": r.page_end, "box": r.box, "shelf": _shelf(r)}
        by_class.setdefault(material, []).append({
            "number": r.number, "material_class": material.value, "subtype": r.subtype, "title": r.title,
            "date": r.date.isoformat(), "pages": r.pages, "paper": paper, "files": list(files_of.get(r.number, ())),
            "version_added": r.version_added})
    order = list(CLASSES_BY_TYPE.get(archive_type, ()))
    order += [c for c in MaterialClass if c in by_class and c not in order]
    return [{"material_class": c.value, "label": class_label(c), "items": by_class.get(c, [])} for c in order]


def _paper_references(description: dict[str, Any], groups: list[dict[str, Any]]) -> dict[str, Any]:
    """As :meth:`~.views.ArchiveView.paper_references`, from the plain description and item groups."""
    volumes: dict[tuple[str, str, str], dict[str, Any]] = {}
    items = []
    for group in groups:
        for i in group["items"]:
            p = i["paper"]
            text = _shelf_text(p["shelf"])
            entry = volumes.setdefault((p["catalogue"], p["volume"], p["box"]), {
                "catalogue": p["catalogue"], "volume": p["volume"], "box": p["box"], "shelf": dict(p["shelf"]),
                "shelf_text": text, "items": []})
            entry["items"].append(i["number"])
            items.append({**p, "shelf": dict(p["shelf"]), "number": i["number"], "shelf_text": text})
    volume = description["volume"]
    return {
        "fonds": description["fonds"],
        "reference_code": description["reference_code"],
        "volume": {**volume, "shelf": dict(volume["shelf"]), "shelf_text": _shelf_text(volume["shelf"])},
        "volumes": volumes_in_order(volumes.values()),
        "items": items,
    }


def plain(conn: Connection, archive_id: str) -> dict[str, Any] | None:
    """``read.show(conn, archive_id).to_dict()``, without the typed view in between; None when not catalogued."""
    row = conn.execute(read._ARCHIVE, {"archive_id": archive_id}).first()
    return None if row is None else _plain(conn, archive_id, row)


def _plain(conn: Connection, archive_id: str, row: Any) -> dict[str, Any]:
    """:func:`plain` of the archive whose row of ``archives`` is ``row``."""
    params = {"archive_id": archive_id}
    description = normalised(Archive, row.description)  # as to_plain(from_plain(Archive, ...)), no Archive made
    files_of = {item["number"]: item["files"] for item in description.pop("items")}
    description["retention_label"] = RETENTION_LABELS[Retention(description["retention"])]
    if description["household"] is not None:  # the current status: the latest change (Household.status)
        current = max(description["household"]["statuses"], key=lambda s: date.fromisoformat(s["since"]))
        description["status"] = {"status": current["status"], "label": STATUS_LABELS[Status(current["status"])],
                                 "since": current["since"]}
    versions = [_version(r) for r in _VERSIONS.rows(conn, params)]
    groups = _groups(conn, ArchiveType(description["type"]), files_of, params)
    files = [{"path": r.path, "size": r.size, "sha512": r.sha512, "puid": r.puid, "format_name": r.format_name,
              "format_version": r.format_version, "policy": r.policy, "item_number": r.item_number,
              "version_added": r.version_added} for r in _FILES.rows(conn, params)]
    events = [{"identifier": r.identifier, "type": r.type, "datetime": utc(r.datetime).isoformat(),
               "outcome": r.outcome, "outcome_detail": r.outcome_detail, "detail": r.detail, "agent": r.agent,
               "object_path": r.object_path, "version": r.version} for r in _EVENTS.rows(conn, params)]
    relations = [{"direction": x.direction, "type": x.type, "other": x.other, "other_title": x.title,
                  "start": _iso(x.start_date), "end": _iso(x.end_date)} for x in _RELATIONS.rows(conn, params)]
    return {
        "identifier": description["identifier"],
        "head_version": row.head_version,
        "created": utc(row.created).isoformat(),
        "updated": utc(row.updated).isoformat(),
        "description": description,
        "paper_references": _paper_references(description, groups),
        "versions": versions,
        "items_by_class": groups,
        "files": files,
        "total_bytes": sum(f["size"] for f in files),
        "events": events,
        "relations": relations,
    }
