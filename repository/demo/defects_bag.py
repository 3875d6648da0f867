"""Defect SIPs at the BagIt (RFC 8493) and BagIt-profile level, made by editing a finished, valid bag.

After each deliberate edit the tag manifests are recomputed (:func:`retag`) so that only the intended fault
shows. :class:`Sample` is the valid household SIP every defect starts from. Table: :mod:`.defects`.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..model import Archive
from ..sip.build import write_sip


@dataclass(frozen=True)
class Sample:
    archive: Archive
    payload: dict[str, bytes]
    bagging: date

    def bag(self, out: Path, *, archive: Archive | None = None, payload: dict[str, bytes] | None = None,
            xml: bytes | None = None, bag_info: dict | None = None, algorithms: tuple[str, ...] = ("sha512",)) -> Path:
        a = archive or self.archive
        return write_sip(a, self.payload if payload is None else payload, out, source_organization=a.institution,
                         bagging_date=self.bagging, xml=xml, bag_info=bag_info, algorithms=algorithms)


# ----- editing a finished bag -----

def retag(bag: Path) -> None:
    """Recompute every tag manifest of ``bag`` over its current tag files (after a deliberate edit)."""
    manifests = sorted(bag.glob("tagmanifest-*.txt"))
    tag_files = sorted(p for p in bag.rglob("*") if p.is_file() and not p.is_symlink()
                       and p.relative_to(bag).parts[0] != "data" and not p.name.startswith("tagmanifest-"))
    for manifest in manifests:
        algorithm = manifest.name[len("tagmanifest-"):-len(".txt")]
        if algorithm not in hashlib.algorithms_available:
            continue
        lines = [f"{hashlib.new(algorithm, p.read_bytes()).hexdigest()}  {p.relative_to(bag).as_posix()}\n"
                 for p in tag_files]
        manifest.write_text("".join(lines), "utf-8")


def _edit(bag: Path, name: str, change: Callable[[str], str]) -> Path:
    path = bag / name
    path.write_text(change(path.read_text("utf-8")), "utf-8")
    retag(bag)
    return bag


def _first_payload(bag: Path) -> str:
    return sorted(p.relative_to(bag).as_posix() for p in (bag / "data").rglob("*") if p.is_file())[0]


def _digest_line(bag: Path, path: str) -> str:
    return next(line for line in (bag / "manifest-sha512.txt").read_text("utf-8").splitlines()
                if line.endswith("  " + path))


def _drop_line(bag: Path, name: str, prefix: str) -> Path:
    return _edit(bag, name, lambda t: "".join(x for x in t.splitlines(True) if not x.startswith(prefix)))


def _add_line(bag: Path, name: str, line: str) -> Path:
    return _edit(bag, name, lambda t: t + line + "\n")


# ----- BagIt (RFC 8493) -----

def bag001(out: Path, s: Sample) -> Path:
    bag = s.bag(out)
    (bag / "bagit.txt").unlink()
    retag(bag)
    return bag


def bag002(out: Path, s: Sample) -> Path:
    return _edit(s.bag(out), "bagit.txt", lambda t: t.replace("BagIt-Version: ", "BagIt-Version "))


def bag003(out: Path, s: Sample) -> Path:
    return _edit(s.bag(out), "bagit.txt", lambda t: t.replace("BagIt-Version: 1.0", "BagIt-Version: 2.0"))


def bag004(out: Path, s: Sample) -> Path:
    return _edit(s.bag(out), "bagit.txt", lambda t: t.replace("UTF-8", "X-HSAR-NO-SUCH-CHARSET"))


def bag005(out: Path, s: Sample) -> Path:
    bag = s.bag(out)
    shutil.rmtree(bag / "data")
    (bag / "manifest-sha512.txt").write_text("", "utf-8")
    return _edit(bag, "bag-info.txt", lambda t: re.sub(r"Payload-Oxum: .*", "Payload-Oxum: 0.0", t))


def bag006(out: Path, s: Sample) -> Path:
    bag = s.bag(out)
    (bag / "manifest-sha512.txt").unlink()
    retag(bag)
    return bag


def bag007(out: Path, s: Sample) -> Path:
    return _add_line(s.bag(out), "manifest-sha512.txt", "this-line-has-no-path")


def bag008(out: Path, s: Sample) -> Path:
    return _add_line(s.bag(out), "manifest-sha512.txt", "0" * 128 + "  ../outside-the-bag.pdf")


def bag009(out: Path, s: Sample) -> Path:
    return _add_line(s.bag(out), "manifest-sha512.txt", "0" * 128 + "  data/application/0099-未提交.pdf")


def bag010(out: Path, s: Sample) -> Path:
    bag = s.bag(out)
    return _drop_line(bag, "manifest-sha512.txt", _digest_line(bag, _first_payload(bag)))


def bag011(out: Path, s: Sample) -> Path:
    bag = s.bag(out)
    target = bag / _first_payload(bag)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes: only the digest can tell
    target.write_bytes(bytes(data))
    return bag


def bag012(out: Path, s: Sample) -> Path:
    bag = s.bag(out)
    return _add_line(bag, "manifest-sha512.txt", "f" * 128 + "  " + _first_payload(bag))


def bag014(out: Path, s: Sample) -> Path:
    return _add_line(s.bag(out), "bag-info.txt", "这一行没有冒号")


def bag015(out: Path, s: Sample) -> Path:
    return _edit(s.bag(out), "bag-info.txt", lambda t: t.replace("Payload-Oxum: ", "Payload-Oxum: 1"))


def bag016(out: Path, s: Sample) -> Path:
    return _edit(s.bag(out), "bag-info.txt", lambda t: re.sub(r"Payload-Oxum: .*", "Payload-Oxum: about 60 KB", t))


def bag017(out: Path, s: Sample) -> Path:
    bag = s.bag(out)
    line = _digest_line(bag, _first_payload(bag))
    (bag / "tagmanifest-sha512.txt").write_text((bag / "tagmanifest-sha512.txt").read_text("utf-8") + line + "\n")
    return bag


def bag018(out: Path, s: Sample) -> Path:
    bag = s.bag(out)
    (bag / "manifest-crc32.txt").write_text(f"3610a686  {_first_payload(bag)}\n", "utf-8")
    retag(bag)
    return bag


def bag021(out: Path, s: Sample) -> Path:
    """A complete, valid bag that also lists a payload file in fetch.txt: refused by policy alone (BAG021)."""
    bag = s.bag(out)
    first = min(p for p in (bag / "data").rglob("*") if p.is_file())
    rel = first.relative_to(bag).as_posix().replace("%", "%25")
    (bag / "fetch.txt").write_text(f"https://files.example.org/{first.name} {first.stat().st_size} {rel}\n", "utf-8")
    retag(bag)
    return bag


def bag027(out: Path, s: Sample) -> Path:
    bag = s.bag(out)
    target = _first_payload(bag)
    (bag / "data" / "application" / "9999-link.pdf").symlink_to(Path(target).name)
    return bag


def bag022(out: Path, s: Sample) -> Path:
    bag = s.bag(out)
    info = (bag / "bag-info.txt").read_text("utf-8")
    (bag / "bag-info.txt").write_bytes(info.encode("gb18030"))  # declared UTF-8, written GBK
    retag(bag)
    return bag


# ----- BagIt profile -----

def prf001(out: Path, s: Sample) -> Path:
    return _drop_line(s.bag(out), "bag-info.txt", "Source-Organization:")


def prf002(out: Path, s: Sample) -> Path:
    return s.bag(out, bag_info={"BagIt-Profile-Identifier": "https://hsar.example.org/profiles/household-sip-0.9.json"})


def prf003(out: Path, s: Sample) -> Path:
    org = s.archive.institution
    return s.bag(out, bag_info={"Source-Organization": [org, org.replace("住房保障中心", "房产局")]})


def prf005(out: Path, s: Sample) -> Path:
    bag = s.bag(out)
    lines = [f"{hashlib.md5(data).hexdigest()}  {path}\n" for path, data in sorted(s.payload.items())]
    (bag / "manifest-md5.txt").write_text("".join(lines), "utf-8")
    retag(bag)
    return bag


def prf006(out: Path, s: Sample) -> Path:
    bag = s.bag(out)
    (bag / "tagmanifest-sha512.txt").unlink()
    return bag


def prf010(out: Path, s: Sample) -> Path:
    return _drop_line(s.bag(out), "bag-info.txt", "Package-Type:")


def prf011(out: Path, s: Sample) -> Path:
    bag = s.bag(out)
    (bag / "说明.txt").write_text("移交说明：本包含户档材料三件。\n", "utf-8")
    retag(bag)
    return bag
