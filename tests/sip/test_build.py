"""``hsar sip build``: a valid SIP from documents plus descriptive XML, a JSON export or a CSV export."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from repository import descriptive
from repository.demo.docs import PdfMeta, Text, Title, render_pdf, tiff_bytes
from repository.description.exports import ARCHIVE_FIELDS, ITEM_FIELDS, archive_from_csv
from repository.errors import IngestError
from repository.model import PackageType, Retention, Status
from repository.sip.build import build_sip, load_metadata
from repository.sip.validate import validate_sip

EXAMPLES = Path(__file__).resolve().parents[2] / "metadata" / "examples"
JSON_EXPORT = EXAMPLES / "export-household.json"
CSV_EXPORT = EXAMPLES / "export-household.csv"
ORG = "南京市玄武区住房保障中心"
DAY = date(2021, 5, 10)


def _pdf(title: str, pages: int) -> bytes:
    return render_pdf([[Title(title), Text(f"{title}，第{n + 1}页。")] for n in range(pages)],
                      PdfMeta(title, ORG, title, date(2021, 3, 2)))


@pytest.fixture
def documents(tmp_path: Path) -> Path:
    """The documents the example exports name, as a management system would hand them over."""
    docs = tmp_path / "documents"
    (docs / "扫描件").mkdir(parents=True)
    (docs / "申请书.pdf").write_bytes(_pdf("公共租赁住房申请书", 2))
    (docs / "审核表.pdf").write_bytes(_pdf("住房保障资格审核表", 1))
    (docs / "扫描件" / "收入证明.tif").write_bytes(tiff_bytes([Image.new("L", (200, 280), 255)]))
    return docs


def _only(documents: Path, *names: str) -> None:
    """Leave in ``documents`` only the files ``names`` (a build refuses documents the metadata leaves out)."""
    for path in sorted(documents.rglob("*"), reverse=True):
        if path.is_file() and path.relative_to(documents).as_posix() not in names:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _build(documents: Path, metadata: Path, out: Path, **kw) -> Path:
    return build_sip(documents, metadata, out, source_organization=ORG, bagging_date=DAY, **kw)


def _bag_info(bag: Path) -> dict[str, list[str]]:
    info: dict[str, list[str]] = {}
    for line in (bag / "bag-info.txt").read_text("utf-8").splitlines():
        key, value = line.split(": ", 1)
        info.setdefault(key, []).append(value)
    return info


def _assert_valid(bag: Path) -> None:
    report = validate_sip(bag).report
    assert report.issues == (), [i.to_dict("en") for i in report.issues]


@pytest.mark.parametrize("example", [JSON_EXPORT, CSV_EXPORT], ids=["json", "csv"])
def test_export_builds_a_valid_sip(documents: Path, tmp_path: Path, example: Path) -> None:
    bag = _build(documents, example, tmp_path / "sip")
    _assert_valid(bag)
    assert sorted(p.relative_to(bag).as_posix() for p in (bag / "data").rglob("*") if p.is_file()) == [
        "data/application/收入证明.tif", "data/application/申请书.pdf", "data/review/审核表.pdf"]
    assert (documents / "申请书.pdf").is_file()  # copied, not moved
    assert (bag / "data/application/申请书.pdf").read_bytes() == (documents / "申请书.pdf").read_bytes()
    info = _bag_info(bag)
    assert info["External-Identifier"] == ["hh-320102-2021-0002"]
    assert info["Package-Type"] == ["household-sip"] and info["Archive-Type"] == ["household"]
    assert info["Division-Code"] == ["320102002"] and info["Fonds-Number"] == ["J001"]
    assert info["BagIt-Profile-Identifier"] == ["https://hsar.example.org/profiles/household-sip-1.0.json"]
    assert info["Bagging-Date"] == ["2021-05-10"] and info["Source-Organization"] == [ORG]
    assert "Payload-Oxum" in info and "Original-Volume" not in info
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_json_and_csv_exports_describe_the_same_archive() -> None:
    from_json, from_csv = load_metadata(JSON_EXPORT), load_metadata(CSV_EXPORT)
    assert from_json == from_csv
    a = from_json.archive
    assert a.reference_code == "J001-ZF·2021-Y-0002" and a.retention is Retention.PERMANENT
    assert a.household.status.status is Status.PROVIDED and len(a.household.members) == 2
    assert [(i.paper.page_start, i.paper.page_end) for i in a.items] == [(1, 2), (3, 3), (4, 4)]
    assert a.items[1].date == date(2021, 3, 1) and a.items[2].date == date(2021, 4, 6)


def test_csv_with_english_headers_and_gb18030(tmp_path: Path) -> None:
    english = {zh: key for key, zh in ARCHIVE_FIELDS.items()} | {zh: f"item_{key}" for key, zh in ITEM_FIELDS.items()}
    rows = list(csv.reader(io.StringIO(CSV_EXPORT.read_text("utf-8"))))
    buf = io.StringIO()
    csv.writer(buf).writerows([[english[h] for h in rows[0]], *rows[1:]])
    path = tmp_path / "export.csv"
    path.write_bytes(buf.getvalue().encode("gb18030"))
    assert load_metadata(path).archive == load_metadata(CSV_EXPORT).archive


def test_descriptive_xml_builds_a_valid_sip(documents: Path, tmp_path: Path) -> None:
    archive = load_metadata(JSON_EXPORT).archive
    xml = tmp_path / "descriptive.xml"
    xml.write_bytes(descriptive.to_xml(archive))
    # documents laid out as in the bag, below data/
    (documents / "application").mkdir()
    (documents / "review").mkdir()
    (documents / "申请书.pdf").rename(documents / "application" / "申请书.pdf")
    (documents / "扫描件" / "收入证明.tif").rename(documents / "application" / "收入证明.tif")
    bag = _build(documents, xml, tmp_path / "sip", algorithms=("sha256", "sha512"))
    _assert_valid(bag)
    assert descriptive.parse((bag / "metadata/descriptive.xml").read_bytes()) == archive
    assert (bag / "manifest-sha256.txt").is_file() and (bag / "tagmanifest-sha512.txt").is_file()


def test_supplement_from_json(documents: Path, tmp_path: Path) -> None:
    record = json.loads(JSON_EXPORT.read_text("utf-8"))
    record |= {"supplement_of": "hh-320102-2021-0002", "supplement_reason": "2022年度复核", "volume": "2022-0007",
               "separately_filed": "是", "original_volume": "2021-0002", "relations": []}
    record["statuses"] = "轮候|2021-03-02;在保|2021-06-18"
    record["items"] = [{"件号": 4, "材料类别": "动态管理材料", "材料子类": "年度复核表", "形成日期": "2022-06-20",
                        "页数": 1, "文件": "审核表.pdf"}]
    path = tmp_path / "supplement.json"
    path.write_text(json.dumps(record, ensure_ascii=False), "utf-8")
    _only(documents, "审核表.pdf")  # the folder holds what the supplement describes, nothing else
    bag = _build(documents, path, tmp_path / "sip")
    report = validate_sip(bag).report
    assert report.errors == [], [i.to_dict("en") for i in report.errors]
    info = _bag_info(bag)
    assert info["Package-Type"] == ["supplement-sip"] and info["Original-Volume"] == ["2021-0002"]
    assert info["BagIt-Profile-Identifier"] == ["https://hsar.example.org/profiles/supplement-sip-1.0.json"]
    archive = load_metadata(path).archive
    assert archive.package_type is PackageType.SUPPLEMENT_SIP and archive.items[0].title == "年度复核表"
    assert archive.reference_code == "J001-ZF·2021-Y-0007"  # default: the volume's serial


def test_refuses_an_existing_output(documents: Path, tmp_path: Path) -> None:
    (tmp_path / "sip").mkdir()
    with pytest.raises(IngestError) as caught:
        _build(documents, JSON_EXPORT, tmp_path / "sip")
    assert caught.value.code == "BUILD-EXISTS"


def test_refuses_a_missing_document_and_writes_nothing(documents: Path, tmp_path: Path) -> None:
    (documents / "审核表.pdf").unlink()
    with pytest.raises(IngestError) as caught:
        _build(documents, CSV_EXPORT, tmp_path / "sip")
    assert caught.value.code == "BUILD-DOCUMENT" and "审核表.pdf" in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["documents"]


@pytest.mark.parametrize("change, words", [
    (lambda r: r.pop("division"), "division"),
    (lambda r: r.update(start="2021-02-30"), "not a date"),
    (lambda r: r.update(type="flat"), "type"),
    (lambda r: r["items"][0].update(files=["../../etc/passwd"]), "'..'"),
    (lambda r: r.update(head_resident_id="320102196804120317"), "RUL001"),
    (lambda r: r["items"][1].update(subtype="租赁合同"), "SCH007"),
    (lambda r: r.update(items=[]), "items"),
])
def test_refuses_metadata_it_cannot_convert(documents: Path, tmp_path: Path, change, words: str) -> None:
    record = json.loads(JSON_EXPORT.read_text("utf-8"))
    change(record)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(record, ensure_ascii=False), "utf-8")
    with pytest.raises(IngestError) as caught:
        _build(documents, path, tmp_path / "sip")
    assert caught.value.code == "BUILD-METADATA" and words in str(caught.value)
    assert not (tmp_path / "sip").exists()


def test_refuses_unreadable_metadata(documents: Path, tmp_path: Path) -> None:
    for name, data in (("bad.json", b"{not json"), ("bad.xml", b"<archive"), ("bad.csv", b"a,b\n")):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(IngestError) as caught:
            _build(documents, tmp_path / name, tmp_path / "sip")
        assert caught.value.code == "BUILD-METADATA"


def test_csv_rows_must_agree_on_the_archive() -> None:
    rows = CSV_EXPORT.read_text("utf-8").splitlines()
    rows[2] = rows[2].replace("低收入", "最低生活保障")
    with pytest.raises(ValueError, match="收入类别|income_band"):
        archive_from_csv("\n".join(rows))


def test_unit_archive_from_json(documents: Path, tmp_path: Path) -> None:
    record = {
        "档案标识": "un-320102-0009", "档案类型": "房档", "行政区划代码": "320102002", "立档单位": ORG,
        "全宗号": "J001", "开放状态": "开放", "起始日期": "2018-05-04", "目录号": "2", "案卷号": "2018-0009",
        "盒号": "U-0003", "存放位置": {"store": "2", "row": 1, "cabinet": 1, "cell": 3},
        "项目": "玄武区幸福里保障性住房项目", "小区": "幸福里公租房小区", "房屋坐落": "南京市玄武区梅园新村街道文化路18号",
        "栋": "3", "单元": "1", "室": "502", "户型": "一室一厅", "建筑面积": "45.60", "房源来源": "新建",
        "产权": "南京市玄武区保障房运营管理有限公司", "房屋类型": "公共租赁住房",
        "房户对接": "occupiedBy|hh-320102-2021-0002|2021-07-01|",
        "items": [{"材料类别": "基本情况材料", "材料子类": "房屋基本情况表", "形成日期": "2018-05-04", "页数": 1,
                   "文件": "审核表.pdf"}],
    }
    path = tmp_path / "unit.json"
    path.write_text(json.dumps(record, ensure_ascii=False), "utf-8")
    _only(documents, "审核表.pdf")
    bag = _build(documents, path, tmp_path / "sip")
    _assert_valid(bag)
    archive = load_metadata(path).archive
    assert archive.title == "幸福里公租房小区3栋502室房源档案"
    assert archive.reference_code == "J001-FY·2018-Y-0009" and archive.unit.area == 45.6
    assert _bag_info(bag)["BagIt-Profile-Identifier"] == ["https://hsar.example.org/profiles/unit-sip-1.0.json"]


def test_every_document_problem_is_reported_at_once(documents: Path, tmp_path: Path) -> None:
    (documents / "审核表.pdf").unlink()
    (documents / "扫描件" / "多余.pdf").write_bytes(b"%PDF-1.4 not described")
    (documents / "备注.txt").write_text("not described either", "utf-8")
    with pytest.raises(IngestError) as caught:
        _build(documents, JSON_EXPORT, tmp_path / "sip")
    err = caught.value
    assert err.code == "BUILD-DOCUMENT"
    en, zh = err.render("en"), err.render("zh")
    assert "审核表.pdf" in en and "(for data/review/审核表.pdf) does not exist" in en
    assert "document 扫描件/多余.pdf is not described by the metadata" in en and "备注.txt is not described" in en
    assert "元数据未描述的文件 扫描件/多余.pdf" in zh and "does not" not in zh
    assert not (tmp_path / "sip").exists()


def test_every_metadata_error_is_reported_at_once_in_either_language(documents: Path, tmp_path: Path) -> None:
    record = json.loads(JSON_EXPORT.read_text("utf-8"))
    record.pop("division")
    record.update(start="2021-02-30", type="household", access="secret")
    record["items"][0].update(pages="two")
    record["items"][1].update(files=["../../etc/passwd"])
    path = tmp_path / "export.json"
    path.write_text(json.dumps(record, ensure_ascii=False), "utf-8")
    with pytest.raises(IngestError) as caught:
        _build(documents, path, tmp_path / "sip")
    en, zh = caught.value.render("en"), caught.value.render("zh")
    for words in ("division (行政区划代码): required", "start (起始日期): not a date", "access (开放状态): 'secret'",
                  "items[0].pages (页数): not a whole number", "items[1].files (文件): '../../etc/passwd' must be"):
        assert words in en, en
    assert "5 errors" in en and "5 处错误" in zh and "必填" in zh and "required" not in zh


@pytest.mark.parametrize("kind", ["json", "csv"])
def test_unknown_keys_in_an_export_are_refused(documents: Path, tmp_path: Path, kind: str) -> None:
    if kind == "json":
        record = json.loads(JSON_EXPORT.read_text("utf-8"))
        record["divison"] = "320102002"  # misspelt: would be lost silently
        record["items"][0]["remark"] = "x"
        path = tmp_path / "export.json"
        path.write_text(json.dumps(record, ensure_ascii=False), "utf-8")
    else:
        rows = CSV_EXPORT.read_text("utf-8").splitlines()
        rows = [rows[0] + ",备注"] + [r + ",x" for r in rows[1:]]
        path = tmp_path / "export.csv"
        path.write_text("\n".join(rows) + "\n", "utf-8")
    with pytest.raises(IngestError) as caught:
        _build(documents, path, tmp_path / "sip")
    en = caught.value.render("en")
    assert caught.value.code == "BUILD-METADATA" and "unknown fields: " in en
    assert ("divison" in en and "items[0]: unknown fields: remark" in en) if kind == "json" else "备注" in en
