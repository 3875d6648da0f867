"""BagIt as its specifications say: drafts 0.93-0.97 by their own rules, manifest lines old tools write,
holey bags (fetch.txt), and "should" rules as warnings. The repository's own policy (versions, algorithms,
fetch.txt) stays in the full SIP validation with its own codes (PRF005, PRF009, BAG021)."""

from __future__ import annotations

import hashlib
import unicodedata
from pathlib import Path

import pytest

from repository.bags.validate import validate_bag
from repository.bags.write import write_bag
from repository.sip.validate import validate_bag_dir

PAYLOAD = {"data/a.txt": b"alpha", "data/sub/b.txt": b"bravo bravo", "data/住房/申请书.txt": "申请".encode()}


def build(root: Path, files: dict[str, bytes] | None = None, algorithms=("sha256", "sha512")) -> Path:
    bag = root / "bag"
    (bag / "data").mkdir(parents=True)
    for rel, data in (PAYLOAD if files is None else files).items():
        (bag / rel).parent.mkdir(parents=True, exist_ok=True)
        (bag / rel).write_bytes(data)
    write_bag(bag, {"Source-Organization": "示范市住房保障中心", "Package-Type": "household-sip"},
              algorithms=algorithms)
    return bag


def digest(alg: str, data: bytes) -> str:
    return hashlib.new(alg, data).hexdigest()


def write_manifest(bag: Path, alg: str, lines: list[str], *, tag: bool = False, encoding: str = "utf-8") -> None:
    name = f"{'tag' if tag else ''}manifest-{alg}.txt"
    (bag / name).write_bytes("".join(line + "\n" for line in lines).encode(encoding))


def retag(bag: Path, encoding: str = "utf-8") -> None:
    """Tag manifests over the current tag files, written as plainly as an old tool would."""
    for path in bag.glob("tagmanifest-*.txt"):
        alg = path.name[len("tagmanifest-"):-4]
        tags = sorted(p.relative_to(bag).as_posix() for p in bag.rglob("*") if p.is_file()
                      and p.relative_to(bag).parts[0] != "data" and not p.name.startswith("tagmanifest-"))
        write_manifest(bag, alg, [f"{digest(alg, (bag / t).read_bytes())}  {t}" for t in tags], tag=True,
                       encoding=encoding)


# --- versions 0.93-0.97 ------------------------------------------------------------------------------------

LEGACY = {  # version -> (bag metadata file, bagit.txt has the encoding line, tag file encoding)
    "0.93": ("package-info.txt", False, "utf-8"),
    "0.94": ("package-info.txt", False, "utf-8"),
    "0.95": ("package-info.txt", True, "utf-16"),
    "0.96": ("bag-info.txt", True, "iso-8859-1"),
    "0.97": ("bag-info.txt", True, "utf-8"),
}


def make_legacy(root: Path, version: str) -> Path:
    info_name, encoding_line, codec = LEGACY[version]
    files = {"data/a.txt": b"alpha", "data/caf\u00e9 50%25 off.txt": b"cafe", "data/sub/b.txt": b"b"}
    bag = build(root, files, algorithms=("md5",))
    for name in ("bag-info.txt", "tagmanifest-md5.txt", "manifest-md5.txt"):
        (bag / name).unlink()
    declaration = f"BagIt-Version: {version}\n" + (f"Tag-File-Character-Encoding: {codec.upper()}\n"
                                                   if encoding_line else "")
    (bag / "bagit.txt").write_bytes(declaration.encode())
    (bag / info_name).write_bytes("Source-Organization :  Café Archive  \nPackage-Type: household-sip\nPayload-Oxum: 10.3\n".encode(codec))
    # md5sum -b style lines ("*path"), and a path with a literal %25: old bags never percent-encode
    lines = [f"{digest('md5', data)} *{path}" for path, data in sorted(files.items())]
    write_manifest(bag, "md5", lines, encoding=codec)
    (bag / "tagmanifest-md5.txt").write_bytes(b"")
    retag(bag, codec)
    return bag


@pytest.mark.parametrize("version", sorted(LEGACY))
def test_legacy_versions_are_valid_by_their_own_rules_with_a_warning(tmp_path, version):
    bag = make_legacy(tmp_path, version)
    result = validate_bag(bag)
    assert result.codes() == {"BAG028", "BAG019"}, [(i.code, i.path, i.message_in("en")) for i in result.issues]
    assert result.valid and result.complete and result.version == version
    assert result.info("source-organization") == ["Café Archive"]
    assert "data/caf\u00e9 50%25 off.txt" in result.payload
    full = validate_bag_dir(bag).report.codes()  # the repository's policy: it ingests BagIt 1.0 only
    assert {"BAG028", "PRF009"} <= full


