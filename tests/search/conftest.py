"""A small demo repository built in code: four households, two units, real PDFs with Chinese text.

Divisions: 玄武区 320102 (streets 梅园新村街道 320102002, 新街口街道 320102003) and 秦淮区 320104 (秦虹街道
320104001) in 南京市 320100; one household in 无锡市滨湖区 320211 (outside the bundled tree: its ancestors
come from the code's shape). 幸福家园 is an estate name in both Nanjing and Wuxi.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from repository.model import (
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
    Retention,
    Shelf,
    Status,
    StatusChange,
    SupplementOf,
    Unit,
    Volume,
)
from repository.search import ENGINES, archive_document, extract_pdf_text, open_engine

HEAD_ID = "320102195803152347"  # 王秀英
SPOUSE_ID = "320102195501201219"  # 张建国
PDF_TEXTS = {
    "hh1-application": ["本人王秀英申请公共租赁住房，家庭月收入二千三百元，现住房困难。"],
    "hh2-application": ["申请人李强申请租金补贴，已办理轮候登记。"],
    "un1-rent": ["幸福家园3栋502室租金标准为每月每平方米十二元。", "第二页：租金按月收缴。"],
    "hh1-supplement": ["经核查，该户存在违规转租行为，责令限期整改。"],
}


def make_pdf(path: Path, pages: list[str]) -> Path:
    """A born-digital PDF with Chinese text in the STSong-Light CID font, one string per page."""
    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path))
    for text in pages:
        c.setFont("STSong-Light", 12)
        c.drawString(60, 760, text)
        c.showPage()
    c.save()
    return path


def shelf(cell: int) -> Shelf:
    return Shelf("A", 3, 2, cell)


def item(n: int, cls: MaterialClass, subtype: str, title: str, day: date, volume: str, box: str,
         files: tuple[str, ...] = ()) -> Item:
    files = files or (f"data/{n:03d}.tif",)
    return Item(n, cls, subtype, title, day, 2, files,
                PaperRef("001", volume, n, n * 2 - 1, n * 2, box, shelf(1)))


def household(ident: str, title: str, division: str, head: Person, members: tuple[Member, ...], address: str,
              security: str, status: Status, year: int, items: tuple[Item, ...], *, box: str, volume: str,
              retention: Retention = Retention.PERMANENT) -> Archive:
    hh = Household(head, members, address, "低收入", "无房", security, (StatusChange(status, date(year, 6, 1)),))
    return Archive(ident, ArchiveType.HOUSEHOLD, PackageType.HOUSEHOLD_SIP, title, division, "示范市住房保障中心",
                   "A001", f"A001-ZF·{year}-{retention.value}-{ident[-4:]}", year, retention, Access.RESTRICTED,
                   date(year, 1, 1), None, Volume("001", volume, box, shelf(1)), items, household=hh)


def unit(ident: str, title: str, division: str, u: Unit, year: int, items: tuple[Item, ...], *, box: str,
         volume: str) -> Archive:
    return Archive(ident, ArchiveType.UNIT, PackageType.UNIT_SIP, title, division, "示范市住房保障中心", "A001",
                   f"A001-FY·{year}-Y-{ident[-4:]}", year, Retention.PERMANENT, Access.RESTRICTED,
                   date(year, 1, 1), None, Volume("002", volume, box, shelf(2)), items, unit=u)


def demo_archives() -> list[Archive]:
    A, R, P, D = MaterialClass.APPLICATION, MaterialClass.REVIEW, MaterialClass.PROVISION, MaterialClass.DYNAMIC
    B, U = MaterialClass.BASIC, MaterialClass.USE
    return [
        household("HH-320102-2019-0001", "王秀英户住房保障档案", "320102002", Person("王秀英", HEAD_ID),
                  (Member("张建国", SPOUSE_ID, "配偶"),), "南京市玄武区幸福家园3栋502室", "公共租赁住房",
                  Status.PROVIDED, 2019,
                  (item(1, A, "申请书", "公共租赁住房申请书", date(2019, 3, 1), "0001", "B0012",
                        ("data/application.pdf",)),
                   item(2, R, "审核表", "住房保障资格审核表", date(2019, 4, 2), "0001", "B0012"),
                   item(3, P, "租赁合同", "公共租赁住房租赁合同", date(2019, 7, 1), "0001", "B0012"),
                   item(4, D, "年度复核表", "2020年度复核表", date(2020, 6, 30), "0001", "B0012")),
                  box="B0012", volume="0001"),
        household("HH-320102-2020-0002", "李强户住房保障档案", "320102003", Person("李强", "320102198807081238"),
                  (), "南京市玄武区阳光花园1栋101室", "租金补贴", Status.WAITING, 2020,
                  (item(1, A, "申请书", "租金补贴申请书", date(2020, 2, 10), "0002", "B0013",
                        ("data/application.pdf",)),
                   item(2, R, "审核记录", "租金补贴审核记录", date(2020, 3, 5), "0002", "B0013")),
                  box="B0013", volume="0002"),
        household("HH-320104-2018-0003", "陈丽户住房保障档案", "320104001", Person("陈丽", "320104197511230026"),
                  (Member("周子轩", "320104200903150018", "子女"),), "南京市秦淮区夫子庙小区2栋303室", "廉租住房",
                  Status.EXITED, 2018,
                  (item(1, A, "申请书", "廉租住房申请书", date(2018, 5, 6), "0003", "B0020"),
                   item(2, P, "实施保障通知书", "廉租住房实施保障通知书", date(2018, 9, 1), "0003", "B0020"),
                   item(3, D, "退出", "廉租住房退出决定", date(2021, 11, 20), "0003", "B0021")),
                  box="B0020", volume="0003", retention=Retention.LONG),
        household("HH-320211-2019-0004", "赵伟户住房保障档案", "320211", Person("赵伟", "320211198001010017"),
                  (), "无锡市滨湖区幸福家园8栋808室", "公共租赁住房", Status.PROVIDED, 2019,
                  (item(1, A, "申请书", "公共租赁住房申请书", date(2019, 8, 8), "0004", "W0001"),),
                  box="W0001", volume="0004"),
        unit("UN-320102-2019-0001", "幸福家园3栋1单元502室房源档案", "320102002",
             Unit("幸福家园公共租赁住房项目", "幸福家园", "南京市玄武区幸福家园3栋1单元502室", "3", "1", "502", "两室一厅",
                  58.5, "政府投资建设", "政府产权", "公共租赁住房"), 2019,
             (item(1, B, "房屋基本情况表", "房屋基本情况表", date(2019, 1, 10), "0101", "U0001"),
              item(2, B, "户型图", "两室一厅户型图", date(2019, 1, 10), "0101", "U0001"),
              item(3, U, "租金标准", "2020年租金标准", date(2020, 1, 1), "0101", "U0001", ("data/rent.pdf",)),
              item(4, U, "入住交接", "王秀英入住交接单", date(2019, 7, 5), "0101", "U0001")),
             box="U0001", volume="0101"),
        unit("UN-320104-2018-0002", "夫子庙小区2栋303室房源档案", "320104001",
             Unit("夫子庙廉租住房项目", "夫子庙小区", "南京市秦淮区夫子庙小区2栋1单元303室", "2", "1", "303", "一室一厅",
                  42.0, "收购", "政府产权", "廉租住房"), 2018,
             (item(1, B, "来源证明", "房源收购合同", date(2018, 3, 3), "0102", "U0002"),),
             box="U0002", volume="0102"),
    ]


def supplement_of_first(base: Archive) -> Archive:
    """The first household's next version: a 违规查处 record from 2021 appended in box B0014."""
    new = item(5, MaterialClass.DYNAMIC, "违规查处", "违规查处决定书", date(2021, 5, 20), "0005", "B0014",
               ("data/violation.pdf",))
    return replace(base, items=base.items + (new,), package_type=PackageType.SUPPLEMENT_SIP,
                   supplement_of=SupplementOf(base.identifier, "0001", "违规查处"))


