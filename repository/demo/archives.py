"""Original archives for ``hsar demo-data``: housing units (房源档案) and households (住房保障对象档案).

Plans one city's estates, units and households from a ``random.Random``: who applies when, with which income
band and security type, the review, publicity and waiting-list dates, which household is given which unit
(房户对接, ``occupies``/``occupiedBy`` with the same start on both sides) and which stays waiting (轮候) for
lack of units. Each archive's documents are rendered (:mod:`.forms`) and numbered as paper items of one
volume (目录号, 案卷号, 件号, continuous page ranges, box and shelf). :mod:`.demo` adds the supplements.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ..divisions import DivisionTree, default_tree
from ..model import (
    Access,
    Archive,
    ArchiveType,
    Household,
    Item,
    MaterialClass,
    PackageType,
    PaperRef,
    Relation,
    Retention,
    Shelf,
    Status,
    StatusChange,
    Unit,
    Volume,
)
from .forms import HOUSEHOLD_FORMS, Doc, HouseholdFacts, UnitFacts
from .people import family
from .unit_forms import UNIT_FORMS, tenant_info

CITY = "320100"
FONDS = "J001"
ESTATES = ("幸福里", "安居苑", "康居花园", "和谐家园", "惠民新村", "宁馨苑", "丰泽园", "景明佳园", "兴和苑",
           "翠岭家园", "春江新城", "银龙花园", "瑞福城", "保和苑")
ESTATE_KINDS = ("公租房小区", "保障房小区", "")
ROADS = ("文化路", "和平路", "建设路", "新华路", "光明路", "兴隆大街", "迎宾路", "团结路", "友谊路", "长乐路",
         "民主路", "中兴路", "园林路", "广场路")
SITUATIONS = ("无自有住房，租住私房", "无自有住房，借住亲友住房", "人均住房建筑面积低于15平方米",
              "无自有住房，租住单位宿舍", "住房困难，居住危旧房")
BANDS = {  # income band: (security types, monthly income per person range)
    "最低生活保障": (("廉租住房", "租金补贴"), (600, 1100)),
    "低收入": (("公共租赁住房", "租金补贴", "廉租住房"), (1100, 2000)),
    "中等偏下收入": (("公共租赁住房", "租金补贴"), (2000, 3800)),
    "新就业无房职工": (("公共租赁住房", "保障性租赁住房"), (3000, 6000)),
    "外来务工人员": (("公共租赁住房", "保障性租赁住房"), (2500, 5000)),
}
LAYOUTS = (("一室户", 28, 38), ("一室一厅", 40, 52), ("两室一厅", 55, 68))


@dataclass
class Planned:
    """One SIP to write: its description, payload bytes and bagging date."""

    kind: str  # unit | household | supplement
    archive: Archive
    payload: dict[str, bytes]
    bagging: date
    version: int = 1
    folder: str = ""
    truth: dict[str, tuple[str, ...]] = field(default_factory=dict)  # payload path -> text of each page (OCR truth)


@dataclass
class Counters:
    """Paper numbering: volumes per catalogue and year, boxes per catalogue, archive serials per key."""

    volumes: dict[tuple[str, int], int] = field(default_factory=dict)
    boxes: dict[str, int] = field(default_factory=dict)
    serials: dict[str, int] = field(default_factory=dict)

    def next(self, table: dict, key: object) -> int:
        table[key] = table.get(key, 0) + 1
        return table[key]


def volume_for(c: Counters, catalogue: str, year: int, original: str | None = None) -> Volume:
    number = f"{year}-{c.next(c.volumes, (catalogue, year)):04d}"
    box = c.next(c.boxes, catalogue)
    shelf = Shelf(catalogue, (box - 1) // 40 + 1, (box - 1) // 5 % 8 + 1, (box - 1) % 5 + 1)
    prefix = "H" if catalogue == "1" else "U"
    return Volume(catalogue, number, f"{prefix}-{box:04d}", shelf, original is not None, original)


def days(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(days=rng.randint(low, high))


def render_items(specs: list[tuple[MaterialClass, str, str, date, Doc]], volume: Volume,
                  first: int) -> tuple[tuple[Item, ...], dict[str, bytes]]:
    """Items numbered from ``first`` with continuous page ranges in ``volume``, and their payload."""
    items, payload, _truth = render_items_with_truth(specs, volume, first)
    return items, payload


def render_items_with_truth(specs: list[tuple[MaterialClass, str, str, date, Doc]], volume: Volume, first: int
                            ) -> tuple[tuple[Item, ...], dict[str, bytes], dict[str, tuple[str, ...]]]:
    """:func:`render_items`, and the truth text of the payload files that are text scans."""
    items, payload, truth, page = [], {}, {}, 1
    for number, (cls, subtype, title, when, doc) in enumerate(specs, start=first):
        path = f"data/{cls.value}/{number:04d}-{subtype}.{doc.ext}"
        paper = PaperRef(volume.catalogue, volume.number, number, page, page + doc.pages - 1, volume.box,
                         volume.shelf)
        items.append(Item(number, cls, subtype, title, when, doc.pages, (path,), paper))
        payload[path] = doc.data
        if doc.truth:
            truth[path] = doc.truth
        page += doc.pages
    return tuple(items), payload, truth


def pick_street(rng: random.Random, tree: DivisionTree) -> tuple[str, str, str]:
    """A random street: (street code, district name, street name)."""
    districts = [d for d in tree.children(CITY) if tree.children(d)]
    district = rng.choice(districts)
    street = rng.choice(tree.children(district))
    district_of, street_of = tree.get(district), tree.get(street)
    assert district_of is not None and street_of is not None  # codes taken from the tree
    return street, district_of.name, street_of.name


# ----- units (房源档案) -----

def make_estates(rng: random.Random, tree: DivisionTree, count: int) -> list[dict]:
    names = rng.sample(ESTATES, min(count, len(ESTATES)))
    estates = []
    for k in range(count):
        code, district, street = pick_street(rng, tree)
        name = names[k % len(names)] + ("" if k < len(names) else str(k // len(names) + 1) + "期")
        estates.append({
            "code": code, "district": district, "name": name + rng.choice(ESTATE_KINDS),
            "project": f"{district}{name}保障性住房项目",
            "address": f"南京市{district}{street}{rng.choice(ROADS)}{rng.randint(1, 399)}号",
            "completed": date(rng.randint(2014, 2018), rng.randint(1, 12), rng.randint(1, 28)),
            "source": rng.choice(("新建", "配建", "收购", "改建")),
            "ownership": f"南京市{district}保障房运营管理有限公司",
            "housing_type": rng.choice(("公共租赁住房", "公共租赁住房", "廉租住房", "保障性租赁住房")),
            "rent": round(rng.uniform(8, 16), 1),
        })
    return estates


def make_unit(rng: random.Random, estates: list[dict], c: Counters, k: int) -> tuple[UnitFacts, str]:
    e = estates[k % len(estates)]
    layout, low, high = rng.choice(LAYOUTS)
    district_code = e["code"][:6]
    identifier = f"un-{district_code}-{c.next(c.serials, 'un-' + district_code):04d}"
    floor = rng.randint(1, 18)
    facts = UnitFacts(identifier, f"南京市{e['district']}住房保障中心", e["district"], e["project"], e["name"],
                      e["address"], str(rng.randint(1, 24)), str(rng.randint(1, 3)), f"{floor}{rng.randint(1, 6):02d}",
                      layout, round(rng.uniform(low, high), 2), e["source"], e["ownership"], e["housing_type"],
                      e["completed"], e["rent"] if e["housing_type"] != "廉租住房" else round(e["rent"] / 5, 1))
    return facts, e["code"]


def unit_model(u: UnitFacts) -> Unit:
    return Unit(u.project, u.estate, u.address, u.building, u.entrance, u.room, u.layout, u.area, u.source,
                u.ownership, u.housing_type)


def archive_for(identifier: str, kind: ArchiveType, title: str, division: str, institution: str, volume: Volume,
             start: date, items: tuple[Item, ...], **rest: Any) -> Archive:  # noqa: ANN401 - more Archive fields
    category = "ZF" if kind is ArchiveType.HOUSEHOLD else "FY"
    serial = volume.number.rsplit("-", 1)[-1]
    package = PackageType.HOUSEHOLD_SIP if kind is ArchiveType.HOUSEHOLD else PackageType.UNIT_SIP
    access = Access.RESTRICTED if kind is ArchiveType.HOUSEHOLD else Access.OPEN
    return Archive(identifier, kind, package, title, division, institution, FONDS,
                   f"{FONDS}-{category}·{start.year}-Y-{serial}", start.year, Retention.PERMANENT, access, start,
                   None, volume, items, **rest)


def unit_specs(u: UnitFacts, tenant: tuple[HouseholdFacts, date] | None, rng: random.Random) -> list:
    c0 = u.completed
    plan = [(MaterialClass.BASIC, "来源证明", "保障性住房房源认定书", c0 + days(rng, 20, 60)),
            (MaterialClass.BASIC, "权属证明", "不动产权证书复印件", c0 + days(rng, 61, 120)),
            (MaterialClass.BASIC, "房屋基本情况表", "房屋基本情况表", c0 + days(rng, 121, 130)),
            (MaterialClass.BASIC, "户型图", "户型图", c0 + days(rng, 121, 130)),
            (MaterialClass.USE, "租金标准", "租金标准", c0 + days(rng, 131, 150))]
    specs = [(cls, sub, title, when, UNIT_FORMS[sub](u, when, rng)) for cls, sub, title, when in plan]
    if tenant is not None:
        household, start = tenant
        specs.append((MaterialClass.USE, "承租人信息", "承租人信息登记表", start, tenant_info(u, start, rng, household)))
        specs.append((MaterialClass.USE, "入住交接", "入住交接照片", start, UNIT_FORMS["入住交接"](u, start, rng)))
    return specs


def plan_unit(u: UnitFacts, division: str, c: Counters, tenant: tuple[HouseholdFacts, date] | None,
               seed: int) -> Planned:
    rng = random.Random(f"{seed}:{u.identifier}:1")
    specs = unit_specs(u, tenant, rng)
    start = min(s[3] for s in specs)
    volume = volume_for(c, "2", start.year)
    items, payload = render_items(specs, volume, 1)
    relations = (Relation("occupiedBy", tenant[0].identifier, tenant[1]),) if tenant else ()
    archive = archive_for(u.identifier, ArchiveType.UNIT, f"{u.estate}{u.building}栋{u.room}室房源档案", division,
                       u.institution, volume, start, items, unit=unit_model(u), relations=relations)
    return Planned("unit", archive, payload, max(i.date for i in items) + days(rng, 3, 20))


# ----- households (住房保障对象档案) -----

@dataclass
class HouseholdPlan:
    facts: HouseholdFacts
    division: str
    reviewed: date
    published: date
    queued: date
    provided: date | None  # date of the provision notice; None while waiting (轮候)
    start: date | None = None  # lease or subsidy agreement
    planned: Planned | None = None


def new_household(rng: random.Random, tree: DivisionTree) -> HouseholdPlan:
    code, district, street = pick_street(rng, tree)
    applied = date(rng.randint(2019, 2022), rng.randint(1, 12), rng.randint(1, 28))
    band = rng.choices(list(BANDS), weights=(2, 4, 3, 2, 2))[0]
    types, (low, high) = BANDS[band]
    security = rng.choice(types)
    facts = HouseholdFacts(
        "", f"南京市{district}住房保障中心", district, street, family(rng, applied.year, migrant=band == "外来务工人员"),
        f"南京市{district}{street}{rng.choice(ROADS)}{rng.randint(1, 299)}号{rng.randint(1, 6)}{rng.randint(1, 2):02d}室",
        f"1{rng.choice('3578')}{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}", band,
        rng.randrange(low, high, 10), rng.choice(SITUATIONS), security, applied, "",
        subsidy=rng.randrange(300, 901, 50) if security == "租金补贴" else 0)
    reviewed = applied + days(rng, 20, 40)
    published = reviewed + days(rng, 2, 6)
    queued = published + days(rng, 8, 12)
    provided = queued + days(rng, 30, 240) if rng.random() < 0.85 else None
    return HouseholdPlan(facts, code, reviewed, published, queued, provided)


def name_households(households: list[HouseholdPlan], c: Counters) -> None:
    """Identifiers (hh-<district>-<year>-<serial>) and queue numbers in order of application."""
    for h in households:
        key = f"hh-{h.division[:6]}-{h.facts.applied.year}"
        serial = c.next(c.serials, key)
        queue = f"LH{h.facts.applied.year}{h.division[4:6]}{serial:04d}"
        h.facts = dataclasses.replace(h.facts, identifier=f"{key}-{serial:04d}", queue_number=queue)


def allocate(rng: random.Random, households: list[HouseholdPlan], units: list[UnitFacts]) -> dict[str, HouseholdPlan]:
    """Give each provided household a unit (or its subsidy); with no unit left it stays waiting (轮候)."""
    free, tenants = list(units), {}
    for h in sorted(households, key=lambda h: (h.provided or date.max, h.facts.identifier)):
        if h.provided is None:
            continue
        if h.facts.security_type != "租金补贴":
            if not free:
                h.provided = None
                continue
            match = [u for u in free if u.housing_type == h.facts.security_type] or free
            unit = match[0]
            free.remove(unit)
            tenants[unit.identifier] = h
            h.facts = dataclasses.replace(h.facts, unit=unit)
        h.start = h.provided + days(rng, 5, 15)
    return tenants


def household_specs(h: HouseholdPlan, rng: random.Random) -> list:
    a, r, p = MaterialClass.APPLICATION, MaterialClass.REVIEW, MaterialClass.PROVISION
    f, applied = h.facts, h.facts.applied
    plan = [(a, "申请书", f"{f.security_type}申请书", applied),
            (a, "身份证明", "家庭成员居民身份证复印件", applied),
            (a, "户籍证明", "户籍证明（户口簿复印件）", applied - days(rng, 3, 10)),
            (a, "收入证明", "家庭收入证明", applied - days(rng, 1, 10)),
            (a, "住房证明", "无房证明", applied - days(rng, 1, 10)),
            (a, "诚信申报", "诚信申报书", applied),
            (r, "审核表", "住房保障资格审核表", h.reviewed),
            (r, "公示记录", "审核结果公示记录", h.published),
            (p, "轮候记录", "轮候登记表", h.queued)]
    if h.provided is not None and h.start is not None:
        plan.append((p, "实施保障通知书", "实施保障通知书", h.provided))
        if f.unit is not None:
            plan.append((p, "租赁合同", f"{f.unit.housing_type}租赁合同", h.start))
        else:
            plan.append((p, "货币补贴协议", "住房租赁货币补贴协议", h.start))
    return [(cls, sub, title, when, HOUSEHOLD_FORMS[sub](f, when, rng)) for cls, sub, title, when in plan]


def household_model(h: HouseholdPlan, exited: date | None = None) -> Household:
    f = h.facts
    statuses = [StatusChange(Status.WAITING, f.applied)]
    if h.start is not None:
        statuses.append(StatusChange(Status.PROVIDED, h.start))
    if exited is not None:
        statuses.append(StatusChange(Status.EXITED, exited))
    return Household(f.family.head.person(), tuple(c.member(rel) for c, rel in f.family.members), f.address,
                     f.income_band, f.housing_situation, f.security_type, tuple(statuses))


def plan_household(h: HouseholdPlan, c: Counters, seed: int) -> Planned:
    f = h.facts
    rng = random.Random(f"{seed}:{f.identifier}:1")
    volume = volume_for(c, "1", f.applied.year)
    items, payload, truth = render_items_with_truth(household_specs(h, rng), volume, 1)
    relations = (Relation("occupies", f.unit.identifier, h.start),) if f.unit and h.start else ()
    archive = archive_for(f.identifier, ArchiveType.HOUSEHOLD, f"{f.family.head.name}户住房保障档案", h.division,
                       f.institution, volume, f.applied, items, household=household_model(h), relations=relations)
    return Planned("household", archive, payload, max(i.date for i in items) + days(rng, 3, 20), truth=truth)


def sample_household(seed: int) -> Planned:
    """One household archive (not yet provided for), planned and rendered: the base of the defect SIPs."""
    rng, c = random.Random(f"{seed}:sample"), Counters()
    h = new_household(rng, default_tree())
    h.provided = None
    name_households([h], c)
    return plan_household(h, c, seed)


def manifest_entry(path: str, archive: Archive | None, *, kind: str, version: int = 1,
                   expected: str | None = None, truth: dict[str, tuple[str, ...]] | None = None) -> dict[str, object]:
    """One line of ``demo_manifest.json``; ``ocr_truth`` maps each text scan's payload path to its pages' text."""
    entry: dict[str, object] = {"path": path, "kind": kind, "archive": archive.identifier if archive else None,
                                "package_type": archive.package_type.value if archive else None,
                                "version": version}
    if archive is not None and archive.supplement_of is not None:
        entry["supplement_of"] = archive.supplement_of.archive
        entry["original_volume"] = archive.supplement_of.original_volume
    if expected is not None:
        entry["expected"] = expected
    if truth:
        entry["ocr_truth"] = {p: list(pages) for p, pages in sorted(truth.items())}
    return entry
