"""The transfer list (移交清单) of an export: one entry per archive with its counts and bytes, and the totals,
as XML (namespace :data:`NAMESPACE`) and as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read
the Chinese headers; one header row per language is not needed: the headers come from the message
catalogue in the language asked, ``transfer.list.*``). The CSV's cells go through
:func:`repository.cells.safe_cell`: a title from an ingested description that reads as a formula stays text.

Counts: ``versions`` the archive's OCFL versions, ``items`` the items (件) of its description, ``files`` and
``bytes`` the payload of its package (every stored file of every version, the export PREMIS and the
inventories). Both files are written through a temporary file and a rename.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree

from .. import messages
from ..cells import safe_values
from . import layout

NAMESPACE = "urn:hsar:transfer-list:1"
COLUMNS = ("seq", "archive_id", "reference_code", "title", "type", "division", "versions", "head", "items",
           "files", "bytes", "package", "export_event")


@dataclass(frozen=True)
class ExportedArchive:
    """One archive's line in the transfer list."""

    archive_id: str
    package: str  # folder name under OUT
    reference_code: str  # 档号
    title: str
    type: str
    division: str
    versions: int
    head: str
    items: int
    files: int
    bytes: int
    export_event: str  # the PREMIS event's identifier

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _totals(archives: Sequence[ExportedArchive]) -> dict[str, int]:
    return {"archives": len(archives), "versions": sum(a.versions for a in archives),
            "items": sum(a.items for a in archives), "files": sum(a.files for a in archives),
            "bytes": sum(a.bytes for a in archives)}


def render_xml(archives: Sequence[ExportedArchive], *, institution: str, created: datetime) -> bytes:
    root = etree.Element(f"{{{NAMESPACE}}}transferList", nsmap={None: NAMESPACE},
                         sender=institution, created=created.isoformat())
    for seq, a in enumerate(archives, 1):
        entry = etree.SubElement(root, f"{{{NAMESPACE}}}archive", seq=str(seq))
        for name in COLUMNS[1:]:
            child = etree.SubElement(entry, f"{{{NAMESPACE}}}{_camel(name)}")
            child.text = str(getattr(a, name))
    totals = etree.SubElement(root, f"{{{NAMESPACE}}}totals")
    for name, value in _totals(archives).items():
        totals.set(name, str(value))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def render_csv(archives: Sequence[ExportedArchive], *, lang: str = "zh") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(safe_values(messages.text(f"transfer.list.{c}", lang) for c in COLUMNS))
    for seq, a in enumerate(archives, 1):  # the type by its name (住房保障对象档案), as a person reads the list
        writer.writerow(safe_values([seq, *(messages.label("archive_type", a.type, lang) if c == "type"
                                            else getattr(a, c) for c in COLUMNS[1:])]))
    totals = _totals(archives)
    writer.writerow(safe_values([messages.text("transfer.list.totals", lang), totals["archives"], "", "", "", "",
                                 totals["versions"], "", totals["items"], totals["files"], totals["bytes"], "", ""]))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def read_xml_totals(data: bytes) -> dict[str, int]:
    """The totals of a transfer list (for checks and tests)."""
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    totals = root.find(f"{{{NAMESPACE}}}totals")
    return {k: int(v) for k, v in (totals.attrib.items() if totals is not None else [])}


def write_lists(out: Path, archives: Sequence[ExportedArchive], *, institution: str, created: datetime,
                lang: str = "zh") -> tuple[Path, Path]:
    xml, csv_path = out / layout.LIST_XML, out / layout.LIST_CSV
    _write(xml, render_xml(archives, institution=institution, created=created))
    _write(csv_path, render_csv(archives, lang=lang))
    return xml, csv_path


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.title() for w in rest)


def _write(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_bytes(data)
    os.replace(temp, path)