@pytest.fixture(scope="session")
def pdf_texts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Extracted text of the demo PDFs, made with reportlab and read back with extract.py."""
    root = tmp_path_factory.mktemp("pdfs")
    return {name: extract_pdf_text(make_pdf(root / f"{name}.pdf", pages)) for name, pages in PDF_TEXTS.items()}


def texts_for(archive: Archive, pdf_texts: dict[str, str]) -> dict[str, str]:
    key = {"HH-320102-2019-0001": "hh1", "HH-320102-2020-0002": "hh2", "UN-320102-2019-0001": "un1"}
    prefix = key.get(archive.identifier)
    out = {}
    if prefix and f"{prefix}-application" in pdf_texts:
        out["data/application.pdf"] = pdf_texts[f"{prefix}-application"]
    if prefix == "un1":
        out["data/rent.pdf"] = pdf_texts["un1-rent"]
    if archive.is_supplement:
        out["data/violation.pdf"] = pdf_texts["hh1-supplement"]
    return out


@pytest.fixture(scope="session")
def demo() -> SimpleNamespace:
    """The builders and constants of this module, for test modules (conftest is not importable by name)."""
    return SimpleNamespace(HEAD_ID=HEAD_ID, SPOUSE_ID=SPOUSE_ID, archives=demo_archives, texts_for=texts_for,
                           supplement_of_first=supplement_of_first, make_pdf=make_pdf)


@pytest.fixture(scope="session")
def documents(pdf_texts: dict[str, str]) -> list:
    return [archive_document(a, version="v1", texts=texts_for(a, pdf_texts)) for a in demo_archives()]


@pytest.fixture(scope="session", params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, documents: list):
    """A read-only engine over the demo repository, once per engine kind."""
    eng = open_engine(request.param, tmp_path_factory.mktemp(f"index-{request.param}"))
    eng.add(documents)
    eng.commit()
    yield eng
    eng.close()


@pytest.fixture(params=ENGINES)
def fresh_engine(request: pytest.FixtureRequest, tmp_path: Path, documents: list):
    """An engine of each kind holding the demo repository, for tests that write."""
    eng = open_engine(request.param, tmp_path / "index")
    eng.add(documents)
    eng.commit()
    yield eng
    eng.close()
