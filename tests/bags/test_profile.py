"""BagIt profile conformance (PRF001-PRF011) on real bags, checked through the bagit-profile library."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from repository.bags.profile import check_profile_documents, load_profile, validate_profile
from repository.bags.validate import validate_bag
from repository.bags.write import write_bag
from repository.descriptive import read_descriptive
from repository.resources import METADATA_DIR
from repository.sip.build import write_sip
from repository.sip.validate import validate_bag_dir

EXAMPLE = METADATA_DIR / "examples" / "household-valid.xml"


@pytest.fixture
def bag(tmp_path: Path) -> Path:
    archive = read_descriptive(EXAMPLE)
    payload = {f: f"content of {f}".encode() for f in archive.files()}
    return write_sip(archive, payload, tmp_path / "sip", source_organization="玄武区住房保障中心",
                     bagging_date=date(2024, 5, 6))


def _profile_codes(bag_dir: Path, profile: dict | None = None) -> list[str]:
    parsed = validate_bag(bag_dir)
    found = validate_profile(bag_dir, version=parsed.version, bag_info=parsed.bag_info,
                             payload_algorithms=parsed.payload_manifest_algorithms,
                             tag_algorithms=parsed.tag_manifest_algorithms, profile=profile)
    return sorted(i.code for i in found)


def _rewrite_info(bag_dir: Path, change: dict[str, str | list[str] | None]) -> None:
    parsed = validate_bag(bag_dir)
    info: dict[str, list[str]] = {}
    for key, value in parsed.bag_info:
        info.setdefault(key, []).append(value)
    for key, value in change.items():
        if value is None:
            info.pop(key, None)
        else:
            info[key] = value if isinstance(value, list) else [value]
    info.pop("Payload-Oxum", None)
    write_bag(bag_dir, info, algorithms=parsed.payload_manifest_algorithms)


def test_shipped_profiles_are_valid_profile_documents() -> None:
    assert check_profile_documents() == []


def test_built_sip_conforms(bag: Path) -> None:
    assert _profile_codes(bag) == []
    assert validate_bag_dir(bag).report.errors == []


@pytest.mark.parametrize(("change", "code"), [
    ({"Source-Organization": None}, "PRF001"),
    ({"Source-Organization": " "}, "PRF001"),  # present but saying nothing
    ({"Archive-Type": "garage"}, "PRF002"),
    ({"BagIt-Profile-Identifier": "https://example.org/other-profile.json"}, "PRF002"),
    ({"Division-Code": ["320102002", "320102003"]}, "PRF003"),
    ({"Package-Type": "box-of-papers"}, "PRF010"),
    ({"Package-Type": None}, "PRF010"),
])
def test_bag_info_rules(bag: Path, change: dict, code: str) -> None:
    _rewrite_info(bag, change)
    assert code in _profile_codes(bag)


def test_required_manifest_missing(bag: Path) -> None:
    profile = json.loads(json.dumps(load_profile("household-sip")))
    profile["Manifests-Required"] = ["sha256"]
    assert "PRF004" in _profile_codes(bag, profile)


def test_manifest_algorithm_not_allowed(bag: Path) -> None:
    parsed = validate_bag(bag)
    info = [(k, v) for k, v in parsed.bag_info if k != "Payload-Oxum"]
    for old in bag.glob("*manifest-*.txt"):
        old.unlink()
    write_bag(bag, dict(info), algorithms=("md5",))
    assert "PRF005" in _profile_codes(bag)


def test_tag_manifest_required(bag: Path) -> None:
    for tagmanifest in bag.glob("tagmanifest-*.txt"):
        tagmanifest.unlink()
    assert "PRF006" in _profile_codes(bag)


def test_required_tag_file_missing(bag: Path) -> None:
    (bag / "metadata" / "descriptive.xml").unlink()
    assert "PRF007" in _profile_codes(bag)


def test_fetch_not_allowed(bag: Path) -> None:
    (bag / "fetch.txt").write_text("https://example.org/a 10 data/a\n", "utf-8")
    assert "PRF008" in _profile_codes(bag)


def test_bagit_version_not_accepted(bag: Path) -> None:
    (bag / "bagit.txt").write_text("BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n", "utf-8")
    assert "PRF009" in _profile_codes(bag)


def test_tag_file_not_allowed(bag: Path) -> None:
    (bag / "notes.txt").write_text("a tag file the profile does not allow\n", "utf-8")
    assert "PRF011" in _profile_codes(bag)
