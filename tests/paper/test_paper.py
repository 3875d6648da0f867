"""Dual-track reconciliation (双轨制) on the ingested demo: a clean register finds nothing, a register with one
discrepancy of each class planted finds exactly those; the register import checks every row, reads
UTF-8, GB18030 and XLSX, loads all or nothing and replaces the register of each fonds it holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image
from reportlab.pdfgen import canvas

from repository.cli import cli
from repository.config import load as load_config
from repository.demo.paper import plant, register_csv, register_of
from repository.errors import PaperError
from repository.formats.pages import page_count, pages_of
from repository.home import Repository
from repository.paper.reconcile import Electronic, match, reconcile
from repository.services import paper
from repository.state.db import open_state
from repository.state.paper import read_register

NATIONAL = [""]
HEADER = "全宗号,目录号,案卷号,件号,页数,盒号,存放位置,档号,档案标识\n"


def _import(home: Path, path: Path) -> paper.ImportResult:
    with Repository.open(home) as repo:
        return paper.import_register(repo, path)


def _reconcile(home: Path, prefixes: list[str] = NATIONAL) -> paper.Reconciliation:  # noqa: B006 - read only
    with Repository.open(home) as repo:
        return paper.reconcile_paper(repo, prefixes)


def _rows(home: Path) -> list:
    with open_state(load_config(home).state_url) as state:
        return read_register(state)


def test_a_clean_demo_register_reconciles_with_no_finding(demo, paper_home: Path, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "register.csv"
    out.write_bytes(register_csv(register_of(demo.root)))
    done = _import(paper_home, out)
    result = _reconcile(paper_home)
    assert done.rows == result.register_rows == result.electronic_items > 40
    assert result.clean and result.findings == () and set(result.totals.values()) == {0}
    with Repository.open(paper_home) as repo:
        cov = paper.paper_coverage(repo, NATIONAL)
    assert cov.paper_items == cov.paper_digitised == cov.electronic_items == cov.electronic_referenced == done.rows


def test_each_planted_discrepancy_class_is_found_and_nothing_else(demo, paper_home: Path, tmp_path: Path) -> None:  # noqa: ANN001
    rows, expected = plant(register_of(demo.root))
    out = tmp_path / "planted.csv"
    out.write_bytes(register_csv(rows))
    _import(paper_home, out)
    result = _reconcile(paper_home)
    assert sorted((f.code, f.ref) for f in result.findings) == expected
    assert {code for code, _ in expected} == set(paper.CODES)  # every class planted
    pages = next(f for f in result.findings if f.code == "PAP103")
    assert dict(pages.issue.params) == {"ref": pages.ref, "register": "2", "described": "1", "stored": "1"}
    assert pages.line is not None and pages.archive_id and pages.division
    # counts roll up the division tree: the city counts everything, each district its own
    by_code = {d.code: d for d in result.divisions}
    assert by_code["320100"].total == len(result.findings) == sum(result.totals.values())
    districts = [d for d in result.divisions if len(d.code) == 6 and d.code.endswith(("05", "16"))]
    assert sum(d.total for d in districts) == len(result.findings)


def test_a_user_sees_only_the_findings_of_their_division(demo, paper_home: Path, tmp_path: Path) -> None:  # noqa: ANN001
    rows, _expected = plant(register_of(demo.root))
    out = tmp_path / "planted.csv"
    out.write_bytes(register_csv(rows))
    _import(paper_home, out)
    everything = _reconcile(paper_home)
    jianye = _reconcile(paper_home, ["320105"])
    assert jianye.findings and {f.division[:6] for f in jianye.findings} == {"320105"}
    assert len(jianye.findings) == sum(1 for f in everything.findings if f.division.startswith("320105"))
    assert {d.code for d in jianye.divisions} <= {"320105", "320105007"}
    assert _reconcile(paper_home, ["320102"]).clean
    assert _reconcile(paper_home, []).findings == ()  # a malformed scope sees nothing


def test_a_register_row_of_an_unknown_archive_is_for_the_national_scope_only(paper_home: Path,
                                                                             tmp_path: Path) -> None:
    out = tmp_path / "other.csv"
    out.write_text(HEADER + "J009,1,2020-0001,1,3,B-1,1库1排1柜1格,J009-ZF·2020-Y-0001,hh-nowhere\n", "utf-8")
    _import(paper_home, out)
    national = _reconcile(paper_home)
    assert [(f.code, f.division) for f in national.findings if f.ref.startswith("J009")] == [("PAP101", "")]
    assert not [f for f in _reconcile(paper_home, ["32"]).findings if f.ref.startswith("J009")]


def test_scanned_pages_stored_are_compared_with_register_and_description() -> None:
    from repository.model import Item, MaterialClass, PaperRef, Shelf
    from repository.state.paper import RegisterRow

    shelf = Shelf("1", 1, 1, 1)
    item = Item(1, MaterialClass.APPLICATION, "申请书", "申请书", __import__("datetime").date(2020, 1, 1), 3,
                ("data/application/0001.tif",), PaperRef("1", "2020-0001", 1, 1, 3, "H-0001", shelf))
    e = Electronic.of("hh-1", "320102008", "J001", "J001-ZF·2020-Y-0001", item)
    row = RegisterRow("J001", "1", "2020-0001", 1, 3, "H-0001", "1/1/1/1", None, None, 1)
    m = match([row], [e])
    assert reconcile(m, lambda _e: 3) == []
    found = reconcile(m, lambda _e: 2)  # one page was not scanned
    assert [(f.code, dict(f.issue.params)["stored"]) for f in found] == [("PAP103", "2")]
    assert reconcile(m, lambda _e: None) == []  # pages not countable: not a mismatch


def test_pages_are_counted_in_tiff_pdf_and_images(tmp_path: Path) -> None:
    tif = tmp_path / "scan.tif"
    frames = [Image.new("L", (40, 40), v) for v in (0, 128, 255)]
    frames[0].save(tif, save_all=True, append_images=frames[1:])
    pdf = tmp_path / "form.pdf"
    c = canvas.Canvas(str(pdf))
    c.showPage()
    c.showPage()
    c.save()
    jpg = tmp_path / "photo.jpg"
    Image.new("RGB", (10, 10)).save(jpg)
    broken = tmp_path / "broken.tif"
    broken.write_bytes(b"II*\x00garbage")
    (tmp_path / "d.xml").write_text("<x/>", "utf-8")
    assert [page_count(p) for p in (tif, pdf, jpg, broken, tmp_path / "d.xml")] == [3, 2, 1, None, None]
    assert pages_of([tif, pdf, jpg]) == 6 and pages_of([tif, broken]) is None


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_loaded(paper_home: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "J001,1,2020-0001,1,3,H-1,1库1排1柜1格,,\n", "utf-8")
    _import(paper_home, good)
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "J001,1,2020-0001,1,3,H-1,1库1排1柜1格,,\n"  # line 2: fine
                   ",1,2020-0001,2,3,H-1,,,\n"  # line 3: no fonds
                   "J001,1,2020-0001,x,0,H-1,,,\n"  # line 4: item and pages not positive numbers
                   "\n"  # a blank line is skipped
                   "J001,1,2020-0001,4,1,H-1,地下室,,\n"  # line 6: shelf location unreadable
                   "J001,1,2020-0001,5,1,H-1,,,,extra\n"  # line 7: more cells than the header
                   "J001,1,2020-0001,6,1,H-\x001,,,\n"  # line 8: a NUL inside a box number
                   '"J001",1,2020-0001,7,1,"H-\n1",,,\n', "utf-8")  # line 9: a line break inside a quoted box
    with pytest.raises(PaperError) as caught:
        _import(paper_home, bad)
    found = [(i.code, i.path) for i in caught.value.issues]
    assert found == [("PAP003", "bad.csv:3"), ("PAP004", "bad.csv:4"), ("PAP004", "bad.csv:4"),
                     ("PAP005", "bad.csv:6"), ("PAP009", "bad.csv:7"), ("PAP010", "bad.csv:8"),
                     ("PAP010", "bad.csv:10")]  # (a quoted line break: the line the row ends on)
    assert "U+0000" in caught.value.issues[-2].message_in("en") and "U+000A" in caught.value.issues[-1].message_in("en")
    assert [(r.item, r.line) for r in _rows(paper_home)] == [(1, 2)]  # the earlier import, untouched


@pytest.mark.parametrize(("content", "codes"), [
    (b"fonds,catalogue,volume,item,pages\nJ001,1,v,1,1\n", ["PAP001"]),  # no box column
    (b"fonds,catalogue,volume,item,pages,box,box\n", ["PAP008"]),  # a column twice
    (HEADER.encode("utf-8"), ["PAP006"]),  # no rows
    (b"fonds,box\n\x80\xff\x80\n", ["PAP002"]),  # neither UTF-8 nor GB18030
])
def test_a_bad_file_is_refused_whole(paper_home: Path, tmp_path: Path, content: bytes, codes: list[str]) -> None:
    path = tmp_path / "register.csv"
    path.write_bytes(content)
    with pytest.raises(PaperError) as caught:
        _import(paper_home, path)
    assert [i.code for i in caught.value.issues] == codes
    assert _rows(paper_home) == []


def test_gb18030_with_chinese_and_utf8_bom_with_english_headers_load(paper_home: Path, tmp_path: Path) -> None:
    gb = tmp_path / "gb.csv"
    gb.write_bytes((HEADER + "J001,1,2020-0001,1,3,H-1,1库2排3柜4格,J001-ZF·2020-Y-0001,hh-x\n").encode("gb18030"))
    en = tmp_path / "en.csv"
    en.write_bytes("\ufeffArchive identifier,Fonds,Catalogue,Volume,Item,Pages,Box,Shelf location\n"
                   "un-y,J002,2,2018-0001,7,1,U-1,A-1-2-3\n".encode())
    assert _import(paper_home, gb).fonds == ("J001",)
    assert _import(paper_home, en).fonds == ("J002",)
    rows = {r.fonds: r for r in _rows(paper_home)}
    assert (rows["J001"].shelf, rows["J001"].reference_code, rows["J001"].archive_id) == \
        ("1/2/3/4", "J001-ZF·2020-Y-0001", "hh-x")
    assert (rows["J002"].item, rows["J002"].shelf, rows["J002"].archive_id, rows["J002"].line) == \
        (7, "A/1/2/3", "un-y", 2)


def test_an_xlsx_register_loads_with_row_numbers(paper_home: Path, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.strip().split(","))
    sheet.append(["J001", 1, "2020-0001", 1, 3, "H-1", "1库1排1柜1格", None, "hh-x"])
    sheet.append(["J001", 1, "2020-0001", 2, -1, "H-1", None, None, None])
    path = tmp_path / "register.xlsx"
    book.save(path)
    with pytest.raises(PaperError) as caught:
        _import(paper_home, path)
    assert [(i.code, i.path) for i in caught.value.issues] == [("PAP004", "register.xlsx:3")]
    sheet.delete_rows(3)
    book.save(path)
    assert _import(paper_home, path).rows == 1
    assert [(r.catalogue, r.item, r.pages, r.line) for r in _rows(paper_home)] == [("1", 1, 3, 2)]
    path.write_bytes(b"not a workbook")
    with pytest.raises(PaperError) as caught:
        _import(paper_home, path)
    assert [i.code for i in caught.value.issues] == ["PAP007"]


def test_a_reimport_replaces_the_register_of_each_fonds_it_holds(paper_home: Path, tmp_path: Path) -> None:
    first = tmp_path / "a.csv"
    first.write_text(HEADER + "J001,1,v,1,1,B,,,\nJ001,1,v,2,1,B,,,\n", "utf-8")
    second = tmp_path / "b.csv"
    second.write_text(HEADER + "J002,1,v,1,1,B,,,\n", "utf-8")
    third = tmp_path / "c.csv"
    third.write_text(HEADER + "J001,1,v,9,1,B,,,\n", "utf-8")
    assert _import(paper_home, first).replaced == 0
    assert _import(paper_home, second).replaced == 0
    assert _import(paper_home, third).replaced == 2
    assert sorted((r.fonds, r.item) for r in _rows(paper_home)) == [("J001", 9), ("J002", 1)]


def _hsar(home: Path, *args: str):  # noqa: ANN202 - click's Result
    return CliRunner().invoke(cli, ["--home", str(home), "--lang", "en", *args], prog_name="hsar")


def test_the_command_line_plants_imports_and_reconciles(demo, paper_home: Path, tmp_path: Path) -> None:  # noqa: ANN001
    clean, planted = tmp_path / "clean.csv", tmp_path / "planted.csv"
    assert _hsar(paper_home, "paper", "demo-register", str(demo.root), str(clean)).exit_code == 0
    done = _hsar(paper_home, "paper", "demo-register", str(demo.root), str(planted), "--plant")
    assert done.exit_code == 0 and "9 planted" in done.output
    expected = json.loads((tmp_path / "planted.csv.expected.json").read_text("utf-8"))
    assert _hsar(paper_home, "paper", "import", str(clean)).exit_code == 0
    quiet = _hsar(paper_home, "paper", "reconcile")
    assert quiet.exit_code == 0 and "agree: nothing found" in quiet.output
    assert _hsar(paper_home, "paper", "import", str(planted)).exit_code == 0
    as_json = json.loads(_hsar(paper_home, "paper", "reconcile", "--json").output)
    assert sorted([f["code"], f["paper_ref"]] for f in as_json["findings"]) == \
        sorted([e["code"], e["paper_ref"]] for e in expected)
    as_csv = _hsar(paper_home, "paper", "reconcile", "--csv", "--division", "320116").output.splitlines()
    assert as_csv[0].startswith("code,severity,division") and len(as_csv) == 1 + 3
    text = _hsar(paper_home, "paper", "reconcile").output
    assert "PAP107" in text and "南京市 320100" in text
    assert _hsar(paper_home, "paper", "reconcile", "--division", "12").exit_code == 2
    assert _hsar(paper_home, "paper", "reconcile", "--json", "--csv").exit_code == 2


def test_the_command_line_lists_every_bad_row_and_exits_1(paper_home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "J001,1,v,one,1,B,,,\nJ001,1,v,2,1,,,,\n", "utf-8")
    result = CliRunner().invoke(cli, ["--home", str(paper_home), "--lang", "en", "paper", "import", str(bad)])
    assert result.exit_code == 1
    assert "[PAP004]" in result.output and "bad.csv:2" in result.output
    assert "[PAP003]" in result.output and "bad.csv:3" in result.output
    assert "Traceback" not in result.output and _rows(paper_home) == []


def test_a_paper_reference_used_in_two_divisions_names_each_divisions_items_to_it_alone() -> None:
    from repository.paper.compute import in_scope

    def item(archive_id: str, division: str, number: int) -> Electronic:
        return Electronic(archive_id, division, "J001", f"J001-{archive_id}", number, 3, "1", "2019-0001", 1,
                          "H-1", "1/1/1/1")

    here, there, also_here = (item("hh-320102-a", "320102008", 1), item("hh-320115-b", "320115003", 2),
                              item("hh-320102-c", "320102001", 4))
    found = [f for f in reconcile(match([], [here, there, also_here]), lambda _e: None) if f.code == "PAP104"]
    assert {f.division: dict(f.issue.params)["where"] for f in found} == {
        "320102001": "hh-320102-c#4", "320102008": "hh-320102-a#1", "320115003": "hh-320115-b#2"}
    assert {dict(f.issue.params)["count"] for f in found} == {"3"}  # every use counted, named or not
    for reader, other in (("320102", "320115"), ("320115", "320102")):
        shown = [f.issue.message for f in found if in_scope(f.division, [reader])]
        assert shown and not any(other in text for text in shown)


def test_a_register_import_below_the_national_scope_stays_within_its_fonds(paper_home: Path) -> None:
    with Repository.open(paper_home) as repo:
        ids = {v.division[:6]: v.identifier for v in repo.catalog.list_archives()}
        mine, other = ids["320105"], ids["320102"]
        header = "全宗号,目录号,案卷号,件号,页数,盒号,档案标识\n"
        own = (header + f"J777,1,2024-0001,1,3,B-1,{mine}\nJ777,1,2024-0001,2,3,B-1,\n").encode()
        assert paper.import_register(repo, data=own, name="own.csv", prefixes=["320105"]).rows == 2
        with pytest.raises(PaperError) as refused:  # a row naming another district's archive
            paper.import_register(repo, data=(header + f"J777,1,2024-0001,1,3,B-1,{other}\n").encode(),
                                  name="x.csv", prefixes=["320105"])
        assert refused.value.code == "PAPER-SCOPE" and other not in refused.value.render("zh")
        with pytest.raises(PaperError):  # the demo's fonds holds archives of several districts
            paper.import_register(repo, data=(header + "J001,1,2019-0001,1,3,B-1,\n").encode(), name="y.csv",
                                  prefixes=["320105"])
        # the national scope imports a row of J777 naming another district's archive: J777 is no longer the
        # district's alone, and its next import there is refused
        paper.import_register(repo, data=(header + f"J777,1,2024-0001,9,3,B-1,{other}\n").encode(), name="n.csv")
        with pytest.raises(PaperError):
            paper.import_register(repo, data=own, name="own.csv", prefixes=["320105"])
        with open_state(repo.cfg.state_url) as state:
            assert [(r.item, r.archive_id) for r in read_register(state) if r.fonds == "J777"] == [(9, other)]


def test_a_district_never_replaces_register_rows_it_cannot_see(paper_home: Path) -> None:
    with Repository.open(paper_home) as repo:
        mine = next(v.identifier for v in repo.catalog.list_archives() if v.division.startswith("320105"))
        header = "全宗号,目录号,案卷号,件号,页数,盒号,档案标识\n"
        # paper first (双轨制): the national office holds a fonds nothing of which is catalogued yet
        held = (header + "".join(f"J888,1,2024-0001,{n},3,B-1,\n" for n in range(1, 49))).encode()
        paper.import_register(repo, data=held, name="national.csv")
        with pytest.raises(PaperError) as refused:
            paper.import_register(repo, data=(header + f"J888,1,2024-0001,1,3,B-1,{mine}\n").encode(),
                                  name="district.csv", prefixes=["320105"])
        assert refused.value.code == "PAPER-SCOPE"
        with open_state(repo.cfg.state_url) as state:
            assert sum(r.fonds == "J888" for r in read_register(state)) == 48  # all still there
        # a fonds whose every held row names one of the district's archives is the district's to replace
        own = (header + f"J889,1,2024-0001,1,3,B-1,{mine}\n").encode()
        paper.import_register(repo, data=own, name="own.csv", prefixes=["320105"])
        assert paper.import_register(repo, data=own, name="own.csv", prefixes=["320105"]).replaced == 1
