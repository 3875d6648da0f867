"""``hsar demo-data``: deterministic, realistic demo SIPs that validate, and one failing SIP per defect class."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from repository import descriptive
from repository.demo import people as demo_people
from repository.demo.defects import DEFECTS
from repository.demo.generate import write_demo_data
from repository.description.rules import check_resident_id, id_check_character
from repository.divisions import default_tree
from repository.errors import IngestError
from repository.model import ArchiveType, PackageType, Status
from repository.sip.validate import validate_sip

SEED = 11


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "sips"
    write_demo_data(out, households=5, units=3, seed=SEED, defects=True)
    return out


@pytest.fixture(scope="module")
def manifest(demo: Path) -> dict:
    return json.loads((demo / "demo_manifest.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def sips(manifest: dict) -> list[dict]:
    return [e for e in manifest["sips"] if e["kind"] != "defect"]


def _archive(demo: Path, entry: dict):
    return descriptive.parse((demo / entry["path"] / "metadata" / "descriptive.xml").read_bytes())


def _digests(root: Path) -> dict[str, str]:
    found = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_symlink():
            found[rel] = "link:" + str(p.readlink())
        elif p.is_file():
            found[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return found


def test_same_seed_gives_the_same_bytes(demo: Path, tmp_path: Path) -> None:
    write_demo_data(tmp_path / "again", households=5, units=3, seed=SEED, defects=True)
    assert _digests(tmp_path / "again") == _digests(demo)


def test_another_seed_gives_other_archives(demo: Path, tmp_path: Path) -> None:
    write_demo_data(tmp_path / "other", households=2, units=1, seed=SEED + 1)
    other = json.loads((tmp_path / "other" / "demo_manifest.json").read_text("utf-8"))
    first = json.loads((demo / "demo_manifest.json").read_text("utf-8"))
    assert [e["path"] for e in other["sips"]] != [e["path"] for e in first["sips"]][: len(other["sips"])]


def test_every_demo_sip_validates_without_errors(demo: Path, sips: list[dict]) -> None:
    kinds = {e["kind"] for e in sips}
    assert kinds == {"unit", "household", "supplement"}
    for entry in sips:
        report = validate_sip(demo / entry["path"]).report
        assert report.errors == [], (entry["path"], [i.to_dict("en") for i in report.errors])


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.code)
def test_each_defect_sip_fails_with_its_code(demo: Path, manifest: dict, defect) -> None:
    entry = next(e for e in manifest["sips"] if e.get("expected") == defect.code)
    assert entry["path"] == f"defects/{defect.code}-{defect.name}{defect.suffix}"
    report = validate_sip(demo / entry["path"]).report
    assert not report.valid
    errors = {i.code for i in report.errors}
    assert errors == {defect.code, *entry.get("also", [])}, [i.to_dict("en") for i in report.errors]


def test_manifest_lists_every_sip(demo: Path, manifest: dict) -> None:
    listed = {e["path"] for e in manifest["sips"]}
    on_disk = {p.name for p in demo.iterdir() if p.name not in ("demo_manifest.json", "defects")}
    on_disk |= {f"defects/{p.name}" for p in (demo / "defects").iterdir()}
    assert listed == on_disk
    assert len({d.code for d in DEFECTS}) == len(DEFECTS)


def test_folder_names_sort_in_ingest_order(demo: Path, sips: list[dict]) -> None:
    paths = [e["path"] for e in sips]
    assert paths == sorted(paths)
    kinds = [e["kind"] for e in sips]
    assert kinds == sorted(kinds, key=["unit", "household", "supplement"].index)
    seen: dict[str, int] = {}
    for entry in sips:
        if entry["kind"] != "supplement":
            seen[entry["archive"]] = 1
            continue
        assert entry["supplement_of"] == entry["archive"] and entry["archive"] in seen, entry["path"]
        assert entry["version"] == seen[entry["archive"]] + 1 and entry["path"].endswith(f"-v{entry['version']}")
        seen[entry["archive"]] = entry["version"]


def test_supplements_continue_the_original(demo: Path, sips: list[dict]) -> None:
    last: dict[str, tuple[int, str]] = {}
    supplements = 0
    for entry in sips:
        a = _archive(demo, entry)
        numbers = [i.number for i in a.items]
        if a.package_type is PackageType.SUPPLEMENT_SIP:
            supplements += 1
            previous, volume = last[a.identifier]
            assert numbers[0] == previous + 1
            assert a.supplement_of.original_volume == volume == a.volume.original_volume
            assert a.volume.separately_filed and a.volume.number != volume
        else:
            assert numbers[0] == 1
            last[a.identifier] = (0, a.volume.number)
        last[a.identifier] = (numbers[-1], last[a.identifier][1])
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    assert supplements >= 2


def test_paper_references_are_consistent(demo: Path, sips: list[dict]) -> None:
    for entry in sips:
        a = _archive(demo, entry)
        page = 1
        assert a.reference_code.startswith(f"{a.fonds}-") and f"·{a.year}-" in a.reference_code
        for item in a.items:
            p = item.paper
            assert (p.volume, p.catalogue, p.box, p.shelf) == (a.volume.number, a.volume.catalogue, a.volume.box,
                                                               a.volume.shelf)
            assert p.item == item.number and p.page_start == page and p.page_end == page + item.pages - 1
            page = p.page_end + 1


def test_people_and_places_are_real(demo: Path, sips: list[dict]) -> None:
    tree = default_tree()
    ids = []
    for entry in sips:
        a = _archive(demo, entry)
        assert a.division in tree and tree.get(a.division).level == "street"
        assert tree.contains("320100", a.division)
        district = tree.get(a.division[:6]).name
        if a.household is not None:
            ids += [a.household.head.resident_id] + [m.resident_id for m in a.household.members]
            assert district in a.household.address and tree.get(a.division).name in a.household.address
            assert 2 <= len(a.household.head.name) <= 3
        if a.unit is not None:
            assert district in a.unit.address and a.type is ArchiveType.UNIT
    assert ids and all(check_resident_id(i) for i in ids)
    assert all(i[:2] in ("32", "34") for i in ids)


def test_resident_id_check_characters_agree_with_the_rule() -> None:
    rng = random.Random(5)
    for _ in range(200):
        first17 = "".join(str(rng.randrange(10)) for _ in range(17))
        assert demo_people.check_character(first17) == id_check_character(first17)
    person = demo_people.citizen(rng, sex="F", birth_year=1980)
    assert int(person.resident_id[16]) % 2 == 0 and person.resident_id[6:10] == "1980"


def test_household_unit_links_agree_on_both_sides(demo: Path, sips: list[dict]) -> None:
    links: dict[tuple[str, str], dict] = {}
    for entry in sips:
        a = _archive(demo, entry)
        for r in a.relations:
            pair = (a.identifier, r.target) if r.type == "occupies" else (r.target, a.identifier)
            links.setdefault(pair, {})[(r.type, r.start)] = r.end
    assert links
    for (household, unit), seen in links.items():
        starts = {start for _, start in seen}
        assert {t for t, _ in seen} == {"occupies", "occupiedBy"}, (household, unit)
        assert len(starts) == 1
        ends = {seen[k] for k in seen} - {None}
        assert len(ends) <= 1


def test_one_household_exits(demo: Path, sips: list[dict]) -> None:
    exits = [a for a in (_archive(demo, e) for e in sips if e["kind"] == "supplement")
             if a.household is not None and a.household.status.status is Status.EXITED]
    assert len(exits) == 1
    exit_ = exits[0]
    assert exit_.end == exit_.household.status.since
    assert any(i.subtype == "退出" for i in exit_.items)


def test_documents_are_real_files(demo: Path, sips: list[dict]) -> None:
    formats = set()
    for entry in sips:
        a = _archive(demo, entry)
        for item in a.items:
            path = demo / entry["path"] / item.files[0]
            assert 1_000 < path.stat().st_size < 400_000
            suffix = path.suffix
            formats.add(suffix)
            if suffix == ".pdf":
                reader = PdfReader(path)
                assert len(reader.pages) == item.pages
                assert reader.metadata.title
            else:
                with Image.open(path) as image:
                    assert getattr(image, "n_frames", 1) == item.pages
                    if suffix == ".tif":
                        assert image.mode == "1" and image.info.get("compression") == "group4"
            if item.subtype == "申请书":
                text = "".join(page.extract_text() for page in PdfReader(path).pages)
                assert a.household.head.name in text and "申请书" in text
    assert formats == {".pdf", ".tif", ".jpg"}


def test_sips_are_small(demo: Path, sips: list[dict]) -> None:
    for entry in sips:
        size = sum(p.stat().st_size for p in (demo / entry["path"]).rglob("*") if p.is_file())
        assert 3_000 < size < 1_500_000, entry["path"]


def test_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(IngestError) as caught:
        write_demo_data(tmp_path, households=1, units=0, seed=1)
    assert caught.value.code == "DEMO-EXISTS"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_no_units_means_everyone_waits_or_gets_a_subsidy(tmp_path: Path) -> None:
    paths = write_demo_data(tmp_path / "out", households=3, units=0, seed=2)
    for path in paths:
        a = descriptive.parse((path / "metadata" / "descriptive.xml").read_bytes())
        assert not a.relations
        if a.household.status.status is not Status.WAITING:
            assert a.household.security_type == "租金补贴"
