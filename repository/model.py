"""Domain model of housing-security archives (住房保障档案), after 《住房保障档案管理办法》(2012).

Glossary (Chinese terms glossed once, here):

- household archive (住房保障对象档案, 一户一档): one archive per household waiting for or receiving housing
  security; material classes application (申请材料), review (审核材料), provision (实施保障材料) and dynamic
  management (动态管理材料).
- housing-unit archive (住房保障房源档案, 一套一档): one archive per allocated unit; material classes basic facts
  (基本情况材料) and use and management (使用管理情况材料).
- item (件): one document, the unit of description; volume (案卷): the paper file the items are bound in.
- paper reference: fonds (全宗号), catalogue (目录号), volume (案卷号), item number (件号), pages (页号), box (盒号),
  shelf location (库房/排/柜/格), archival reference code (档号, DA/T 22).
- retention (保管期限): permanent (永久, Y), long (长期, D30), short (短期, D10).
- division (行政区划): GB/T 2260 code, six digits (province/city/district) or nine (street/town, 街道/乡镇).
- supplement (补充材料): new material for an archive already held; becomes the archive's next version.
- separately filed volume (另行立卷): material filed apart must record the original volume number (原案卷号).
- household-unit link (房户对接): which household lived in which unit, when.

These dataclasses are the one in-memory form of ``metadata/descriptive.xml``; ``repository.descriptive``
parses and writes them. They are frozen: a changed archive is a new value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from .messages import label


class ArchiveType(StrEnum):
    HOUSEHOLD = "household"  # 住房保障对象档案
    UNIT = "unit"  # 住房保障房源档案


class PackageType(StrEnum):
    HOUSEHOLD_SIP = "household-sip"
    UNIT_SIP = "unit-sip"
    SUPPLEMENT_SIP = "supplement-sip"


class MaterialClass(StrEnum):
    APPLICATION = "application"  # 申请材料
    REVIEW = "review"  # 审核材料
    PROVISION = "provision"  # 实施保障材料
    DYNAMIC = "dynamic"  # 动态管理材料
    BASIC = "basic"  # 基本情况材料
    USE = "use"  # 使用管理情况材料


MATERIAL_CLASS_LABELS: dict[MaterialClass, str] = {c: label("material_class", c.value) for c in MaterialClass}

CLASSES_BY_TYPE: dict[ArchiveType, tuple[MaterialClass, ...]] = {
    ArchiveType.HOUSEHOLD: (MaterialClass.APPLICATION, MaterialClass.REVIEW, MaterialClass.PROVISION,
                            MaterialClass.DYNAMIC),
    ArchiveType.UNIT: (MaterialClass.BASIC, MaterialClass.USE),
}

# Controlled item sub-types per material class (the XSD enumerates the same words; a test keeps them equal).
SUBTYPES: dict[MaterialClass, tuple[str, ...]] = {
    MaterialClass.APPLICATION: ("申请书", "家庭情况", "身份证明", "户籍证明", "住房证明", "收入证明", "财产证明", "诚信申报"),
    MaterialClass.REVIEW: ("审核表", "审核记录", "公示记录"),
    MaterialClass.PROVISION: ("轮候记录", "实施保障通知书", "租赁合同", "买卖合同", "货币补贴协议", "租金补贴发放通知书"),
    MaterialClass.DYNAMIC: ("年度复核表", "违规查处", "变更", "退出"),
    MaterialClass.BASIC: ("来源证明", "权属证明", "房屋基本情况表", "户型图"),
    MaterialClass.USE: ("承租人信息", "租金标准", "租金收缴记录", "购房人信息", "入住交接", "退出交接", "维修记录"),
}


class Retention(StrEnum):
    PERMANENT = "Y"  # 永久
    LONG = "D30"  # 长期
    SHORT = "D10"  # 短期


RETENTION_LABELS: dict[Retention, str] = {r: label("retention", r.value) for r in Retention}


class Access(StrEnum):
    OPEN = "open"  # 开放
    RESTRICTED = "restricted"  # 控制使用


class Status(StrEnum):
    WAITING = "waiting"  # 轮候
    PROVIDED = "provided"  # 在保
    EXITED = "exited"  # 退出


STATUS_LABELS: dict[Status, str] = {s: label("status", s.value) for s in Status}

SECURITY_TYPES: tuple[str, ...] = (
    "公共租赁住房", "廉租住房", "租金补贴", "经济适用住房", "限价商品住房", "共有产权住房", "保障性租赁住房", "实物配租",
)
INCOME_BANDS: tuple[str, ...] = ("最低生活保障", "低收入", "中等偏下收入", "新就业无房职工", "外来务工人员")
MEMBER_RELATIONS: tuple[str, ...] = ("配偶", "子女", "父母", "祖父母", "孙子女", "兄弟姐妹", "其他")


@dataclass(frozen=True)
class Shelf:
    """Shelf location (存放位置): store room (库房), row (排), cabinet (柜), cell (格)."""

    store: str
    row: int
    cabinet: int
    cell: int

    def __str__(self) -> str:
        return f"{self.store}库{self.row}排{self.cabinet}柜{self.cell}格"


_SHELF_WORDS = re.compile(r"^\s*(\w+?)\s*库\s*(\d+)\s*排\s*(\d+)\s*柜\s*(\d+)\s*格\s*$")
_SHELF_DASHES = re.compile(r"^\s*(\w+)\s*[-/]\s*(\d+)\s*[-/]\s*(\d+)\s*[-/]\s*(\d+)\s*$")


def parse_shelf(text: str) -> Shelf | None:
    """A shelf location written as ``1库2排3柜4格`` (as :class:`Shelf` prints it) or ``1-2-3-4``; None when
    it is neither."""
    found = _SHELF_WORDS.match(text) or _SHELF_DASHES.match(text)
    if found is None:
        return None
    store, row, cabinet, cell = found.groups()
    return Shelf(store, int(row), int(cabinet), int(cell))


@dataclass(frozen=True)
class Volume:
    """The paper volume (案卷) a package's material is bound in."""

    catalogue: str  # 目录号
    number: str  # 案卷号
    box: str  # 盒号
    shelf: Shelf
    separately_filed: bool = False  # 另行立卷
    original_volume: str | None = None  # 原案卷号


