"""Descriptive metadata (``metadata/descriptive.xml``, namespace ``urn:hsar:archive:1``) <-> :mod:`repository.model`.

The XML follows ``metadata/hsar-archive-1.0.xsd``; paper references follow DA/T 22 / DA/T 13 practice, resident
IDs GB 11643 and division codes GB/T 2260. :func:`parse` reads a document that has already passed
:func:`repository.description.validate.validate_descriptive` (it does not validate, but it parses safely: no DTD, no
entities, no network). :func:`to_xml` writes the same form back, so ``parse(to_xml(a)) == a``.
:func:`merge` gives an archive's description after a supplement (补充材料) has been ingested.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

from lxml import etree

from .errors import IngestError
from .model import (
    RETENTION_LABELS,
    Access,
    Archive,
    ArchiveType,
    Household,
    Item,
    MaterialClass,
    Member,
    PackageType,
    PaperRef,
    Person,
    Relation,
    Retention,
    Shelf,
    Status,
    StatusChange,
    SupplementOf,
    Unit,
    Volume,
)
from .resources import NAMESPACE, SCHEMA_VERSION

_NS = f"{{{NAMESPACE}}}"
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_UNIT_FIELDS = (
    ("project", "project"), ("estate", "estate"), ("address", "address"), ("building", "building"),
    ("entrance", "entrance"), ("room", "room"), ("layout", "layout"), ("area", "area"), ("source", "source"),
    ("ownership", "ownership"), ("housingType", "housing_type"),
)


def safe_parser() -> etree.XMLParser:
    """An lxml parser that never loads a DTD, never expands or fetches an entity and never uses the network."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True)


# --- reading ------------------------------------------------------------------------------------------------
def _child(el: etree._Element, name: str) -> etree._Element | None:
    return el.find(_NS + name)


def _required(el: etree._Element, name: str) -> etree._Element:
    child = el.find(_NS + name)
    if child is None:
        raise ValueError(f"<{name}> missing under <{etree.QName(el).localname}>")
    return child


def _text(el: etree._Element, name: str) -> str:
    child = el.find(_NS + name)
    if child is None:
        raise ValueError(f"<{name}> missing under <{etree.QName(el).localname}>")
    return (child.text or "").strip()


def _opt_date(value: str | None) -> date | None:
    return date.fromisoformat(value.strip()) if value else None


def _shelf(el: etree._Element) -> Shelf:
    s = _required(el, "shelf")
    return Shelf(s.get("store"), int(s.get("row")), int(s.get("cabinet")), int(s.get("cell")))


def _volume(el: etree._Element) -> Volume:
    return Volume(
        catalogue=el.get("catalogue"), number=el.get("number"), box=el.get("box"), shelf=_shelf(el),
        separately_filed=(el.get("separatelyFiled") or "false").strip() in ("true", "1"),
        original_volume=el.get("originalVolume"),
    )


def _person(el: etree._Element) -> Person:
    return Person(_text(el, "name"), _text(el, "residentId"))


def _household(el: etree._Element) -> Household:
    members_el = _child(el, "members")
    members = () if members_el is None else tuple(
        Member(_text(m, "name"), _text(m, "residentId"), m.get("relation")) for m in members_el.iter(_NS + "member")
    )
    return Household(
        head=_person(_required(el, "head")), members=members, address=_text(el, "address"),
        income_band=_text(el, "incomeBand"), housing_situation=_text(el, "housingSituation"),
        security_type=_text(el, "securityType"),
        statuses=tuple(StatusChange(Status((s.text or "").strip()), date.fromisoformat(s.get("since").strip()))
                       for s in el.iterfind(_NS + "status")),
    )


def _unit(el: etree._Element) -> Unit:
    values: dict[str, Any] = {attr: _text(el, tag) for tag, attr in _UNIT_FIELDS}  # str, and area a float
    values["area"] = float(values["area"])
    return Unit(**values)


def _item(el: etree._Element) -> Item:
    paper = _required(el, "paper")
    return Item(
        number=int(el.get("number")), material_class=MaterialClass(el.get("class").strip()),
        subtype=el.get("subtype"), title=_text(el, "title"), date=date.fromisoformat(_text(el, "date")),
        pages=int(_text(el, "pages")),
        files=tuple((f.text or "").strip() for f in _required(el, "files").iterfind(_NS + "file")),
        paper=PaperRef(
            catalogue=paper.get("catalogue"), volume=paper.get("volume"), item=int(paper.get("item")),
            page_start=int(paper.get("pageStart")), page_end=int(paper.get("pageEnd")), box=paper.get("box"),
            shelf=_shelf(paper),
        ),
    )