def test_a_legacy_bag_that_is_broken_is_still_invalid(tmp_path):
    bag = make_legacy(tmp_path, "0.93")
    (bag / "data/a.txt").write_bytes(b"ALPHA")
    (bag / "bagit.txt").write_bytes(b"BagIt-Version: 0.93\nNot-A-Line: 1\n")
    retag(bag)
    assert validate_bag(bag).codes() == {"BAG002", "BAG011", "BAG019", "BAG028"}


# --- manifest lines old tools write; names --------------------------------------------------------------


def test_dot_slash_paths_and_md5sum_binary_marks_are_read(tmp_path):
    bag = build(tmp_path, algorithms=("sha256",))
    lines = [f"{digest('sha256', d)} *{p}" if i % 2 else f"{digest('sha256', d)}  ./{p}"
             for i, (p, d) in enumerate(sorted(PAYLOAD.items()))]
    write_manifest(bag, "sha256", lines)
    retag(bag)
    result = validate_bag(bag)
    assert result.issues == () and set(result.payload) == set(PAYLOAD)


def test_a_bag_inside_the_payload_and_names_with_spaces_and_percent_signs(tmp_path):
    inner = build(tmp_path / "inner", {"data/x.txt": b"x"})
    files = {f"data/inner bag/{p.relative_to(inner).as_posix()}": p.read_bytes()
             for p in inner.rglob("*") if p.is_file()}
    files |= {"data/my file.txt": b"1", "data/100%25 done %20.txt": b"2"}
    bag = build(tmp_path / "outer", files)
    manifest = (bag / "manifest-sha256.txt").read_text("utf-8")
    assert "data/100%2525 done %2520.txt" in manifest and "data/inner bag/manifest-sha256.txt" in manifest
    result = validate_bag(bag)
    assert result.issues == () and set(result.payload) == set(files)


# --- holey bags ------------------------------------------------------------------------------------------


def test_a_holey_bag_is_not_complete_and_says_so(tmp_path):
    bag = build(tmp_path)
    (bag / "data/a.txt").unlink()
    (bag / "fetch.txt").write_bytes(b"https://example.org/a.txt 5 data/a.txt\n")
    retag(bag)
    result = validate_bag(bag)
    assert result.codes() == {"BAG029"} and not result.complete and not result.valid  # not BAG009
    assert result.holes == ("data/a.txt",)
    (bag / "data/a.txt").write_bytes(b"alpha")  # fetched: a complete, valid bag with fetch.txt
    fetched = validate_bag(bag)
    assert fetched.issues == () and fetched.complete
    assert "BAG021" in validate_bag_dir(bag).report.codes()  # policy: a SIP must hold every file itself
    assert "BAG021" not in validate_bag_dir(bag, bagit_only=True).report.codes()


def test_a_bad_fetch_line_is_reported(tmp_path):
    bag = build(tmp_path)
    (bag / "fetch.txt").write_bytes(b"https://example.org/b.txt eleven data/sub/b.txt\nhttps://x 1 bagit.txt\n")
    retag(bag)
    assert validate_bag(bag).codes() == {"BAG014", "BAG008"}


# --- "should": warnings, not errors ------------------------------------------------------------------------


@pytest.mark.parametrize("names", [("data/Report.txt", "data/report.txt"),
                                   ("data/caf\u00e9.txt", unicodedata.normalize("NFD", "data/caf\u00e9.txt"))])
def test_names_that_differ_only_in_case_or_normalisation_warn(tmp_path, names):
    bag = build(tmp_path, {names[0]: b"1", names[1]: b"2"})
    result = validate_bag(bag)
    assert result.codes() == {"BAG025"} and result.valid and len(result.payload) == 2


def test_os_files_warn_and_unlisted_ones_are_left_out(tmp_path):
    bag = build(tmp_path, {**PAYLOAD, "data/sub/Thumbs.db": b"listed"})
    (bag / "data/.DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (bag / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    result = validate_bag(bag)
    assert result.valid and result.codes() == {"BAG030"}
    assert sorted(i.path for i in result.issues) == [".DS_Store", "data/.DS_Store", "data/sub/Thumbs.db"]
    assert "data/.DS_Store" not in result.payload and "data/sub/Thumbs.db" in result.payload
    assert ".DS_Store" not in result.tag_files


@pytest.mark.parametrize("alg", ["md5", "sha1"])
def test_weak_algorithms_warn_and_policy_refuses_them(tmp_path, alg):
    bag = build(tmp_path, algorithms=(alg,))
    result = validate_bag(bag)
    assert result.codes() == {"BAG019"} and result.valid
    assert "PRF005" in validate_bag_dir(bag).report.codes()
