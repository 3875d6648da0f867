"""The search schema: one table of the fields a query may name, the index fields behind them, and facets.

Both engines build their index schema from this table, the query parser reads its names and Chinese aliases
from it, and ``docs`` and ``hsar search --help`` can list it. Three kinds of field:

- ``text``: analysed with jieba (see :mod:`repository.search.analysis`); words match tokens.
- ``keyword``: exact match of a normalised value (identifiers, codes, controlled vocabularies); several values
  per archive; a trailing ``*`` asks for a prefix.
- ``year``: a keyword field of four-digit years that also takes ranges (``year:2019..2021``).

Index fields that no query field names directly: ``all`` (every word of the archive, the default field),
``phrase`` (the precise-mode words in order, for quoted phrases), ``sort_year`` (the archive's year, for
sorting) and ``payload`` (stored JSON used to render a hit without touching the store).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import TypeVar

from ..model import (
    MATERIAL_CLASS_LABELS,
    RETENTION_LABELS,
    STATUS_LABELS,
    ArchiveType,
)

E = TypeVar("E", bound=Enum)
#: the index's format, in its marker file; an index of another version is refused (SEARCH: run ``hsar reindex``).
#: 2: a hit's stored payload keeps the archive's identifier unmasked (an index of version 1 could hold it
#: masked: hits linking to no page, and a researcher's names left unmasked for want of the archive's people)
SCHEMA_VERSION = 2

TEXT, KEYWORD, YEAR = "text", "keyword", "year"

ALL = "all"  # catch-all analysed field: the default field of plain words
PHRASE = "phrase"  # precise-mode words with positions: quoted phrases
SORT_YEAR = "sort_year"
PAYLOAD = "payload"
ARCHIVE_ID = "archive_id"
DIVISIONS = "divisions"  # the archive's division and all its ancestors (roll-up)


@dataclass(frozen=True)
class QueryField:
    """A field a query or a filter may name (``name:value``)."""

    name: str
    kind: str
    index_field: str
    aliases: tuple[str, ...] = ()
    facet: bool = False
    values: Mapping[str, str] = field(default_factory=dict)  # value aliases, e.g. 在保 -> provided
    help: str = ""


def _labels(labels: Mapping[E, str]) -> dict[str, str]:
    """Value aliases: each label and the lower-cased code map to the code."""
    return {**{label: str(code) for code, label in labels.items()}, **{str(c).lower(): str(c) for c in labels}}


_TYPE_VALUES = {"住房保障对象档案": ArchiveType.HOUSEHOLD.value, "对象档案": ArchiveType.HOUSEHOLD.value,
                "户": ArchiveType.HOUSEHOLD.value, "住房保障房源档案": ArchiveType.UNIT.value,
                "房源档案": ArchiveType.UNIT.value, "房源": ArchiveType.UNIT.value, "房": ArchiveType.UNIT.value}

QUERY_FIELDS: tuple[QueryField, ...] = (
    QueryField("name", TEXT, "name", ("姓名", "户主", "成员"), help="name of the head or a member"),
    QueryField("id", KEYWORD, "resident_id", ("rid", "resident_id", "身份证", "身份证号", "公民身份号码"),
               help="resident identity number of the head or a member"),
    QueryField("address", TEXT, "address", ("地址", "住址"), help="household or unit address"),
    QueryField("estate", TEXT, "estate", ("小区", "项目", "project"),
               help="estate or project (a household's address counts)"),
    QueryField("building", KEYWORD, "building", ("栋", "楼栋", "楼号"), help="building of a unit"),
    QueryField("entrance", KEYWORD, "entrance", ("单元",), help="entrance (单元) of a unit"),
    QueryField("room", KEYWORD, "room", ("室", "房号"), help="room number of a unit"),
    QueryField("title", TEXT, "title", ("题名", "标题"), help="archive and item titles"),
    QueryField("text", TEXT, "text", ("全文", "内容"), help="text extracted from born-digital documents"),
    QueryField("class", KEYWORD, "class", ("门类", "材料类别", "类别"), facet=True,
               values=_labels(MATERIAL_CLASS_LABELS), help="material class of an item"),
    QueryField("subtype", KEYWORD, "subtype", ("材料名称", "文件类型"), facet=True, help="item sub-type"),
    QueryField("year", YEAR, "year", ("年度", "年份"), facet=True,
               help="year of the archive or of an item; ranges 2019..2021, 2019.. or ..2021"),
    QueryField("type", KEYWORD, "type", ("档案类型", "类型"), facet=True, values=_TYPE_VALUES,
               help="archive type: household or unit"),
    QueryField("security", KEYWORD, "security", ("保障方式", "保障类型"), facet=True,
               help="security type, e.g. 公共租赁住房"),
    QueryField("status", KEYWORD, "status", ("状态", "保障状态"), facet=True, values=_labels(STATUS_LABELS),
               help="waiting, provided or exited"),
    QueryField("retention", KEYWORD, "retention", ("保管期限", "期限"), facet=True,
               values=_labels(RETENTION_LABELS), help="Y, D30 or D10"),
    QueryField("access", KEYWORD, "access", ("开放状态",), facet=True,
               values={"开放": "open", "控制使用": "restricted"}, help="open or restricted"),
    QueryField("division", KEYWORD, DIVISIONS, ("区划", "行政区划"), facet=True,
               help="division code; includes every division below it"),
    QueryField("archive", KEYWORD, ARCHIVE_ID, ("archive_id", "档案号"), help="archive identifier"),
    QueryField("ref", KEYWORD, "ref", ("档号", "reference"), help="archival reference code (档号)"),
    QueryField("fonds", KEYWORD, "fonds", ("全宗号",), help="fonds number"),
    QueryField("catalogue", KEYWORD, "catalogue", ("目录号",), help="catalogue number"),
    QueryField("volume", KEYWORD, "volume", ("案卷号", "原案卷号"), help="paper volume number (or original volume)"),
    QueryField("box", KEYWORD, "box", ("盒号",), help="box number"),
    QueryField("shelf", KEYWORD, "shelf", ("位置", "存放位置"), help="shelf location, e.g. A库3排2柜1格"),
)

BY_NAME: Mapping[str, QueryField] = MappingProxyType(
    {name: f for f in QUERY_FIELDS for name in (f.name, *f.aliases)})

FACETS: tuple[str, ...] = tuple(f.name for f in QUERY_FIELDS if f.facet)

# Index fields, by kind; both engines build their schema from these.
TEXT_FIELDS: tuple[str, ...] = tuple(dict.fromkeys(f.index_field for f in QUERY_FIELDS if f.kind == TEXT)) + (ALL,)
KEYWORD_FIELDS: tuple[str, ...] = tuple(dict.fromkeys(
    f.index_field for f in QUERY_FIELDS if f.kind in (KEYWORD, YEAR))) + ("division",)
FACET_INDEX_FIELDS: tuple[str, ...] = tuple(BY_NAME[name].index_field for name in FACETS)

SORTS: Mapping[str, tuple[str, bool]] = MappingProxyType({
    "year": (SORT_YEAR, False), "-year": (SORT_YEAR, True), "id": (ARCHIVE_ID, False), "-id": (ARCHIVE_ID, True),
})
"""``sort`` values other than relevance: name -> (index field, descending)."""


def lookup(name: str) -> QueryField | None:
    """The query field called ``name`` (or one of its aliases), case-insensitively for ASCII names."""
    return BY_NAME.get(name) or BY_NAME.get(name.lower())
