"""Defect packages (zip/tar) that ``hsar`` must refuse before unpacking anything (PKG codes).

Member times, owners and order are fixed, so the same seed gives the same bytes. Table: :mod:`.defects`.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import tempfile
import warnings
import zipfile
from pathlib import Path

from .defects_bag import Sample

ZIP_DATE = (2024, 1, 2, 3, 4, 6)  # fixed member times: same seed, same bytes


def _zip_info(name: str, mode: int = 0o100644) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, ZIP_DATE)
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _bag_members(s: Sample, top: str) -> list[tuple[str, bytes]]:
    """The files of a valid sample bag as ``(top/relative path, bytes)``, sorted."""
    with tempfile.TemporaryDirectory(prefix="hsar-demo-") as tmp:
        bag = s.bag(Path(tmp) / "bag")
        return [(f"{top}/{p.relative_to(bag).as_posix()}", p.read_bytes())
                for p in sorted(bag.rglob("*")) if p.is_file()]


def _zip(out: Path, members: list[tuple[str, bytes]]) -> Path:
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w") as archive:
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name" is the point of PKG010
        for name, data in members:
            archive.writestr(_zip_info(name), data)
    out.write_bytes(buf.getvalue())
    return out


def _tar(out: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, data in members:
            info.mtime, info.uid, info.gid, info.uname, info.gname = 1704164646, 0, 0, "", ""
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    out.write_bytes(buf.getvalue())
    return out


def _tar_file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    return info, data


def pkg001(out: Path, s: Sample) -> Path:
    out.write_bytes(b"Rar!\x1a\x07\x00" + hashlib.sha512(s.archive.identifier.encode()).digest() * 8)
    return out


def pkg002(out: Path, s: Sample) -> Path:
    members = _bag_members(s, s.archive.identifier)
    return _zip(out, [*members, ("/etc/cron.d/hsar-demo", b"* * * * * root true\n")])


def pkg003(out: Path, s: Sample) -> Path:
    members = _bag_members(s, s.archive.identifier)
    return _zip(out, [*members, ("../../hsar-zip-slip.txt", b"written outside the staging area\n")])


def pkg004(out: Path, s: Sample) -> Path:
    top = s.archive.identifier
    link = tarfile.TarInfo(f"{top}/data/application/9999-link.pdf")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    return _tar(out, [*(_tar_file(n, d) for n, d in _bag_members(s, top)), (link, None)])


def pkg005(out: Path, s: Sample) -> Path:
    top = s.archive.identifier
    huge = tarfile.TarInfo(f"{top}/data/application/9999-扫描件.tif")
    huge.size, huge.mode = 25 * 1024**3, 0o644  # the header claims 25 GiB; no data follows
    return _tar(out, [*(_tar_file(n, d) for n, d in _bag_members(s, top)), (huge, None)])


def pkg006(out: Path, s: Sample) -> Path:
    top = s.archive.identifier
    return _zip(out, [*_bag_members(s, top), (f"{top}/data/application/9999-zeros.bin", bytes(40 * 1024 * 1024))])


def pkg008(out: Path, s: Sample) -> Path:
    _zip(out, _bag_members(s, s.archive.identifier))
    data = out.read_bytes()
    out.write_bytes(data[: len(data) * 2 // 3])  # cut off mid-file: no central directory
    return out


def pkg009(out: Path, s: Sample) -> Path:
    return _zip(out, [*_bag_members(s, "bag-a"), *_bag_members(s, "bag-b")])


def pkg010(out: Path, s: Sample) -> Path:
    members = _bag_members(s, s.archive.identifier)
    return _zip(out, [*members, members[-1]])