def _relation(el: etree._Element) -> Relation:
    return Relation(el.get("type"), el.get("target"), date.fromisoformat(el.get("start").strip()),
                    _opt_date(el.get("end")))


def from_element(root: etree._Element) -> Archive:
    """The :class:`Archive` an XSD-valid ``<archive>`` element describes."""
    dates, household, unit = _required(root, "dates"), _child(root, "household"), _child(root, "unit")
    supplement, relations, end = _child(root, "supplementOf"), _child(root, "relations"), _child(dates, "end")
    return Archive(
        identifier=_text(root, "identifier"), type=ArchiveType(_text(root, "type")),
        package_type=PackageType(_text(root, "packageType")), title=_text(root, "title"),
        division=_text(root, "division"), institution=_text(root, "institution"), fonds=_text(root, "fonds"),
        reference_code=_text(root, "referenceCode"), year=int(_text(root, "year")),
        retention=Retention(_required(root, "retention").get("code").strip()), access=Access(_text(root, "access")),
        start=date.fromisoformat(_text(dates, "start")),
        end=_opt_date(end.text if end is not None else None),
        volume=_volume(_required(root, "volume")),
        items=tuple(_item(i) for i in _required(root, "items").iterfind(_NS + "item")),
        household=_household(household) if household is not None else None,
        unit=_unit(unit) if unit is not None else None,
        relations=() if relations is None else tuple(_relation(r) for r in relations.iterfind(_NS + "relation")),
        supplement_of=None if supplement is None else SupplementOf(
            supplement.get("archive"), supplement.get("originalVolume"), supplement.get("reason")),
    )


def parse(data: bytes) -> Archive:
    """Read an already-validated descriptive XML document. The same bytes parsed last give the same (immutable)
    :class:`Archive` again without parsing: a supplement's catalogue record and its index both read the new
    version's description, which lists every file of the archive."""
    global _LAST_PARSED
    last = _LAST_PARSED
    if last is not None and last[0] == data:
        return last[1]
    archive = from_element(etree.fromstring(data, safe_parser()))
    if type(data) is bytes:  # immutable: a bytearray could change under the memo
        _LAST_PARSED = (data, archive)
    return archive


#: the document :func:`parse` read last, and what it gave (replaced as a whole: safe between threads)
_LAST_PARSED: tuple[bytes, Archive] | None = None


def read_descriptive(path: str | Path) -> Archive:
    """:func:`parse` the file at ``path``."""
    return parse(Path(path).read_bytes())


