"""The format step of ingest: facts, policy levels and FMT issues per payload file, incl. FMT008."""

from __future__ import annotations

import hashlib
from pathlib import Path

from PIL import Image

from repository import config
from repository.ingest.formats import assess_formats
from repository.ingest.prepare import FileInfo


def _pe(path: Path) -> None:
    header = bytearray(b"MZ" + b"\x90\x00" * 29)
    header += b"\x00" * (0x3C - len(header)) + (0x80).to_bytes(4, "little")
    header += b"\x00" * (0x80 - len(header)) + b"PE\x00\x00" + b"\x4c\x01\x03\x00" + b"\x00" * 200
    path.write_bytes(bytes(header))


def _info(bag: Path, rel: str) -> FileInfo:
    data = (bag / rel).read_bytes()
    return FileInfo(rel, len(data), hashlib.sha512(data).hexdigest())


def test_executable_is_refused_as_a_security_risk_and_images_preserved(tmp_path: Path) -> None:
    bag = tmp_path / "bag"
    (bag / "data").mkdir(parents=True)
    _pe(bag / "data" / "setup.exe")
    Image.new("L", (40, 30), 255).save(bag / "data" / "scan.tif", compression="tiff_lzw")
    payload = {rel: _info(bag, rel) for rel in ("data/setup.exe", "data/scan.tif")}
    cfg = config.load(tmp_path, environ={})
    assessed, issues = assess_formats(bag, payload, cfg)
    assert assessed["data/scan.tif"].puid == "fmt/353"
    assert assessed["data/scan.tif"].policy == "preservation"
    assert assessed["data/setup.exe"].policy == "refused"
    by_path = {(i.path, i.code) for i in issues}
    assert ("data/setup.exe", "FMT008") in by_path
    assert ("data/setup.exe", "FMT002") in by_path
    assert not any(p == "data/scan.tif" for p, _ in by_path)
