"""``hsar demo-data --defects``: one invalid SIP per defect class, each named after the code it must raise.

Every defect starts from the same valid household SIP (:func:`repository.demo.archives.sample_household`,
cut to three items) and breaks exactly one thing, either in the description before bagging (metadata and
rule defects), in the finished bag (BagIt and profile defects; tag manifests are recomputed afterwards so
that only the intended fault shows) or as a zip/tar package (PKG defects, refused before unpacking).

``DEFECTS`` is the table: code, short name, how to make it, and ``also``, the other error codes a validator
must raise for the same fault because the rules overlap (a missing ``metadata/descriptive.xml`` is both
MD001 and the profile's required tag file, PRF007).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from lxml import etree

from .. import descriptive
from ..model import Archive, MaterialClass, Member, PackageType, Relation, Unit, Volume
from ..resources import NAMESPACE
from . import defects_bag as bag
from . import defects_pkg as pkg
from .archives import Planned, manifest_entry, sample_household
from .defects_bag import Sample, retag

NS = f"{{{NAMESPACE}}}"


def _sample(seed: int) -> Sample:
    planned: Planned = sample_household(seed)
    items = planned.archive.items[:3]
    payload = {f: planned.payload[f] for item in items for f in item.files}
    return Sample(dataclasses.replace(planned.archive, items=items), payload, planned.bagging)


# ----- descriptive metadata -----

def _xml(s: Sample, change: Callable[[etree._Element], None]) -> bytes:
    root = etree.fromstring(descriptive.to_xml(s.archive))
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def md001(out: Path, s: Sample) -> Path:
    bag = s.bag(out)
    (bag / "metadata" / "descriptive.xml").unlink()
    (bag / "metadata" / "readme.txt").write_text("描述元数据漏交。\n", "utf-8")
    retag(bag)
    return bag


def md002(out: Path, s: Sample) -> Path:
    whole = descriptive.to_xml(s.archive)
    return s.bag(out, xml=whole[: len(whole) // 2])


def md003(out: Path, s: Sample) -> Path:
    whole = descriptive.to_xml(s.archive).decode("utf-8")
    head, body = whole.split("\n", 1)
    doctype = '<!DOCTYPE archive [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    body = body.replace("</institution>", "&secret;</institution>", 1)
    return s.bag(out, xml=f"{head}\n{doctype}\n{body}".encode())


def md004(out: Path, s: Sample) -> Path:
    return s.bag(out, xml=_xml(s, lambda r: r.remove(r.find(NS + "institution"))))


def md005(out: Path, s: Sample) -> Path:
    text = descriptive.to_xml(s.archive).replace(NAMESPACE.encode(), b"urn:example:not-hsar")
    return s.bag(out, xml=text)


def md006(out: Path, s: Sample) -> Path:
    return s.bag(out, xml=_xml(s, lambda r: r.set("schemaVersion", "2.0")))


# ----- rules (Schematron and Python) -----

def _items(s: Sample, **changes: Any) -> Archive:  # noqa: ANN401 - Item fields
    first = dataclasses.replace(s.archive.items[0], **changes)
    return dataclasses.replace(s.archive, items=(first, *s.archive.items[1:]))


def sch001(out: Path, s: Sample) -> Path:
    unit = Unit("玄武区幸福里保障性住房项目", "幸福里公租房小区", "南京市玄武区玄武门街道文化路18号", "3", "1", "502",
                "一室一厅", 45.6, "新建", "南京市玄武区保障房运营管理有限公司", "公共租赁住房")
    return s.bag(out, archive=dataclasses.replace(s.archive, household=None, unit=unit))


def sch002(out: Path, s: Sample) -> Path:
    return s.bag(out, archive=_items(s, material_class=MaterialClass.BASIC, subtype="房屋基本情况表"))


def sch003(out: Path, s: Sample) -> Path:
    second = s.archive.items[1]
    third = dataclasses.replace(s.archive.items[2], number=second.number,
                                paper=dataclasses.replace(s.archive.items[2].paper, item=second.number))
    return s.bag(out, archive=dataclasses.replace(s.archive, items=(*s.archive.items[:2], third)))


def sch004(out: Path, s: Sample) -> Path:
    return s.bag(out, xml=_xml(s, lambda r: setattr(r.find(NS + "retention"), "text", "短期")))


def sch005(out: Path, s: Sample) -> Path:
    item = s.archive.items[0]
    return s.bag(out, archive=_items(s, paper=dataclasses.replace(item.paper, page_end=item.paper.page_end + 1)))


def sch006(out: Path, s: Sample) -> Path:
    return s.bag(out, archive=dataclasses.replace(s.archive, end=date(s.archive.start.year - 1, 12, 31)))


def sch007(out: Path, s: Sample) -> Path:
    return s.bag(out, archive=_items(s, subtype="租赁合同"))


def sch008(out: Path, s: Sample) -> Path:
    return s.bag(out, archive=dataclasses.replace(s.archive, reference_code="J002" + s.archive.reference_code[4:]))


def sch009(out: Path, s: Sample) -> Path:
    volume: Volume = dataclasses.replace(s.archive.volume, separately_filed=True, original_volume=None)
    return s.bag(out, archive=dataclasses.replace(s.archive, volume=volume))


def sch010(out: Path, s: Sample) -> Path:
    link = Relation("occupiedBy", "un-320102-0001", s.archive.start)
    return s.bag(out, archive=dataclasses.replace(s.archive, relations=(link,)))


def sch011(out: Path, s: Sample) -> Path:
    return s.bag(out, archive=dataclasses.replace(s.archive, package_type=PackageType.UNIT_SIP))


def rul001(out: Path, s: Sample) -> Path:
    household = s.archive.household
    assert household is not None
    head = household.head
    last = "0" if head.resident_id[-1] != "0" else "1"
    stranger = Member(head.name[0] + "小明", head.resident_id[:-1] + last, "子女")
    changed = dataclasses.replace(household, members=(*household.members, stranger))
    return s.bag(out, archive=dataclasses.replace(s.archive, household=changed))


def rul002(out: Path, s: Sample) -> Path:
    return s.bag(out, archive=dataclasses.replace(s.archive, division="100102001"))


def rul003(out: Path, s: Sample) -> Path:
    return s.bag(out, archive=dataclasses.replace(s.archive, division=s.archive.division[:6] + "999"))


def rul004(out: Path, s: Sample) -> Path:
    other = s.archive.division[:6] + ("001" if not s.archive.division.endswith("001") else "002")
    return s.bag(out, bag_info={"Division-Code": other})


def rul007(out: Path, s: Sample) -> Path:
    archive = dataclasses.replace(s.archive, package_type=PackageType.SUPPLEMENT_SIP)
    return s.bag(out, archive=archive, bag_info={"Original-Volume": s.archive.volume.number})


# ----- payload against description -----

def pay001(out: Path, s: Sample) -> Path:
    return s.bag(out, payload=s.payload | {"data/application/扫描备份.pdf": next(iter(s.payload.values()))})


def pay002(out: Path, s: Sample) -> Path:
    first, second = s.archive.items[:2]
    shared = dataclasses.replace(second, files=(*second.files, *first.files))
    return s.bag(out, archive=dataclasses.replace(s.archive, items=(first, shared, *s.archive.items[2:])))


def pay003(out: Path, s: Sample) -> Path:
    missing = s.archive.items[0].files[0]
    return s.bag(out, payload={k: v for k, v in s.payload.items() if k != missing})


# ----- the table -----

@dataclass(frozen=True)
class Defect:
    code: str
    name: str
    make: Callable[[Path, Sample], Path]
    suffix: str = ""  # "" for a bag directory, ".zip"/".tar"/".rar" for a package file
    also: tuple[str, ...] = ()  # error codes the same fault must also raise


DEFECTS: tuple[Defect, ...] = (
    Defect("PKG001", "rar-archive", pkg.pkg001, ".rar"),
    Defect("PKG002", "absolute-path", pkg.pkg002, ".zip"),
    Defect("PKG003", "zip-slip", pkg.pkg003, ".zip"),
    Defect("PKG004", "symlink", pkg.pkg004, ".tar"),
    Defect("PKG005", "size-limit", pkg.pkg005, ".tar", also=("PKG006",)),
    Defect("PKG006", "zip-bomb", pkg.pkg006, ".zip"),
    Defect("PKG008", "truncated-zip", pkg.pkg008, ".zip"),
    Defect("PKG009", "two-bags", pkg.pkg009, ".zip"),
    Defect("PKG010", "duplicate-member", pkg.pkg010, ".zip"),
    Defect("BAG001", "no-bagit-txt", bag.bag001),
    Defect("BAG002", "bagit-txt-malformed", bag.bag002),
    Defect("BAG003", "bagit-version", bag.bag003, also=("PRF009",)),
    Defect("BAG004", "unknown-encoding", bag.bag004),
    Defect("BAG005", "no-data-dir", bag.bag005, also=("PAY003",)),
    Defect("BAG006", "no-payload-manifest", bag.bag006),
    Defect("BAG007", "manifest-line", bag.bag007),
    Defect("BAG008", "manifest-escape", bag.bag008),
    Defect("BAG009", "listed-file-missing", bag.bag009),
    Defect("BAG010", "unlisted-file", bag.bag010),
    Defect("BAG011", "digest-mismatch", bag.bag011),
    Defect("BAG012", "conflicting-digests", bag.bag012),
    Defect("BAG014", "bag-info-line", bag.bag014),
    Defect("BAG015", "payload-oxum", bag.bag015),
    Defect("BAG016", "payload-oxum-malformed", bag.bag016),
    Defect("BAG017", "tagmanifest-lists-payload", bag.bag017),
    Defect("BAG018", "unknown-algorithm", bag.bag018, also=("PRF005",)),
    Defect("BAG021", "fetch-txt", bag.bag021, also=("PRF008",)),
    Defect("BAG022", "bag-info-gbk", bag.bag022, also=("PRF010",)),
    Defect("BAG027", "symlink", bag.bag027),
    Defect("PRF001", "no-source-organization", bag.prf001),
    Defect("PRF002", "old-profile", bag.prf002),
    Defect("PRF003", "repeated-tag", bag.prf003),
    Defect("PRF005", "md5-manifest", bag.prf005),
    Defect("PRF006", "no-tag-manifest", bag.prf006),
    Defect("PRF010", "no-package-type", bag.prf010),
    Defect("PRF011", "extra-tag-file", bag.prf011),
    Defect("MD001", "no-descriptive", md001, also=("PRF007",)),
    Defect("MD002", "truncated-xml", md002),
    Defect("MD003", "xxe", md003),
    Defect("MD004", "schema-invalid", md004),
    Defect("MD005", "wrong-namespace", md005),
    Defect("MD006", "schema-version", md006),
    Defect("SCH001", "household-without-household", sch001),
    Defect("SCH002", "class-type", sch002),
    Defect("SCH003", "duplicate-item", sch003),
    Defect("SCH004", "retention-label", sch004),
    Defect("SCH005", "page-range", sch005),
    Defect("SCH006", "dates-order", sch006),
    Defect("SCH007", "subtype-class", sch007),
    Defect("SCH008", "reference-code", sch008),
    Defect("SCH009", "separate-volume", sch009),
    Defect("SCH010", "relation-side", sch010),
    Defect("SCH011", "package-type", sch011, also=("PRF002",)),
    Defect("RUL001", "resident-id", rul001),
    Defect("RUL002", "division-malformed", rul002),
    Defect("RUL003", "division-unknown", rul003),
    Defect("RUL004", "bag-info-disagrees", rul004),
    Defect("RUL007", "supplement-of-missing", rul007),
    Defect("PAY001", "undescribed-file", pay001),
    Defect("PAY002", "file-in-two-items", pay002),
    Defect("PAY003", "missing-item-file", pay003),
)


def write_defects(out: Path, *, seed: int) -> list[tuple[Path, dict[str, object]]]:
    """Write every defect SIP into ``out`` (created); returns each path with its ``demo_manifest.json`` entry."""
    out.mkdir(parents=True, exist_ok=False)
    sample = _sample(seed)
    written = []
    for d in DEFECTS:
        path = d.make(out / f"{d.code}-{d.name}{d.suffix}", sample)
        entry = manifest_entry(f"{out.name}/{path.name}", sample.archive, kind="defect", expected=d.code)
        if d.also:
            entry["also"] = list(d.also)
        written.append((path, entry))
    return written
