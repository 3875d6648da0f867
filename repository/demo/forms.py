"""What the demo documents say: one renderer per item sub-type (申请书, 审核表, 租赁合同, 年度复核表 ...).

Each renderer takes the facts of a household (:class:`HouseholdFacts`) or a unit (:class:`UnitFacts`), the
document's date and a ``random.Random`` and returns a :class:`Doc`: file extension, bytes and page count
(the page count is what the item's paper reference records). Born-digital forms are PDFs; proofs handed in
on paper (户籍证明, 收入证明, 住房证明, 权属证明) are TIFF scans; ID-card copies and hand-over photos are JPEG.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from .docs import (
    Block,
    Fields,
    PdfMeta,
    Seal,
    Signatures,
    Table,
    Text,
    Title,
    id_card_copy,
    jpeg_bytes,
    render_pdf,
    scan_page,
    tiff_bytes,
)
from .people import Family
from .textscan import TEXT_SCAN_DPI, text_scan


@dataclass(frozen=True)
class UnitFacts:
    identifier: str
    institution: str
    district: str  # district name, e.g. 玄武区
    project: str
    estate: str
    address: str  # estate address
    building: str
    entrance: str
    room: str
    layout: str
    area: float
    source: str
    ownership: str
    housing_type: str
    completed: date
    rent_per_m2: float

    @property
    def location(self) -> str:
        return f"{self.address}{self.estate}{self.building}栋{self.entrance}单元{self.room}室"

    @property
    def monthly_rent(self) -> float:
        return round(self.area * self.rent_per_m2, 2)


@dataclass(frozen=True)
class HouseholdFacts:
    identifier: str
    institution: str
    district: str
    street: str
    family: Family
    address: str
    phone: str
    income_band: str
    income: int  # monthly income per person, yuan
    housing_situation: str
    security_type: str
    applied: date
    queue_number: str
    unit: UnitFacts | None = None
    subsidy: int = 0  # monthly rent subsidy, yuan


@dataclass(frozen=True)
class Doc:
    ext: str
    data: bytes
    pages: int
    truth: tuple[str, ...] = ()  # the text of each page of a text scan (the OCR accuracy test's truth)


def cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def mask_name(name: str) -> str:
    return name[0] + "*" + name[-1] if len(name) > 2 else name[0] + "*"


def pdf_doc(pages: list[list[Block]], title: str, author: str, subtype: str, when: date) -> Doc:
    return Doc("pdf", render_pdf(pages, PdfMeta(title, author, subtype, when)), len(pages))


def member_rows(f: Family) -> tuple[tuple[str, ...], ...]:
    rows = [(f.head.name, "本人", f.head.sex_label, f.head.resident_id)]
    rows += [(c.name, rel, c.sex_label, c.resident_id) for c, rel in f.members]
    return tuple(rows)


# ----- household: application (申请材料) -----

def application_form(h: HouseholdFacts, when: date, rng: random.Random) -> Doc:
    head = h.family.head
    p1: list[Block] = [
        Title(f"南京市{h.security_type}申请书", f"受理编号：{h.street[:2]}{when:%Y%m%d}{rng.randint(1, 99):02d}"),
        Fields((("申请人", head.name), ("性别", head.sex_label), ("出生日期", cn_date(head.birth)),
                ("身份证号", head.resident_id), ("联系电话", h.phone), ("家庭人口", f"{len(h.family.everyone())} 人"),
                ("收入类别", h.income_band), ("人均月收入", f"{h.income} 元"))),
        Fields((("现住址", h.address), ("所属街道", f"{h.district}{h.street}"), ("住房状况", h.housing_situation),
                ("申请保障方式", h.security_type)), columns=1),
        Text(f"本人因家庭住房困难，现申请{h.security_type}保障。家庭成员、收入、住房及财产情况详见附件，"
             "所附材料均为原件或与原件核对无误的复印件。"),
        Signatures((("申请人（签字）", cn_date(when)),)),
    ]
    p2: list[Block] = [
        Title("家庭成员情况"),
        Table(("姓名", "与申请人关系", "性别", "居民身份证号码"), member_rows(h.family), (0.2, 0.2, 0.12, 0.48)),
        Title("街道（乡镇）受理意见"),
        Text(f"经审查，申请材料齐全，符合受理条件，同意受理，报{h.district}住房保障部门审核。"),
        Signatures((("经办人", cn_date(when)),)),
        Seal(f"南京市{h.district}{h.street}办事处"),
    ]
    return pdf_doc([p1, p2], f"{head.name}{h.security_type}申请书", h.institution, "申请书", when)


def id_copies(h: HouseholdFacts, when: date, rng: random.Random) -> Doc:
    ids = tuple(c.resident_id for c in h.family.everyone() if when.year - c.birth.year >= 16)
    return Doc("jpg", jpeg_bytes(id_card_copy(rng, ids or (h.family.head.resident_id,))), 1)


def scanned(rng: random.Random, digits: tuple[str, ...], pages: int = 1, table: bool = False) -> Doc:
    images = [scan_page(rng, digits=digits if n == 0 else (), table=table and n == 0, lines=rng.randint(8, 16))
              for n in range(pages)]
    return Doc("tif", tiff_bytes(images), pages)


def household_register(h: HouseholdFacts, when: date, rng: random.Random) -> Doc:
    return scanned(rng, (h.family.head.resident_id, when.isoformat()), table=True)


def income_proof(h: HouseholdFacts, when: date, rng: random.Random) -> Doc:
    return scanned(rng, (f"{h.income}.00 CNY/month", when.isoformat()), pages=rng.choice((1, 1, 2)), table=True)


def housing_proof(h: HouseholdFacts, when: date, rng: random.Random) -> Doc:
    """无房证明: a clean 300 dpi scan of real text (a CJK font), its words kept as the OCR truth."""
    number = rng.randint(10000, 99999)
    scan_page(rng, digits=(), lines=rng.randint(8, 16), dry=True)  # the random stream of later documents as before
    head = h.family.head
    lines = (f"编号：{when:%Y}-{number}",
             f"兹证明申请人{head.name}（身份证号{head.resident_id}）",
             "及其共同申请家庭成员在本市范围内无自有住房。",
             "经房屋权属档案查询，未发现上述人员名下登记的",
             "住宅类房产信息。本证明仅供申请住房保障使用。",
             "特此证明。",
             f"南京市{h.district}不动产登记中心",
             cn_date(when))
    return Doc("tif", tiff_bytes([text_scan("无房证明", lines)], dpi=TEXT_SCAN_DPI), 1,
               truth=("\n".join(("无房证明", *lines)),))


def honesty_declaration(h: HouseholdFacts, when: date, rng: random.Random) -> Doc:
    page: list[Block] = [
        Title("住房保障申请家庭诚信申报书"),
        Text("本人及共同申请的家庭成员郑重承诺：所申报的家庭成员、户籍、收入、住房和财产情况真实、完整；"
             "同意住房保障部门及相关单位查询、核对家庭收入、住房和财产状况；如有隐瞒或虚报，"
             "自愿退出保障并承担相应法律责任，五年内不再申请住房保障。"),
        Table(("姓名", "关系", "身份证号"), tuple((r[0], r[1], r[3]) for r in member_rows(h.family)), (0.25, 0.2, 0.55)),
        Signatures((("申请人（签字）", cn_date(when)), ("共同申请人（签字）", cn_date(when)))),
    ]
    return pdf_doc([page], "诚信申报书", h.institution, "诚信申报", when)


# ----- household: review (审核材料) -----

def review_form(h: HouseholdFacts, when: date, rng: random.Random) -> Doc:
    head = h.family.head
    p1: list[Block] = [
        Title(f"南京市{h.security_type}资格审核表"),
        Fields((("申请人", head.name), ("身份证号", head.resident_id), ("家庭人口", f"{len(h.family.everyone())} 人"),
                ("人均月收入", f"{h.income} 元"), ("收入类别", h.income_band), ("申请日期", cn_date(h.applied)))),
        Fields((("住房状况", h.housing_situation),), columns=1),
        Title("民政部门收入核对意见"),
        Text(f"经家庭经济状况核对，申请家庭人均月收入 {h.income} 元，符合{h.income_band}家庭认定标准。"),
        Signatures((("核对人", cn_date(when)),)),
    ]
    p2: list[Block] = [
        Title("不动产登记信息查询意见"),
        Text("经查询，申请人及共同申请家庭成员在本市无不动产登记记录。"),
        Title(f"{h.district}住房保障部门审核意见"),
        Text(f"经审核，该户符合{h.security_type}保障条件，同意予以公示。"),
        Signatures((("审核人", cn_date(when)), ("负责人", cn_date(when)))),
        Seal(h.institution),
    ]
    return pdf_doc([p1, p2], f"{head.name}资格审核表", h.institution, "审核表", when)


def publicity_record(h: HouseholdFacts, when: date, rng: random.Random) -> Doc:
    head = h.family.head
    page: list[Block] = [
        Title("住房保障申请审核结果公示"),
        Text(f"根据住房保障有关规定，现将以下申请家庭的审核结果予以公示，公示期自{cn_date(when)}起七日。"
             "对公示内容有异议的，可在公示期内向区住房保障部门实名反映。"),
        Table(("申请人", "身份证号", "家庭人口", "收入类别", "保障方式"),
              ((mask_name(head.name), head.resident_id[:6] + "********" + head.resident_id[14:],
                str(len(h.family.everyone())), h.income_band, h.security_type),), (0.15, 0.35, 0.12, 0.18, 0.2)),
        Text("公示期满，无异议。"),
        Signatures((("公示单位", cn_date(when)),)),
        Seal(h.institution),
    ]
    return pdf_doc([page], "审核结果公示记录", h.institution, "公示记录", when)


# ----- household: provision (实施保障材料) -----

def waiting_record(h: HouseholdFacts, when: date, rng: random.Random) -> Doc:
    page: list[Block] = [
        Title("住房保障轮候登记表"),
        Fields((("轮候编号", h.queue_number), ("登记日期", cn_date(when)), ("申请人", h.family.head.name),
                ("保障方式", h.security_type))),
        Text("该户已纳入住房保障轮候名册，按轮候顺序实施保障。轮候期间家庭情况发生变化的，应及时申报。"),
        Seal(h.institution),
    ]
    return pdf_doc([page], "轮候登记表", h.institution, "轮候记录", when)


def provision_notice(h: HouseholdFacts, when: date, rng: random.Random) -> Doc:
    if h.unit is not None:
        what = (f"现配租房源：{h.unit.location}，户型{h.unit.layout}，建筑面积{h.unit.area:.2f}平方米，"
                f"月租金{h.unit.monthly_rent:.2f}元。请于接到本通知之日起十五日内签订租赁合同。")
    else:
        what = f"自{when.year}年{when.month}月起按月发放租金补贴{h.subsidy}元，由区住房保障部门直接拨付至申请人账户。"
    page: list[Block] = [
        Title("住房保障实施通知书", f"编号：{h.identifier.upper()}"),
        Text(f"{h.family.head.name}（身份证号{h.family.head.resident_id}）：\n经审核公示，你户符合{h.security_type}"
             f"保障条件，轮候编号{h.queue_number}。{what}"),
        Signatures((("发文单位", cn_date(when)),)),
        Seal(h.institution),
    ]
    return pdf_doc([page], "实施保障通知书", h.institution, "实施保障通知书", when)


def lease_contract(h: HouseholdFacts, when: date, rng: random.Random) -> Doc:
    u = h.unit
    assert u is not None, "a lease needs a unit"
    end = date(when.year + 3, when.month, min(when.day, 28))
    p1: list[Block] = [
        Title(f"南京市{u.housing_type}租赁合同", f"合同编号：ZL{when:%Y%m%d}{rng.randint(100, 999)}"),
        Fields((("出租人（甲方）", u.ownership), ("承租人（乙方）", h.family.head.name),
                ("乙方身份证号", h.family.head.resident_id), ("联系电话", h.phone)), columns=1),
        Fields((("房屋坐落", u.location), ("户型", u.layout), ("建筑面积", f"{u.area:.2f} 平方米"),
                ("月租金", f"{u.monthly_rent:.2f} 元"), ("租赁期限", f"{cn_date(when)}至{cn_date(end)}"))),
        Text("第一条　甲方将上述房屋出租给乙方作为家庭自住使用，乙方共同居住人为本合同附件所列家庭成员。"),
        Text(f"第二条　租金按月计收，租金标准为每月每平方米{u.rent_per_m2:.2f}元，乙方应于每月十日前缴纳当月租金。"),
    ]
    p2: list[Block] = [
        Text("第三条　乙方不得将承租房屋转租、转借、擅自调换或改变用途，不得闲置或用于经营；"
             "乙方违反约定的，甲方有权解除合同、收回房屋，并按规定记入不良信用记录。"),
        Text("第四条　乙方应合理使用房屋及附属设施，因使用不当造成损坏的，乙方负责修复或赔偿；"
             "房屋及设施自然损坏的，由甲方负责维修。"),
        Text("第五条　租赁期间乙方家庭收入、住房等情况发生变化，应当在三十日内如实申报；"
             "经年度复核不再符合保障条件的，乙方应在规定期限内腾退房屋。"),
        Text("第六条　租赁期满需要续租的，乙方应在期满前三个月提出申请，经审核符合条件的重新签订合同。"),
    ]
    p3: list[Block] = [
        Title("附件：共同居住人"),
        Table(("姓名", "关系", "身份证号"), tuple((r[0], r[1], r[3]) for r in member_rows(h.family)), (0.25, 0.2, 0.55)),
        Signatures((("甲方（盖章）", cn_date(when)), ("乙方（签字）", cn_date(when)))),
        Seal(u.ownership),
    ]
    return pdf_doc([p1, p2, p3], "租赁合同", h.institution, "租赁合同", when)


def subsidy_agreement(h: HouseholdFacts, when: date, rng: random.Random) -> Doc:
    p1: list[Block] = [
        Title("住房租赁货币补贴协议"),
        Fields((("甲方", h.institution), ("乙方", h.family.head.name), ("乙方身份证号", h.family.head.resident_id),
                ("月补贴金额", f"{h.subsidy} 元")), columns=1),
        Text("第一条　甲方自本协议签订次月起按月向乙方发放住房租赁补贴，用于乙方家庭在本市租赁住房。"),
        Text("第二条　乙方应按年度提供租赁合同及租金支付凭证，并接受年度复核。"),
    ]
    p2: list[Block] = [
        Text("第三条　乙方家庭收入、住房状况发生变化不再符合条件的，甲方停止发放补贴；骗取补贴的，"
             "甲方追回已发放补贴，并依法处理。"),
        Signatures((("甲方（盖章）", cn_date(when)), ("乙方（签字）", cn_date(when)))),
        Seal(h.institution),
    ]
    return pdf_doc([p1, p2], "货币补贴协议", h.institution, "货币补贴协议", when)


# ----- household: dynamic management (动态管理材料) and supplements -----

def annual_review(h: HouseholdFacts, when: date, rng: random.Random) -> Doc:
    page: list[Block] = [
        Title(f"住房保障家庭{when.year}年度复核表"),
        Fields((("户主", h.family.head.name), ("身份证号", h.family.head.resident_id), ("保障方式", h.security_type),
                ("家庭人口", f"{len(h.family.everyone())} 人"), ("人均月收入", f"{h.income} 元"),
                ("复核日期", cn_date(when)))),
        Text("经入户调查及收入、住房、财产信息核对，该户家庭人口、收入、住房状况无重大变化，继续符合保障条件。"),
        Signatures((("复核人", cn_date(when)), ("被复核人（签字）", cn_date(when)))),
        Seal(h.institution),
    ]
    return pdf_doc([page], f"{when.year}年度复核表", h.institution, "年度复核表", when)


def subsidy_notice(h: HouseholdFacts, when: date, rng: random.Random) -> Doc:
    rows = tuple((f"{when.year}年{m}月", f"{h.subsidy}.00", "已发放") for m in range(1, 13, 3))
    page: list[Block] = [
        Title(f"{when.year}年度住房租赁补贴发放通知书"),
        Text(f"{h.family.head.name}：\n经{when.year}年度复核，你户继续符合住房租赁补贴条件，"
             f"{when.year}年度每月补贴标准为{h.subsidy}元，按季度发放至你户指定账户。"),
        Table(("发放期间", "金额（元）", "状态"), rows),
        Seal(h.institution),
    ]
    return pdf_doc([page], "租金补贴发放通知书", h.institution, "租金补贴发放通知书", when)


def exit_decision(h: HouseholdFacts, when: date, rng: random.Random) -> Doc:
    where = f"并于{cn_date(when)}前腾退{h.unit.location}" if h.unit else "停止发放租金补贴"
    page: list[Block] = [
        Title("终止住房保障决定书"),
        Text(f"{h.family.head.name}（身份证号{h.family.head.resident_id}）：\n经复核，你户家庭已购买住房，"
             f"不再符合{h.security_type}保障条件。根据有关规定，决定自{cn_date(when)}起终止对你户的住房保障，{where}。"),
        Signatures((("决定单位", cn_date(when)),)),
        Seal(h.institution),
    ]
    return pdf_doc([page], "终止保障决定书", h.institution, "退出", when)


# ----- unit (房源) -----

HOUSEHOLD_FORMS: dict[str, Callable[[HouseholdFacts, date, random.Random], Doc]] = {
    "申请书": application_form, "身份证明": id_copies, "户籍证明": household_register, "收入证明": income_proof,
    "住房证明": housing_proof, "诚信申报": honesty_declaration, "审核表": review_form, "公示记录": publicity_record,
    "轮候记录": waiting_record, "实施保障通知书": provision_notice, "租赁合同": lease_contract,
    "货币补贴协议": subsidy_agreement, "年度复核表": annual_review, "租金补贴发放通知书": subsidy_notice,
    "退出": exit_decision,
}
