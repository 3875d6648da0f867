"""Exports of housing-security management systems (住房保障管理信息系统): JSON and CSV into :class:`Archive`.

Both formats carry the same fields under the same names; each field also has a Chinese header (列名), and
either spelling is accepted in JSON keys and CSV headers. Examples: ``metadata/examples/export-household.json``
and ``metadata/examples/export-household.csv``.

**JSON**: one object for one archive. Archive-level fields are flat keys; ``items`` is a list of item
objects; ``members``, ``statuses`` and ``relations`` are lists of objects (or the CSV cell strings below)::

    {"identifier": "hh-320102-2021-0001", "type": "household", "division": "320102002", ...,
     "head_name": "王建国", "head_resident_id": "...", "members": [{"name": ..., "resident_id": ...,
     "relation": "配偶"}], "statuses": [{"status": "waiting", "since": "2021-03-02"}],
     "items": [{"number": 1, "class": "application", "subtype": "申请书", "title": ..., "date": ...,
                "pages": 2, "files": ["申请书.pdf"]}]}

**CSV**: one row per item (UTF-8, with or without BOM, or GB18030). The archive-level columns repeat on every
row and must agree; item columns carry an ``item_`` prefix (``item_number``, ``item_class``, ...). List cells
separate entries with ``;`` and an entry's parts with ``|``: members ``name|resident_id|relation``,
statuses ``status|since``, relations ``type|target|start|end``, files ``a.pdf;b.tif``.

Archive fields (English / 中文; * = required): identifier*/档案标识, type*/档案类型 (household|unit|户档|房档),
package_type/包类型 (default ``<type>-sip``, or ``supplement-sip`` when supplement_of is given),
title/题名 (default from the head of household or the unit), division*/行政区划代码, institution*/立档单位,
fonds*/全宗号, reference_code/档号 (default ``<fonds>-ZF·<year>-<retention>-<volume serial>``; ``FY`` for
units), year/年度 (default the start year), retention/保管期限 (Y|D30|D10|永久|长期|短期, default Y),
access/开放状态 (open|restricted|开放|控制使用, default restricted), start*/起始日期, end/终止日期,
catalogue*/目录号, volume*/案卷号, box*/盒号, shelf*/存放位置 (``1-3-2-4``, ``1库3排2柜4格`` or, in JSON,
``{"store", "row", "cabinet", "cell"}``),
separately_filed/另行立卷, original_volume/原案卷号, supplement_of/所补充档案, supplement_reason/补充原因.
Household: head_name*/户主姓名, head_resident_id*/户主身份证号, members/家庭成员, address*/家庭住址,
income_band*/收入类别, housing_situation*/住房状况, security_type*/保障方式, statuses*/保障状态.
Unit: project*/项目, estate*/小区, address*/家庭住址 or 房屋坐落, building*/栋, entrance*/单元, room*/室,
layout*/户型, area*/建筑面积, source*/房源来源, ownership*/产权, housing_type*/房屋类型. relations/房户对接.

Item fields (JSON key / CSV column / 中文): number/item_number/件号 (default: position), class*/item_class/
材料类别 (application|申请材料|...), subtype*/item_subtype/材料子类, title/item_title/材料题名 (default the
sub-type), date*/item_date/形成日期, pages*/item_pages/页数, files*/item_files/文件, page_start/item_page_start/
起页号 and page_end/item_page_end/止页号 (default: continuous from page 1 of the volume). Dates may be written
``2021-03-02``, ``2021/3/2``, ``2021.3.2`` or ``2021年3月2日``.

Files are paths relative to the documents folder. A path starting with ``data/`` is kept as the bag path;
any other goes to ``data/<class>/<file name>``.

A key or column that is none of these is refused (a misspelt field would otherwise be lost silently), and
every problem of an export is reported at once: :class:`ExportError` carries each as a message of the
catalogue (``export.*``), shown in the reader's language.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath
from typing import Any

from ..bags.scan import CONTROL_CHARS, codepoints
from ..messages import Text
from ..model import (
    MATERIAL_CLASS_LABELS,
    RETENTION_LABELS,
    STATUS_LABELS,
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
from .export_errors import ExportError, Gather


def _refuse_unknown(record: Mapping[str, Any], known: set[str], where: str = "") -> None:
    unknown = sorted(str(k) for k in record if str(k or "").strip() not in known)
    if unknown:
        raise ExportError(Text.of("export.unknown_keys", where=where, keys=", ".join(unknown)))


def _names(table: Mapping[str, str], prefix: str = "") -> set[str]:
    return {prefix + k for k in table} | {p + zh for zh in table.values() for p in {prefix, ""}} | set(_ALIASES)


ARCHIVE_FIELDS: dict[str, str] = {
    "identifier": "档案标识", "type": "档案类型", "package_type": "包类型", "title": "题名",
    "division": "行政区划代码", "institution": "立档单位", "fonds": "全宗号", "reference_code": "档号",
    "year": "年度", "retention": "保管期限", "access": "开放状态", "start": "起始日期", "end": "终止日期",
    "catalogue": "目录号", "volume": "案卷号", "box": "盒号", "shelf": "存放位置",
    "separately_filed": "另行立卷", "original_volume": "原案卷号", "supplement_of": "所补充档案",
    "supplement_reason": "补充原因", "head_name": "户主姓名", "head_resident_id": "户主身份证号",
    "members": "家庭成员", "address": "家庭住址", "income_band": "收入类别", "housing_situation": "住房状况",
    "security_type": "保障方式", "statuses": "保障状态", "project": "项目", "estate": "小区", "building": "栋",
    "entrance": "单元", "room": "室", "layout": "户型", "area": "建筑面积", "source": "房源来源",
    "ownership": "产权", "housing_type": "房屋类型", "relations": "房户对接",
}
ITEM_FIELDS: dict[str, str] = {
    "number": "件号", "class": "材料类别", "subtype": "材料子类", "title": "材料题名", "date": "形成日期",
    "pages": "页数", "files": "文件", "page_start": "起页号", "page_end": "止页号",
}
_ALIASES = {"房屋坐落": "address"}

_TYPES = {"household": ArchiveType.HOUSEHOLD, "户档": ArchiveType.HOUSEHOLD, "住房保障对象档案": ArchiveType.HOUSEHOLD,
          "unit": ArchiveType.UNIT, "房档": ArchiveType.UNIT, "住房保障房源档案": ArchiveType.UNIT}
_ACCESS = {"open": Access.OPEN, "开放": Access.OPEN, "restricted": Access.RESTRICTED, "控制使用": Access.RESTRICTED}


@dataclass(frozen=True)
class Converted:
    """An archive and, for each bag path, the file (relative to the documents folder) it comes from."""

    archive: Archive
    sources: dict[str, str]


def _canonical(record: Mapping[str, Any], table: Mapping[str, str], prefix: str = "") -> dict[str, Any]:
    by_zh = {zh: key for key, zh in table.items()} | _ALIASES
    out: dict[str, Any] = {}
    for raw_key, value in record.items():
        key = str(raw_key or "").strip()
        key = key[len(prefix):] if prefix and key.startswith(prefix) else key
        key = by_zh.get(key, key)
        if key in table and value not in (None, ""):
            out[key] = value.strip() if isinstance(value, str) else value
    return out


#: What XML 1.0 cannot hold (its ``Char`` production): C0 controls other than tab, LF and CR, surrogates,
#: U+FFFE and U+FFFF. The descriptive XML is made from these values, so each is refused naming its field.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class _Fields:
    """Typed access to a canonical record; errors name the field in both languages."""

    def __init__(self, record: dict[str, Any], table: Mapping[str, str], where: str) -> None:
        self.record, self.table, self.where = record, table, where

    def fail(self, key: str, why: str, /, **params: object) -> ExportError:
        return ExportError(Text.of("export.field", where=self.where, field=key, label=self.table.get(key, key),
                                   why=Text.of(f"export.{why}", **params)))

    def _xml_safe(self, key: str, value: str) -> str:
        bad = _NOT_XML.findall(value)
        if bad:
            raise self.fail(key, "control_chars", chars=codepoints(bad))
        return value

    def text(self, key: str, default: str | None = None) -> str:
        value = self.record.get(key, default)
        if value is None or str(value).strip() == "":
            raise self.fail(key, "required")
        return self._xml_safe(key, str(value).strip())

    def optional(self, key: str) -> str | None:
        value = self.record.get(key)
        return None if value is None or str(value).strip() == "" else self._xml_safe(key, str(value).strip())

    def integer(self, key: str, default: int | None = None) -> int:
        value = self.record.get(key, default)
        try:
            return int(str(value).strip())
        except (TypeError, ValueError):
            raise self.fail(key, "not_integer", value=repr(value)) from None

    def day(self, key: str, default: date | None = None) -> date:
        value = self.optional(key)
        if value is None:
            if default is None:
                raise self.fail(key, "required")
            return default
        m = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", value)
        try:
            return date(int(m[1]), int(m[2]), int(m[3])) if m else date.fromisoformat(value)
        except ValueError:
            raise self.fail(key, "not_date", value=repr(value)) from None

    def choice(self, key: str, table: Mapping[str, Any], default: str | None = None) -> Any:
        value = self.text(key, default)
        if value not in table:
            raise self.fail(key, "not_one_of", value=repr(value), choices=", ".join(table))
        return table[value]

    def entries(self, key: str, parts: tuple[str, ...]) -> list[dict[str, str]]:
        """A list of objects (JSON) or a ``a|b;c|d`` cell (CSV) as dicts keyed by ``parts``."""
        value = self.record.get(key) or []
        if isinstance(value, str):
            value = [dict(zip(parts, (p.strip() for p in entry.split("|")), strict=False))
                     for entry in re.split(r"[;；]", value) if entry.strip()]
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, "not_entries")
        return value


def _shelf(f: _Fields) -> Shelf:
    raw = f.record.get("shelf")
    if isinstance(raw, Mapping):  # {"store": "1", "row": 3, "cabinet": 2, "cell": 4}
        sub = _Fields(dict(raw), {"store": "库房", "row": "排", "cabinet": "柜", "cell": "格"}, "shelf.")
        return Shelf(sub.text("store"), sub.integer("row"), sub.integer("cabinet"), sub.integer("cell"))
    value = f.text("shelf")
    m = re.fullmatch(r"(\w+?)\s*[-库]\s*(\d+)\s*[-排]\s*(\d+)\s*[-柜]\s*(\d+)\s*格?", value)
    if not m:
        raise f.fail("shelf", "shelf", value=repr(value))
    return Shelf(m[1], int(m[2]), int(m[3]), int(m[4]))


def _retention(f: _Fields) -> Retention:
    table = {r.value: r for r in Retention} | {label: r for r, label in RETENTION_LABELS.items()}
    return f.choice("retention", table, "Y")


def _volume(f: _Fields) -> Volume:
    flag = str(f.record.get("separately_filed", "")).strip().lower() in ("1", "true", "yes", "是", "y")
    return Volume(f.text("catalogue"), f.text("volume"), f.text("box"), _shelf(f), flag, f.optional("original_volume"))


def _household(f: _Fields) -> Household:
    statuses = {s.value: s for s in Status} | {label: s for s, label in STATUS_LABELS.items()}
    members = []
    for i, m in enumerate(f.entries("members", ("name", "resident_id", "relation"))):
        sub = _Fields(m, {"name": "姓名", "resident_id": "身份证号", "relation": "关系"}, f"{f.where}members[{i}].")
        members.append(Member(sub.text("name"), sub.text("resident_id"), sub.text("relation", "其他")))
    changes = []
    for i, s in enumerate(f.entries("statuses", ("status", "since"))):
        sub = _Fields(s, {"status": "状态", "since": "起始日期"}, f"{f.where}statuses[{i}].")
        changes.append(StatusChange(sub.choice("status", statuses), sub.day("since")))
    if not changes:
        raise f.fail("statuses", "no_status")
    return Household(Person(f.text("head_name"), f.text("head_resident_id")), tuple(members), f.text("address"),
                     f.text("income_band"), f.text("housing_situation"), f.text("security_type"), tuple(changes))


def _unit(f: _Fields) -> Unit:
    try:
        area = round(float(f.text("area")), 2)
    except ValueError:
        raise f.fail("area", "not_number", value=repr(f.record.get("area"))) from None
    return Unit(f.text("project"), f.text("estate"), f.text("address"), f.text("building"), f.text("entrance"),
                f.text("room"), f.text("layout"), area, f.text("source"), f.text("ownership"), f.text("housing_type"))


def _relations(f: _Fields) -> tuple[Relation, ...]:
    found = []
    for i, r in enumerate(f.entries("relations", ("type", "target", "start", "end"))):
        sub = _Fields(r, {"type": "类型", "target": "对象", "start": "起始日期", "end": "终止日期"},
                      f"{f.where}relations[{i}].")
        end = sub.day("end") if sub.optional("end") else None
        found.append(Relation(sub.text("type"), sub.text("target"), sub.day("start"), end))
    return tuple(found)


def _class(f: _Fields) -> MaterialClass:
    table = {c.value: c for c in MaterialClass} | {label: c for c, label in MATERIAL_CLASS_LABELS.items()}
    table |= {label.removesuffix("材料"): c for c, label in MATERIAL_CLASS_LABELS.items()}
    return f.choice("class", table)


def _files(f: _Fields, cls: MaterialClass, sources: dict[str, str]) -> tuple[str, ...]:
    value = f.record.get("files")
    names = re.split(r"[;；]", value) if isinstance(value, str) else value
    if not isinstance(names, list) or not [n for n in names if str(n).strip()]:
        raise f.fail("files", "no_files")
    paths = []
    for name in (str(n).strip() for n in names if str(n).strip()):
        bad = CONTROL_CHARS.findall(name) + _NOT_XML.findall(name)  # what PAY004 would refuse, and XML
        if bad:
            raise f.fail("files", "file_control", name=repr(name), chars=codepoints(bad))
        given = PurePosixPath(name.replace("\\", "/"))
        if given.is_absolute() or ".." in given.parts:
            raise f.fail("files", "file_relative", name=repr(name))
        bag_path = str(given) if given.parts[0] == "data" else f"data/{cls.value}/{given.name}"
        if bag_path in sources:
            raise f.fail("files", "file_twice", name=repr(name), other=repr(sources[bag_path]), path=bag_path)
        sources[bag_path] = str(given)
        paths.append(bag_path)
    return tuple(paths)


def _items(raw_items: list[Any], volume: Volume, sources: dict[str, str], gather: Gather) -> tuple[Item, ...]:
    if not isinstance(raw_items, list) or not raw_items:
        raise ExportError(Text.of("export.no_items"))
    items, next_page = [], 1
    for i, raw in enumerate(raw_items):
        if not isinstance(raw, Mapping):
            gather.texts.append(Text.of("export.item_not_object", index=i))
            continue
        gather(lambda raw=raw, i=i: _refuse_unknown(raw, _names(ITEM_FIELDS), f"items[{i}]: "))
        f = _Fields(_canonical(raw, ITEM_FIELDS), ITEM_FIELDS, f"items[{i}].")
        cls = gather(lambda f=f: _class(f), MaterialClass.APPLICATION)
        pages = gather(lambda f=f: f.integer("pages"), 1)
        start = gather(lambda f=f, n=next_page: f.integer("page_start", n), next_page)
        end = gather(lambda f=f, s=start, p=pages: f.integer("page_end", s + p - 1), start + pages - 1)
        number = gather(lambda f=f, n=i + 1: f.integer("number", n), i + 1)
        paper = PaperRef(volume.catalogue, volume.number, number, start, end, volume.box, volume.shelf)
        subtype = gather(lambda f=f: f.text("subtype"), "")
        title = gather(lambda f=f, s=subtype: f.text("title", s or None), "")
        when = gather(lambda f=f: f.day("date"), date.min)
        files = gather(lambda f=f, c=cls: _files(f, c, sources), ())
        items.append(Item(number, cls, subtype, title, when, pages, files, paper))
        next_page = end + 1
    return tuple(items)


_NO_SHELF = Shelf("?", 1, 1, 1)


def convert(record: Mapping[str, Any]) -> Converted:
    """One export record (canonical or Chinese keys, with ``items``) into an archive and its file sources;
    :class:`ExportError` with every problem found when it cannot be converted."""
    if not isinstance(record, Mapping):
        raise ExportError(Text.of("export.not_object"))
    gather = Gather()
    gather(lambda: _refuse_unknown(record, _names(ARCHIVE_FIELDS) | {"items", "材料"}))
    f = _Fields(_canonical(record, ARCHIVE_FIELDS), ARCHIVE_FIELDS, "")
    kind = gather(lambda: f.choice("type", _TYPES), ArchiveType.HOUSEHOLD)
    supplement_of = gather(lambda: f.optional("supplement_of"))
    package = gather(lambda: f.choice("package_type", {p.value: p for p in PackageType},
                                      "supplement-sip" if supplement_of else f"{kind.value}-sip"), PackageType.HOUSEHOLD_SIP)
    volume = gather(lambda: _volume(f), Volume("?", "?", "?", _NO_SHELF, False, None))
    retention = gather(lambda: _retention(f), Retention.PERMANENT)
    start = gather(lambda: f.day("start"), date.min)
    year = gather(lambda: f.integer("year", start.year), start.year)
    serial = (re.findall(r"\d+", volume.number) or ["1"])[-1].zfill(4)
    category = "ZF" if kind is ArchiveType.HOUSEHOLD else "FY"
    household = gather(lambda: _household(f)) if kind is ArchiveType.HOUSEHOLD and "head_name" in f.record else None
    unit = gather(lambda: _unit(f)) if kind is ArchiveType.UNIT and "project" in f.record else None
    default_title = (f"{household.head.name}户住房保障档案" if household else
                     f"{unit.estate}{unit.building}栋{unit.room}室房源档案" if unit else None)
    sources: dict[str, str] = {}
    items = gather(lambda: _items(record.get("items") or record.get("材料") or [], volume, sources, gather), ())
    supplement = gather(lambda: SupplementOf(supplement_of, volume.original_volume or f.text("original_volume"),
                                             f.optional("supplement_reason")) if supplement_of else None)
    fonds = gather(lambda: f.text("fonds"), "")
    values = [gather(lambda key=key: f.text(key), "") for key in ("identifier", "division", "institution")]
    title = gather(lambda: f.text("title", default_title), "")
    reference = gather(lambda: f.text("reference_code", f"{fonds}-{category}·{year}-{retention.value}-{serial}"), "")
    access = gather(lambda: f.choice("access", _ACCESS, "restricted"), Access.RESTRICTED)
    end = gather(lambda: f.day("end") if f.optional("end") else None)
    relations = gather(lambda: _relations(f), ())
    gather.check()
    archive = Archive(values[0], kind, package, title, values[1], values[2], fonds, reference, year, retention,
                      access, start, end, volume, items, household, unit, relations, supplement)
    return Converted(archive, sources)


def archive_from_json(text: str) -> Converted:
    """Convert a JSON export (one archive object)."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExportError(Text.of("export.not_json", detail=str(exc))) from None
    return convert(record)


def archive_from_csv(text: str) -> Converted:
    """Convert a CSV export (one row per item, archive columns repeated on every row)."""
    reader = csv.DictReader(io.StringIO(text))
    rows = [r for r in reader if any((v or "").strip() for v in r.values() if isinstance(v, str))]
    if not rows:
        raise ExportError(Text.of("export.csv_empty"))
    _refuse_unknown(dict.fromkeys(reader.fieldnames or ()), _names(ARCHIVE_FIELDS) | _names(ITEM_FIELDS, "item_"))
    archives = [_canonical(r, ARCHIVE_FIELDS) for r in rows]
    for n, other in enumerate(archives[1:], start=3):
        differing = sorted(k for k in set(archives[0]) | set(other) if archives[0].get(k) != other.get(k))
        if differing:
            raise ExportError(Text.of("export.csv_differs", line=n, fields=", ".join(differing)))
    item_columns = {f"item_{key}": zh for key, zh in ITEM_FIELDS.items()}
    items = [_canonical(r, item_columns) for r in rows]
    record = dict(archives[0]) | {"items": [{k.removeprefix("item_"): v for k, v in i.items()} for i in items]}
    return convert(record)
