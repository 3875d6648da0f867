"""What the demo documents of a housing unit say (房源档案: 来源证明, 权属证明, 房屋基本情况表, 户型图, 租金标准, 交接):
one renderer per item sub-type, as :mod:`.forms` does for households."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date

from .docs import (
    Block,
    Fields,
    FloorPlan,
    Seal,
    Signatures,
    Table,
    Text,
    Title,
    jpeg_bytes,
    scan_page,
)
from .forms import Doc, HouseholdFacts, UnitFacts, cn_date, member_rows, pdf_doc, scanned


def unit_source(u: UnitFacts, when: date, rng: random.Random) -> Doc:
    page: list[Block] = [
        Title("保障性住房房源认定书"),
        Fields((("项目名称", u.project), ("小区", u.estate), ("房源来源", u.source), ("竣工日期", cn_date(u.completed))),
               columns=1),
        Text(f"{u.project}已竣工验收合格，经认定纳入{u.district}{u.housing_type}房源管理，由{u.ownership}统一运营管理。"),
        Seal(u.institution),
    ]
    return pdf_doc([page], "房源认定书", u.institution, "来源证明", when)


def ownership_proof(u: UnitFacts, when: date, rng: random.Random) -> Doc:
    return scanned(rng, (f"No. 320{rng.randint(1000000, 9999999)}", f"{u.area:.2f} m2"), table=True)


def unit_facts(u: UnitFacts, when: date, rng: random.Random) -> Doc:
    page: list[Block] = [
        Title("房屋基本情况表"),
        Fields((("项目", u.project), ("小区", u.estate), ("坐落", u.location), ("户型", u.layout),
                ("建筑面积", f"{u.area:.2f} 平方米"), ("房屋类型", u.housing_type), ("房源来源", u.source),
                ("产权单位", u.ownership))),
        Seal(u.institution),
    ]
    return pdf_doc([page], "房屋基本情况表", u.institution, "房屋基本情况表", when)


def floor_plan(u: UnitFacts, when: date, rng: random.Random) -> Doc:
    page: list[Block] = [Title(f"{u.estate}{u.building}栋{u.room}室户型图"), FloorPlan(u.layout, u.area)]
    return pdf_doc([page], "户型图", u.institution, "户型图", when)


def rent_standard(u: UnitFacts, when: date, rng: random.Random) -> Doc:
    page: list[Block] = [
        Title(f"{u.estate}租金标准"),
        Table(("房号", "建筑面积（平方米）", "租金标准（元/平方米·月）", "月租金（元）"),
              ((f"{u.building}-{u.entrance}-{u.room}", f"{u.area:.2f}", f"{u.rent_per_m2:.2f}", f"{u.monthly_rent:.2f}"),)),
        Text("租金标准按同地段同类住房市场租金的一定比例确定，实行动态调整。"),
        Seal(u.institution),
    ]
    return pdf_doc([page], "租金标准", u.institution, "租金标准", when)


def handover_photo(u: UnitFacts, when: date, rng: random.Random) -> Doc:
    return Doc("jpg", jpeg_bytes(scan_page(rng, digits=(when.isoformat(), f"{u.building}-{u.entrance}-{u.room}"),
                                           table=True, lines=6)), 1)


def handover_form(u: UnitFacts, when: date, rng: random.Random) -> Doc:
    page: list[Block] = [
        Title("保障房退出交接单"),
        Table(("项目", "交接情况"), (("门窗", "完好"), ("水电表读数", f"{rng.randint(1000, 9999)} / {rng.randint(100, 999)}"),
                                    ("钥匙", f"{rng.randint(2, 4)} 把，已收回"), ("租金", "已结清"))),
        Signatures((("交房人", cn_date(when)), ("接收人", cn_date(when)))),
        Seal(u.ownership),
    ]
    return pdf_doc([page], "退出交接单", u.institution, "退出交接", when)


def tenant_info(u: UnitFacts, when: date, rng: random.Random, tenant: HouseholdFacts | None = None) -> Doc:
    rows = member_rows(tenant.family) if tenant else ()
    page: list[Block] = [
        Title("承租人信息登记表"),
        Fields((("房屋坐落", u.location), ("承租人", tenant.family.head.name if tenant else ""),
                ("入住日期", cn_date(when)), ("联系电话", tenant.phone if tenant else "")), columns=1),
        Table(("姓名", "关系", "性别", "身份证号"), rows, (0.2, 0.2, 0.12, 0.48)),
        Seal(u.ownership),
    ]
    return pdf_doc([page], "承租人信息登记表", u.institution, "承租人信息", when)


UNIT_FORMS: dict[str, Callable[[UnitFacts, date, random.Random], Doc]] = {
    "来源证明": unit_source, "权属证明": ownership_proof, "房屋基本情况表": unit_facts, "户型图": floor_plan,
    "租金标准": rent_standard, "入住交接": handover_photo, "退出交接": handover_form,
}