@dataclass(frozen=True)
class PaperRef:
    """Paper reference of one item (件)."""

    catalogue: str  # 目录号
    volume: str  # 案卷号
    item: int  # 件号
    page_start: int  # 起页号
    page_end: int  # 止页号
    box: str  # 盒号
    shelf: Shelf


@dataclass(frozen=True)
class Item:
    number: int  # 件号 within the archive
    material_class: MaterialClass
    subtype: str
    title: str
    date: date
    pages: int
    files: tuple[str, ...]  # bag-relative payload paths, 'data/...'
    paper: PaperRef


@dataclass(frozen=True)
class Person:
    name: str
    resident_id: str  # 18-character GB 11643 number


@dataclass(frozen=True)
class Member(Person):
    relation: str = "其他"


@dataclass(frozen=True)
class StatusChange:
    status: Status
    since: date


@dataclass(frozen=True)
class Household:
    head: Person
    members: tuple[Member, ...]
    address: str
    income_band: str
    housing_situation: str
    security_type: str
    statuses: tuple[StatusChange, ...]

    @property
    def status(self) -> StatusChange:
        """The current status: the latest change."""
        return max(self.statuses, key=lambda s: s.since)


@dataclass(frozen=True)
class Unit:
    project: str  # 项目
    estate: str  # 小区
    address: str
    building: str  # 栋
    entrance: str  # 单元
    room: str  # 室
    layout: str  # 户型
    area: float  # 建筑面积 m²
    source: str  # 房源来源
    ownership: str  # 产权
    housing_type: str


@dataclass(frozen=True)
class Relation:
    """``occupies`` (household -> unit) or ``occupiedBy`` (unit -> household), 房户对接."""

    type: str
    target: str
    start: date
    end: date | None = None


@dataclass(frozen=True)
class SupplementOf:
    archive: str
    original_volume: str  # 原案卷号
    reason: str | None = None


@dataclass(frozen=True)
class Archive:
    """One archive's description as carried by ``metadata/descriptive.xml``."""

    identifier: str
    type: ArchiveType
    package_type: PackageType
    title: str
    division: str
    institution: str
    fonds: str  # 全宗号
    reference_code: str  # 档号
    year: int
    retention: Retention
    access: Access
    start: date
    end: date | None
    volume: Volume
    items: tuple[Item, ...]
    household: Household | None = None
    unit: Unit | None = None
    relations: tuple[Relation, ...] = ()
    supplement_of: SupplementOf | None = None

    @property
    def is_supplement(self) -> bool:
        return self.package_type is PackageType.SUPPLEMENT_SIP

    def files(self) -> list[str]:
        return [f for item in self.items for f in item.files]
