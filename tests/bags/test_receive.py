"""Safe intake of SIPs: zip/tar/dir packages built in tmp_path, hostile ones built byte by byte.

``CASES`` maps each hostile package to the exact PKG codes it must raise; together they cover every PKG code.
Each refused package must leave the staging directory as it was (absent) and write nothing anywhere.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from repository import config
from repository.bags import unpack
from repository.bags import validate as bag_module
from repository.bags.receive import Limits, Received, detect_kind, inspect_archive, open_package, receive
from repository.bags.validate import validate_bag
from repository.bags.write import write_bag
from repository.codes import catalogue
from repository.errors import IngestError, UnsafePackageError

PAYLOAD = {"data/a.txt": b"alpha", "data/住房/申请书.txt": "申请".encode(), "data/empty.bin": b""}
LIMITS = Limits(max_unpacked_bytes=10 * 1024 * 1024, max_ratio=200, max_members=1000)


def make_bag(root: Path, payload: dict[str, bytes] | None = None, algorithms=("sha256", "sha512")) -> Path:
    bag = root / "src" / "mybag"
    (bag / "data").mkdir(parents=True)
    for rel, data in (PAYLOAD if payload is None else payload).items():
        (bag / rel).parent.mkdir(parents=True, exist_ok=True)
        (bag / rel).write_bytes(data)
    write_bag(bag, {"Source-Organization": "示范市"}, algorithms=algorithms)
    return bag


def bag_members(bag: Path, prefix: str = "mybag/") -> list[tuple[str, bytes]]:
    return [(prefix + p.relative_to(bag).as_posix(), p.read_bytes())
            for p in sorted(bag.rglob("*")) if p.is_file()]


def write_zip(path: Path, members: list[tuple[str, bytes]], extra: Callable[[zipfile.ZipFile], None] | None = None,
              compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members:
            archive.writestr(name, data)
        if extra:
            extra(archive)
    return path


def write_tar(path: Path, members: list[tuple[str, bytes]], extra: list[tarfile.TarInfo] = (), mode="w:gz",
              fmt=tarfile.PAX_FORMAT) -> Path:
    with tarfile.open(path, mode, format=fmt) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for info in extra:
            archive.addfile(info, io.BytesIO(b"x" * info.size) if info.isreg() else None)
    return path


def tar_entry(name: str, kind: bytes = tarfile.REGTYPE, size: int = 0, link: str = "", pax=None) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, size, link
    if pax:
        info.pax_headers = pax
    return info


# --- hostile packages -----------------------------------------------------------------------------------


def zip_with(*names: str, data: bytes = b"x", attrs: int | None = None):
    def build(root: Path) -> Path:
        bag = make_bag(root)

        def add(archive):
            for name in names:
                info = zipfile.ZipInfo(name)
                if attrs is not None:
                    info.external_attr = attrs << 16
                archive.writestr(info, data)
        return write_zip(root / "p.zip", bag_members(bag), add)
    return build


def tar_with(*entries: tarfile.TarInfo, mode="w:gz"):
    def build(root: Path) -> Path:
        return write_tar(root / "p.tar", bag_members(make_bag(root)), list(entries), mode=mode)
    return build


def _text_file(root):
    (root / "p.zip").write_text("just text, whatever the extension says")
    return root / "p.zip"


def _seven_zip(root):
    (root / "p.7z").write_bytes(b"7z\xbc\xaf\x27\x1c" + bytes(600))
    return root / "p.7z"


def _gzip_not_tar(root):
    import gzip
    (root / "p.tar.gz").write_bytes(gzip.compress(b"not a tar " * 100))
    return root / "p.tar.gz"


def _zip_bomb(root):
    return write_zip(root / "p.zip", [*bag_members(make_bag(root)), ("mybag/data/zeros.bin", bytes(5 << 20))])


def _tar_gz_bomb(root):
    return write_tar(root / "p.tgz", [*bag_members(make_bag(root)), ("mybag/data/zeros.bin", bytes(5 << 20))])


def _too_many(root):
    return write_zip(root / "p.zip", [*bag_members(make_bag(root)), *((f"mybag/data/{i}", b"") for i in range(5))])


def _truncated_zip(root):
    path = write_zip(root / "p.zip", bag_members(make_bag(root)))
    path.write_bytes(path.read_bytes()[:-30])
    return path


def _truncated_tar(root):
    path = write_tar(root / "p.tar", [*bag_members(make_bag(root)), ("mybag/data/big", os.urandom(20000))],
                     mode="w")
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b"mybag/data/big") + 512 + 5000])  # header promises more than follows
    return path


def _tar_bad_header_midway(root):
    path = write_tar(root / "p.tar", [*bag_members(make_bag(root)), ("mybag/data/z.txt", b"z")], mode="w")
    data = bytearray(path.read_bytes())
    at = data.index(b"mybag/data/z.txt")
    data[at + 6] ^= 0x20  # the header checksum no longer matches: tarfile alone would just stop here
    path.write_bytes(bytes(data))
    return path


def _tar_huge_pax_header(root):
    return tar_with(tar_entry("mybag/data/x", tarfile.XHDTYPE, size=2 << 20), mode="w")(root)


def _encrypted_zip(root):
    path = write_zip(root / "p.zip", bag_members(make_bag(root)), compression=zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 0x1  # general purpose flag bit 0: encrypted
    path.write_bytes(bytes(data))
    return path


def _two_roots(root):
    bag = make_bag(root)
    return write_zip(root / "p.zip", [*bag_members(bag), *bag_members(bag, "other/")])


def _no_bagit(root):
    return write_zip(root / "p.zip", [("mybag/data/a.txt", b"a")])


def _dir_no_bagit(root):
    (root / "plain" / "x").mkdir(parents=True)
    (root / "plain" / "y").mkdir()
    return root / "plain"


def _dir_with(kind: str):
    def build(root: Path) -> Path:
        bag = make_bag(root)
        if kind == "symlink":
            (bag / "data" / "link").symlink_to("/etc/hostname")
        else:
            os.mkfifo(bag / "data" / "pipe")
        return bag
    return build


def _file_and_folder(root):
    bag = make_bag(root)
    return write_zip(root / "p.zip", [*bag_members(bag), ("mybag/data/a.txt/inner", b"x")])


def _lying_size(root):
    """Central directory says 10 bytes; the deflate stream holds 200 000 (zipfile stops at 10, CRC fails)."""
    path = write_zip(root / "p.zip", [*bag_members(make_bag(root)), ("mybag/data/z.bin", bytes(200_000))])
    return _patch_zip_size(path, "mybag/data/z.bin", 10)


def _patch_zip_size(path: Path, name: str, size: int) -> Path:
    data = bytearray(path.read_bytes())
    central = 0
    while True:
        central = data.index(b"PK\x01\x02", central)
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46: central + 46 + name_len] == name.encode():
            struct.pack_into("<I", data, central + 24, size)
            break
        central += 4
    path.write_bytes(bytes(data))
    return path


def _claims_huge(root):
    path = write_zip(root / "p.zip", [*bag_members(make_bag(root)), ("mybag/data/z.bin", b"z" * 100)])
    return _patch_zip_size(path, "mybag/data/z.bin", 3 << 30)


S_LNK, S_FIFO = stat.S_IFLNK | 0o777, stat.S_IFIFO | 0o644
Builder = Callable[[Path], Path]
CASES: dict[str, tuple[Builder, Limits, set[str]]] = {
    "text_named_zip": (_text_file, LIMITS, {"PKG001"}),
    "seven_zip": (_seven_zip, LIMITS, {"PKG001"}),
    "gzip_not_tar": (_gzip_not_tar, LIMITS, {"PKG001"}),
    "zip_absolute": (zip_with("/etc/passwd"), LIMITS, {"PKG002"}),
    "zip_drive_letter": (zip_with("C:\\Windows\\evil.dll"), LIMITS, {"PKG002"}),
    "zip_unc_path": (zip_with("\\\\server\\share\\x"), LIMITS, {"PKG002"}),
    "tar_absolute": (tar_with(tar_entry("/tmp/evil", size=1)), LIMITS, {"PKG002"}),
    "zip_dotdot": (zip_with("mybag/../../evil"), LIMITS, {"PKG003"}),
    "zip_backslash_dotdot": (zip_with("..\\evil.txt"), LIMITS, {"PKG003"}),
    "tar_dotdot": (tar_with(tar_entry("../evil", size=1)), LIMITS, {"PKG003"}),
    "zip_symlink": (zip_with("mybag/data/link", data=b"/etc/passwd", attrs=S_LNK), LIMITS, {"PKG004"}),
    "zip_fifo": (zip_with("mybag/data/fifo", attrs=S_FIFO), LIMITS, {"PKG004"}),
    "tar_symlink": (tar_with(tar_entry("mybag/data/link", tarfile.SYMTYPE, link="/etc/passwd")), LIMITS, {"PKG004"}),
    "tar_hardlink": (tar_with(tar_entry("mybag/data/hard", tarfile.LNKTYPE, link="mybag/bagit.txt")), LIMITS,
                     {"PKG004"}),
    "tar_fifo": (tar_with(tar_entry("mybag/data/fifo", tarfile.FIFOTYPE)), LIMITS, {"PKG004"}),
    "tar_device": (tar_with(tar_entry("mybag/data/dev", tarfile.CHRTYPE)), LIMITS, {"PKG004"}),
    "dir_symlink": (_dir_with("symlink"), LIMITS, {"PKG004"}),
    "dir_fifo": (_dir_with("fifo"), LIMITS, {"PKG004"}),
    "zip_over_size_limit": (lambda r: write_zip(r / "p.zip", bag_members(make_bag(r))), Limits(100, 200, 1000),
                            {"PKG005"}),
    "tar_over_size_limit": (tar_with(), Limits(100, 200, 1000), {"PKG005"}),
    # a header claiming more than the limit is also, against the file's real size, a ratio over the limit
    "zip_header_claims_huge": (_claims_huge, LIMITS, {"PKG005", "PKG006"}),
    "tar_pax_claims_huge": (tar_with(tar_entry("mybag/data/x", size=1, pax={"size": str(10**12)}), mode="w"),
                            LIMITS, {"PKG005", "PKG006"}),
    "zip_bomb": (_zip_bomb, LIMITS, {"PKG006"}),
    "tar_gz_bomb": (_tar_gz_bomb, LIMITS, {"PKG006"}),
    "too_many_members": (_too_many, Limits(10 << 20, 200, 8), {"PKG007"}),
    "tar_too_many_members": (tar_with(*(tar_entry(f"mybag/data/{i}") for i in range(10))), Limits(10 << 20, 200, 8),
                             {"PKG007"}),
    "zip_truncated": (_truncated_zip, LIMITS, {"PKG008"}),
    "tar_truncated": (_truncated_tar, LIMITS, {"PKG008"}),
    "tar_bad_header_midway": (_tar_bad_header_midway, LIMITS, {"PKG008"}),
    "tar_huge_pax_header": (_tar_huge_pax_header, LIMITS, {"PKG008"}),
    "zip_encrypted": (_encrypted_zip, LIMITS, {"PKG008"}),
    "zip_lying_smaller_size": (_lying_size, LIMITS, {"PKG008"}),
    "zip_two_roots": (_two_roots, LIMITS, {"PKG009"}),
    "zip_no_bagit": (_no_bagit, LIMITS, {"PKG009"}),
    "dir_no_bagit": (_dir_no_bagit, LIMITS, {"PKG009"}),
    "zip_duplicate": (zip_with("mybag/data/a.txt"), LIMITS, {"PKG010"}),
    "tar_duplicate": (tar_with(tar_entry("mybag/data/a.txt", size=1)), LIMITS, {"PKG010"}),
    "zip_file_and_folder": (_file_and_folder, LIMITS, {"PKG010"}),
}


def refusal_codes(path: Path, staging: Path, limits: Limits) -> set[str]:
    with pytest.raises(UnsafePackageError) as caught:
        receive(path, staging, limits=limits)
    assert caught.value.issues and all(i.code.startswith("PKG") for i in caught.value.issues)
    return {i.code for i in caught.value.issues}


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_package_is_refused_and_nothing_is_written(tmp_path, name):
    build, limits, expected = CASES[name]
    path = build(tmp_path)
    staging = tmp_path / "staging"
    assert refusal_codes(path, staging, limits) == expected
    assert not staging.exists()
    temp_parent = tmp_path / "tmp"
    temp_parent.mkdir()
    if expected & {"PKG004", "PKG009"} and path.is_dir():
        return  # open_package reads a directory in place; validation reports links (BAG027) or BAG001
    with pytest.raises(UnsafePackageError), open_package(path, limits, temp_parent):
        pass
    assert list(temp_parent.iterdir()) == []


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("name", sorted(n for n in CASES if "lying" not in n and not n.startswith("dir_")))
def test_inspect_archive_refuses_from_the_member_list_alone(tmp_path, name):
    build, limits, expected = CASES[name]
    path = build(tmp_path)
    if expected == {"PKG001"}:
        with pytest.raises(UnsafePackageError):
            inspect_archive(path, limits)
        return
    assert {i.code for i in inspect_archive(path, limits)} == expected


def test_every_pkg_code_has_a_case():
    covered = set().union(*(codes for _, _, codes in CASES.values()))
    assert {c for c in catalogue() if c.startswith("PKG")} <= covered


def test_member_paths_are_reported_as_given(tmp_path):
    issues = inspect_archive(zip_with("/etc/passwd", "../x")(tmp_path), LIMITS)
    assert {(i.code, dict(i.params)["member"]) for i in issues} == {("PKG002", "/etc/passwd"), ("PKG003", "../x")}


# --- limits enforced while extracting, whatever the headers said ---------------------------------------


def test_size_limit_holds_even_when_the_headers_lie(tmp_path, monkeypatch):
    bag = make_bag(tmp_path, {"data/big.bin": os.urandom(50_000)})
    path = write_zip(tmp_path / "p.zip", bag_members(bag))
    monkeypatch.setattr(unpack, "_check_totals", lambda survey, limits: None)  # as if every header lied
    written = []
    real = unpack.hash_stream
    monkeypatch.setattr(unpack, "hash_stream", lambda *a, **k: written.append(k["limit"]) or real(*a, **k))
    staging = tmp_path / "staging"
    assert refusal_codes(path, staging, Limits(20_000, 200, 1000)) == {"PKG005"}
    assert not staging.exists() and written and min(written) >= 0


def test_a_tar_member_must_deliver_exactly_its_declared_size(tmp_path, monkeypatch):
    path = write_tar(tmp_path / "p.tar", bag_members(make_bag(tmp_path)), mode="w")
    survey = unpack.survey(path, "tar", LIMITS)
    lie = next(m for m in survey.members if m.name.endswith("data/a.txt"))
    survey.members[survey.members.index(lie)] = unpack.Member(lie.index, lie.raw, lie.name, False, 3)
    with pytest.raises(UnsafePackageError) as caught:
        unpack.extract(path, survey, tmp_path / "out", ("sha256",), LIMITS)
    assert {i.code for i in caught.value.issues} == {"PKG008"}


# --- receiving good packages -----------------------------------------------------------------------------


def package(tmp_path: Path, kind: str) -> Path:
    bag = make_bag(tmp_path)
    if kind == "dir":
        return bag
    if kind == "zip":
        return write_zip(tmp_path / "sip.zip", bag_members(bag))
    if kind == "zip-flat":
        return write_zip(tmp_path / "sip.zip", bag_members(bag, prefix=""))
    if kind == "zip-macos":
        return write_zip(tmp_path / "sip.zip", [*bag_members(bag), ("__MACOSX/mybag/._bagit.txt", b"junk")])
    mode = {"tar": "w", "tar.gz": "w:gz", "tar.bz2": "w:bz2", "tar.xz": "w:xz"}[kind]
    return write_tar(tmp_path / f"sip.{kind}", bag_members(bag), mode=mode)


@pytest.mark.parametrize("kind", ["dir", "zip", "zip-flat", "zip-macos", "tar", "tar.gz", "tar.bz2", "tar.xz"])
def test_receive_hashes_once_and_validation_reads_nothing_again(tmp_path, kind, monkeypatch):
    path = package(tmp_path, kind)
    assert inspect_archive(path, LIMITS) == []
    received = receive(path, tmp_path / "staging", limits=LIMITS)
    assert isinstance(received, Received) and received.kind == kind.split("-")[0].split(".")[0]
    assert received.bag_dir == tmp_path / "staging" / "bag"
    assert set(received.files) == {p.relative_to(received.bag_dir).as_posix()
                                   for p in received.bag_dir.rglob("*") if p.is_file()}
    assert not (received.bag_dir / "__MACOSX").exists() and not (tmp_path / "staging/__MACOSX").exists()
    size, digests = received.files["data/a.txt"]
    assert size == 5 and set(digests) == {"sha256", "sha512"}
    jobs = []
    real = bag_module.iter_hash_jobs
    monkeypatch.setattr(bag_module, "iter_hash_jobs", lambda j, workers=2: real(jobs.extend(j) or jobs, workers))
    result = validate_bag(received.bag_dir, known=received.files)
    assert result.issues == () and jobs == []
    assert "data/住房/申请书.txt" in result.payload


def test_receive_adds_the_bags_own_manifest_algorithms(tmp_path):
    bag = make_bag(tmp_path, algorithms=("md5", "sha1"))
    received = receive(bag, tmp_path / "staging", limits=LIMITS, algorithms=("sha512",))
    assert set(received.files["data/a.txt"][1]) == {"sha512", "md5", "sha1"}


def test_receive_keeps_mtime_and_empty_folders(tmp_path):
    bag = make_bag(tmp_path)
    (bag / "data" / "empty").mkdir()
    os.utime(bag / "data/a.txt", (1_500_000_000, 1_500_000_000))
    received = receive(bag, tmp_path / "staging", limits=LIMITS)
    assert int((received.bag_dir / "data/a.txt").stat().st_mtime) == 1_500_000_000
    assert (received.bag_dir / "data/empty").is_dir()
    assert validate_bag(received.bag_dir, known=received.files).codes() == {"BAG026"}


def test_staging_must_be_empty_and_is_left_alone_on_refusal(tmp_path):
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "other").write_text("keep")
    with pytest.raises(IngestError):
        receive(make_bag(tmp_path), staging, limits=LIMITS)
    assert (staging / "other").read_text() == "keep"
    (staging / "other").unlink()
    (tmp_path / "bomb").mkdir()
    with pytest.raises(UnsafePackageError):
        receive(_zip_bomb(tmp_path / "bomb"), staging, limits=LIMITS)
    assert staging.is_dir() and list(staging.iterdir()) == []


def test_staging_inside_the_source_is_refused(tmp_path):
    bag = make_bag(tmp_path)
    with pytest.raises(IngestError):
        receive(bag, bag / "data" / "staging", limits=LIMITS)
    assert not (bag / "data" / "staging").exists()


def test_gbk_names_in_a_zip_without_the_utf8_flag(tmp_path):
    """Windows Explorer stores Chinese names in GBK without the UTF-8 flag; they must come out right."""
    bag = make_bag(tmp_path, {"data/申请书.txt": b"x"})
    placeholder = "mybag/data/ABCDEF.txt"
    members = [(placeholder if n.endswith("申请书.txt") else n, d) for n, d in bag_members(bag)]
    path = write_zip(tmp_path / "win.zip", members, compression=zipfile.ZIP_STORED)
    raw = path.read_bytes().replace(placeholder.encode(), "mybag/data/申请书.txt".encode("gbk"))
    path.write_bytes(raw)
    received = receive(path, tmp_path / "staging", limits=LIMITS)
    assert (received.bag_dir / "data/申请书.txt").read_bytes() == b"x"
    assert validate_bag(received.bag_dir, known=received.files).issues == ()


# --- detection, limits, open_package ---------------------------------------------------------------------


def test_kind_is_detected_by_content_not_extension(tmp_path):
    bag = make_bag(tmp_path)
    assert detect_kind(write_zip(tmp_path / "looks.tar", bag_members(bag))) == "zip"
    assert detect_kind(write_tar(tmp_path / "looks.zip", bag_members(bag))) == "tar"
    assert detect_kind(write_tar(tmp_path / "v7", bag_members(bag), mode="w", fmt=tarfile.GNU_FORMAT)) == "tar"
    assert detect_kind(bag) == "dir"
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(UnsafePackageError):
        detect_kind(tmp_path / "empty")
    with pytest.raises(IngestError):
        detect_kind(tmp_path / "missing")


def test_limits_from_config(tmp_path):
    (tmp_path / "hsar.toml").write_text("[limits]\nmax_unpacked_bytes = 1000\nmax_ratio = 50\nmax_members = 7\n")
    assert Limits.from_config(config.load(tmp_path, environ={})) == Limits(1000, 50, 7)
    assert Limits.from_config(config.load(tmp_path / "none", environ={})) == Limits()


def test_open_package_unpacks_to_a_temporary_directory_and_cleans_up(tmp_path):
    temp_parent = tmp_path / "tmp"
    temp_parent.mkdir()
    zipped = package(tmp_path, "zip")
    with open_package(zipped, LIMITS, temp_parent) as bag_dir:
        assert bag_dir.parent.parent == temp_parent and validate_bag(bag_dir).issues == ()
    assert list(temp_parent.iterdir()) == []
    with pytest.raises(RuntimeError), open_package(zipped, LIMITS, temp_parent):
        raise RuntimeError("the body failed")
    assert list(temp_parent.iterdir()) == []


def test_open_package_reads_a_directory_in_place(tmp_path):
    bag = make_bag(tmp_path)
    with open_package(bag, LIMITS, tmp_path) as bag_dir:
        assert bag_dir == bag
    with open_package(bag.parent, LIMITS, tmp_path) as bag_dir:  # a folder holding just the bag folder
        assert bag_dir == bag


def test_a_member_name_over_255_bytes_is_refused_without_a_temporary_path(tmp_path):
    long_name = "档" * 90 + ".pdf"  # 274 bytes in UTF-8: over NAME_MAX, though the path as a whole is short
    bag = make_bag(tmp_path / "src")
    path = write_tar(tmp_path / "p.tar.gz", [*bag_members(bag), (f"mybag/data/{long_name}", b"x")])
    temp_parent = tmp_path / "tmp"
    temp_parent.mkdir()
    with pytest.raises(UnsafePackageError) as caught, open_package(path, LIMITS, temp_parent):
        pass
    text = " ".join([str(caught.value), *(i.message for i in caught.value.issues)])
    assert str(temp_parent) not in text and str(tmp_path) not in text, text
    assert f"data/{long_name}" in text
    assert list(temp_parent.iterdir()) == []