# --- writing ------------------------------------------------------------------------------------------------
def _sub(parent: etree._Element, name: str, text: object | None = None, **attrs: object) -> etree._Element:
    el = etree.SubElement(parent, _NS + name, {k: str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = str(text)
    return el


def _write_shelf(parent: etree._Element, shelf: Shelf) -> None:
    _sub(parent, "shelf", store=shelf.store, row=shelf.row, cabinet=shelf.cabinet, cell=shelf.cell)


def _write_person(el: etree._Element, person: Person) -> None:
    _sub(el, "name", person.name)
    _sub(el, "residentId", person.resident_id)


def _write_household(root: etree._Element, h: Household) -> None:
    el = _sub(root, "household")
    _write_person(_sub(el, "head"), h.head)
    if h.members:
        members = _sub(el, "members")
        for m in h.members:
            _write_person(_sub(members, "member", relation=m.relation), m)
    for name, value in (("address", h.address), ("incomeBand", h.income_band),
                        ("housingSituation", h.housing_situation), ("securityType", h.security_type)):
        _sub(el, name, value)
    for s in h.statuses:
        _sub(el, "status", s.status.value, since=s.since.isoformat())


def _write_unit(root: etree._Element, u: Unit) -> None:
    el = _sub(root, "unit")
    for tag, attr in _UNIT_FIELDS:
        _sub(el, tag, getattr(u, attr))


def _write_item(items: etree._Element, item: Item) -> None:
    el = _sub(items, "item", number=item.number, **{"class": item.material_class.value}, subtype=item.subtype)
    _sub(el, "title", item.title)
    _sub(el, "date", item.date.isoformat())
    _sub(el, "pages", item.pages)
    files, file_tag = _sub(el, "files"), _NS + "file"
    for f in item.files:  # what _sub does for a text without attributes (an archive may list 20,000 files)
        etree.SubElement(files, file_tag).text = str(f)
    p = item.paper
    paper = _sub(el, "paper", catalogue=p.catalogue, volume=p.volume, item=p.item, pageStart=p.page_start,
                 pageEnd=p.page_end, box=p.box)
    _write_shelf(paper, p.shelf)


def _write_head(root: etree._Element, a: Archive) -> None:
    for name, value in (("identifier", a.identifier), ("type", a.type.value), ("packageType", a.package_type.value),
                        ("title", a.title), ("division", a.division), ("institution", a.institution),
                        ("fonds", a.fonds), ("referenceCode", a.reference_code), ("year", f"{a.year:04d}")):
        _sub(root, name, value)
    _sub(root, "retention", RETENTION_LABELS[a.retention], code=a.retention.value)
    _sub(root, "access", a.access.value)
    dates = _sub(root, "dates")
    _sub(dates, "start", a.start.isoformat())
    if a.end is not None:
        _sub(dates, "end", a.end.isoformat())
    v = a.volume
    volume = _sub(root, "volume", catalogue=v.catalogue, number=v.number, box=v.box,
                  separatelyFiled="true" if v.separately_filed else None, originalVolume=v.original_volume)
    _write_shelf(volume, v.shelf)


def to_xml(archive: Archive) -> bytes:
    """The descriptive XML of ``archive``: pretty-printed UTF-8 with an XML declaration."""
    root = etree.Element(_NS + "archive", nsmap={None: NAMESPACE}, schemaVersion=SCHEMA_VERSION)
    _write_head(root, archive)
    if (s := archive.supplement_of) is not None:
        _sub(root, "supplementOf", archive=s.archive, originalVolume=s.original_volume, reason=s.reason)
    if archive.household is not None:
        _write_household(root, archive.household)
    if archive.unit is not None:
        _write_unit(root, archive.unit)
    items = _sub(root, "items")
    for item in archive.items:
        _write_item(items, item)
    if archive.relations:
        relations = _sub(root, "relations")
        for r in archive.relations:
            _sub(relations, "relation", type=r.type, target=r.target, start=r.start.isoformat(),
                 end=r.end.isoformat() if r.end else None)
    return _DECLARATION + etree.tostring(root, pretty_print=True, xml_declaration=False, encoding="UTF-8")


# --- supplements --------------------------------------------------------------------------------------------
def _merge_relations(current: tuple[Relation, ...], new: tuple[Relation, ...]) -> tuple[Relation, ...]:
    """Union keyed by (type, target, start): a supplement's copy of a link (e.g. now with an end) wins."""
    merged: dict[tuple[str, str, date], Relation] = {(r.type, r.target, r.start): r for r in current}
    for r in new:
        merged[(r.type, r.target, r.start)] = r
    return tuple(merged.values())


def merge(current: Archive, supplement: Archive) -> Archive:
    """The archive's description after ``supplement``: items appended (sorted by number), household/unit
    replaced when the supplement carries them, relations unioned, ``end`` set when the status becomes exited.
    Identity, paper volume and package type stay the original's.

    Raises :class:`~repository.errors.IngestError` when ``supplement`` is not a supplement of ``current`` or
    repeats one of its item numbers (could not merge; validation reports these as issues first).
    """
    if supplement.supplement_of is None or supplement.supplement_of.archive != current.identifier:
        raise IngestError(f"not a supplement of {current.identifier}")
    if supplement.type is not current.type:
        raise IngestError(f"a {supplement.type.value} supplement cannot extend a {current.type.value} archive")
    clash = {i.number for i in current.items} & {i.number for i in supplement.items}
    if clash:
        raise IngestError(f"supplement repeats item numbers {sorted(clash)}")
    household = supplement.household or current.household
    end = current.end
    if household is not None and household is not current.household and household.status.status is Status.EXITED:
        end = supplement.end or household.status.since
    return dataclasses.replace(
        current,
        items=tuple(sorted(current.items + supplement.items, key=lambda i: i.number)),
        household=household,
        unit=supplement.unit or current.unit,
        relations=_merge_relations(current.relations, supplement.relations),
        end=end,
    )
