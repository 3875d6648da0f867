"""Access copies (利用副本, DIP): the zip holds the chosen documents in readable form, the description
(masked when asked, always for a researcher) and a README with contents and purpose; each copy is one
access-register entry; scope and the archive's access status are asked first; names inside the zip are
hsar's own and the bytes are the same for the same selection and time."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image
from pypdf import PdfReader

from repository.access import Principal, Role
from repository.accounts.register import list_uses, verify_register
from repository.cli import cli
from repository.config import load as load_config
from repository.errors import AccessCopyError, HsarError
from repository.home import Repository
from repository.preservation.ids import object_id
from repository.services.access_copy import CopyRequest, access_copy_to, write_access_copy
from repository.state.db import open_state

ADMIN = Principal("admin", Role.ADMIN, "000000")
READER = Principal("reader", Role.RESEARCHER, "320100")
JIANYE = Principal("jianye", Role.ARCHIVIST, "320105")
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _uses(home: Path) -> list:
    with open_state(load_config(home).state_url) as state:
        return list_uses(state)


def _copy(home: Path, who: Principal, req: CopyRequest) -> tuple[zipfile.ZipFile, object]:
    out = io.BytesIO()
    with Repository.open(home) as repo:
        made = write_access_copy(repo, who, req, out, lang="en", at=WHEN)
    return zipfile.ZipFile(io.BytesIO(out.getvalue())), made


def _archives(home: Path) -> dict[str, object]:
    with Repository.open(home) as repo:
        return {i: repo.catalog.show(i) for i in repo.catalog.archive_ids()}


def _tiff_item(view) -> tuple[int, str]:  # noqa: ANN001 - ArchiveView
    return next((i.number, f) for i in view.archive.items for f in i.files if f.endswith(".tif"))


def test_tiff_pages_become_a_pdf_or_jpegs_and_the_readme_lists_everything(paper_home: Path) -> None:
    household = next(v for i, v in _archives(paper_home).items() if i.startswith("hh-"))
    number, source = _tiff_item(household)
    with Repository.open(paper_home) as repo:
        stored = repo.store.content_path(object_id(household.identifier), source)
    with Image.open(stored) as img:
        frames = img.n_frames
    copy, made = _copy(paper_home, ADMIN, CopyRequest(household.identifier, "课题研究：住房保障政策评估", (number,)))
    names = copy.namelist()
    assert names == ["README.txt", f"documents/{number:04d}-01.pdf", "description.json"]
    assert len(PdfReader(io.BytesIO(copy.read(names[1]))).pages) == frames
    readme = copy.read("README.txt").decode("utf-8")
    assert "课题研究：住房保障政策评估" in readme and household.identifier in readme and "admin" in readme
    for entry in made.entries:  # every file listed with its size and digest, the source named
        data = copy.read(entry.name)
        assert f"{entry.name}  {len(data)}  sha256:{hashlib.sha256(data).hexdigest()}" in readme
    assert source in readme
    jpegs, _ = _copy(paper_home, ADMIN, CopyRequest(household.identifier, "研究", (number,), image_format="jpeg"))
    pages = [n for n in jpegs.namelist() if n.endswith(".jpg")]
    assert pages == [f"documents/{number:04d}-01-p{k:03d}.jpg" for k in range(1, frames + 1)]
    assert Image.open(io.BytesIO(jpegs.read(pages[0]))).format == "JPEG"


def test_a_researcher_always_gets_a_masked_description(paper_home: Path) -> None:
    archives = _archives(paper_home)
    unit = next(v for i, v in archives.items() if i.startswith("un-") and v.relations)
    tenant = archives[unit.relations[0].other].archive.household.head
    full, made = _copy(paper_home, ADMIN, CopyRequest(unit.identifier, "维修核查"))
    assert not made.masked and tenant.name in full.read("description.json").decode("utf-8")
    masked, made = _copy(paper_home, READER, CopyRequest(unit.identifier, "学术研究", mask=False))
    text = masked.read("description.json").decode("utf-8")
    assert made.masked and tenant.name not in text and tenant.resident_id not in text
    assert tenant.name[0] + "*" in text
    json.loads(text)  # still a JSON document
    household = next(v for i, v in archives.items() if i.startswith("hh-"))
    asked, made = _copy(paper_home, ADMIN, CopyRequest(household.identifier, "审计抽查", mask=True))
    body = asked.read("description.json").decode("utf-8")
    assert made.masked and household.archive.household.head.resident_id not in body
    assert household.archive.household.head.resident_id[:6] + "********" in body


def test_a_linked_archive_outside_the_scope_is_not_named_in_the_description(paper_home: Path) -> None:
    """As on the archive page: the district's copy of a unit names none of the households of other districts
    it is linked with (房户对接), neither in its links nor in its own description; the national copy does."""
    archives = _archives(paper_home)
    unit = next(v for i, v in archives.items() if i.startswith("un-320105") and v.relations)
    others = {r.other for r in unit.relations if not archives[r.other].archive.division.startswith("320105")}
    assert others, "the demo data links 建邺区 units with households of other districts"
    national, _ = _copy(paper_home, ADMIN, CopyRequest(unit.identifier, "维修核查"))
    assert all(o in national.read("description.json").decode("utf-8") for o in others)
    district, _ = _copy(paper_home, JIANYE, CopyRequest(unit.identifier, "租金核查"))
    text = district.read("description.json").decode("utf-8")
    assert not [o for o in others | {archives[o].archive.title for o in others} if o in text]
    data = json.loads(text)
    assert data["relations"] and all(r["other"] is None and r["direction"] == "out" for r in data["relations"])
    assert all(r["target"] is None for r in data["description"]["relations"])


def test_each_copy_is_one_access_register_entry(paper_home: Path) -> None:
    unit = next(i for i in _archives(paper_home) if i.startswith("un-"))
    before = len(_uses(paper_home))
    _copy(paper_home, READER, CopyRequest(unit, "学术研究", (2, 1)))
    _copy(paper_home, JIANYE, CopyRequest(unit, "租金核查"))
    uses = _uses(paper_home)[before:]
    assert [(u.username, u.role, u.action, u.archive_id, u.item, u.purpose, u.masked) for u in uses] == [
        ("reader", "researcher", "export", unit, "1,2", "学术研究", True),
        ("jianye", "archivist", "export", unit, None, "租金核查", False)]
    with open_state(load_config(paper_home).state_url) as state:
        assert verify_register(state).ok


def test_copies_of_the_same_selection_are_the_same_bytes(paper_home: Path) -> None:
    household = next(v for i, v in _archives(paper_home).items() if i.startswith("hh-"))
    _tiff_item(household)  # the copy converts TIFF pages to PDF
    a, b = io.BytesIO(), io.BytesIO()
    with Repository.open(paper_home) as repo:
        write_access_copy(repo, ADMIN, CopyRequest(household.identifier, "研究"), a, at=WHEN)
        write_access_copy(repo, ADMIN, CopyRequest(household.identifier, "研究"), b, at=WHEN)
    assert a.getvalue() == b.getvalue()
    for info in zipfile.ZipFile(a).infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.filename in ("README.txt", "description.json") or info.filename.startswith("documents/")
        assert ".." not in info.filename and not info.filename.startswith("/")


def test_what_may_not_be_had_is_refused_and_nothing_is_written(paper_home: Path, tmp_path: Path) -> None:
    archives = _archives(paper_home)
    household = next(i for i in archives if i.startswith("hh-"))
    unit = next(i for i in archives if i.startswith("un-"))
    outside = next(i for i, v in archives.items() if not v.archive.division.startswith("320105"))
    before = len(_uses(paper_home))
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "copy.zip"
    with Repository.open(paper_home) as repo:
        cases = [(READER, CopyRequest(household, "研究"), "DIP-WITHHELD"),  # restricted: catalogue entry only
                 (JIANYE, CopyRequest(outside, "研究"), "NOT-FOUND"),  # outside the scope: does not exist
                 (ADMIN, CopyRequest("hh-none", "研究"), "NOT-FOUND"),
                 (ADMIN, CopyRequest(unit, "  "), "DIP-PURPOSE"),
                 (ADMIN, CopyRequest(unit, "研究", (1, 99)), "DIP-ITEMS"),
                 (ADMIN, CopyRequest(unit, "研究", image_format="gif"), "DIP-FORMAT")]
        for who, req, code in cases:
            with pytest.raises(HsarError) as caught:
                access_copy_to(repo, who, req, out)
            assert caught.value.code == code
        assert list(folder.iterdir()) == []  # no zip, no partial file
        out.write_bytes(b"mine")
        with pytest.raises(AccessCopyError) as caught:
            access_copy_to(repo, ADMIN, CopyRequest(unit, "研究"), out)
        assert caught.value.code == "DIP-EXISTS" and out.read_bytes() == b"mine"
    assert len(_uses(paper_home)) == before


def test_the_command_line_makes_a_copy_for_an_account(paper_home: Path, tmp_path: Path) -> None:
    unit = next(i for i in _archives(paper_home) if i.startswith("un-"))
    out = tmp_path / "copy.zip"
    run = CliRunner().invoke(cli, ["--home", str(paper_home), "--lang", "en", "access-copy", unit, str(out),
                                   "--purpose", "学术研究", "--items", "1,2", "--user", "reader", "--json"])
    assert run.exit_code == 0, run.output
    shown = json.loads(run.output)
    assert shown["masked"] is True and shown["items"] == [1, 2] and out.is_file()
    assert "学术研究" in zipfile.ZipFile(out).read("README.txt").decode("utf-8")
    assert _uses(paper_home)[-1].username == "reader"
    again = CliRunner().invoke(cli, ["--home", str(paper_home), "access-copy", unit, str(tmp_path / "b.zip"),
                                     "--purpose", "x", "--items", "a"])
    assert again.exit_code == 2 and "Traceback" not in again.output
    nobody = CliRunner().invoke(cli, ["--home", str(paper_home), "access-copy", unit, str(tmp_path / "c.zip"),
                                      "--purpose", "x", "--user", "ghost"])
    assert nobody.exit_code == 1 and "DIP-USER" in nobody.output and not (tmp_path / "c.zip").exists()


def test_the_readme_gives_the_time_in_beijing_time(paper_home: Path) -> None:
    """The README said when the copy was made in UTC (``2026-01-02T03:04:05+00:00``): a researcher reads
    Beijing time, as every page shows it (found by the review of the access-copy pages)."""
    unit = next(v for i, v in _archives(paper_home).items() if i.startswith("un-"))
    copy, _ = _copy(paper_home, ADMIN, CopyRequest(unit.identifier, "维修核查"))
    readme = copy.read("README.txt").decode("utf-8")
    assert "2026-01-02T11:04:05+08:00" in readme and "+00:00" not in readme
