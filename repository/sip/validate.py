"""SIP validation: every check of ``hsar sip validate``, all problems reported at once.

Order: package safety (zip/tar refused before anything is written) -> BagIt (RFC 8493 and the drafts before
it: all that ``--bagit-only`` checks) -> the repository's policy: BagIt profile (versions, algorithms it
ingests) and no ``fetch.txt`` (BAG021) ->
payload file names (no control characters, PAY004) -> descriptive metadata (XSD, Schematron, Python rules) ->
agreement between bag-info and the metadata -> every payload file described by exactly one item and every
item's files present. Later stages run only on what earlier stages could read; a stage that cannot run says
why through the earlier stage's issue.
"""

from __future__ import annotations

import tempfile
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..bags.profile import validate_profile
from ..bags.receive import Limits, open_package
from ..bags.scan import CONTROL_CHARS, codepoints, display
from ..bags.tagfiles import FETCH_TXT
from ..bags.validate import BagResult, validate_bag
from ..codes import Issue, Report, issue
from ..config import Config
from ..description.validate import validate_descriptive
from ..divisions import DivisionTree, tree_for
from ..errors import UnsafePackageError
from ..model import Archive
from ..preservation.aip_layout import DESCRIPTIVE as DESCRIPTIVE_PATH

MAX_DESCRIPTIVE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Validation:
    """Result of validating one bag: the report plus what was read, so ingest never reads twice."""

    report: Report
    bag: BagResult | None = None
    archive: Archive | None = None

    @property
    def valid(self) -> bool:
        return self.report.valid


def _nfc(path: str) -> str:
    return unicodedata.normalize("NFC", path)


def payload_issues(archive: Archive, payload_paths: set[str]) -> list[Issue]:
    """Each payload file is described by exactly one item; each item's files exist (PAY001-PAY003)."""
    present = {_nfc(p) for p in payload_paths}
    described: dict[str, list[int]] = defaultdict(list)
    found: list[Issue] = []
    for item in archive.items:
        for f in item.files:
            described[_nfc(f)].append(item.number)
            if _nfc(f) not in present:
                found.append(issue("PAY003", f, item=item.number))
    for path in sorted(present):
        owners = described.get(path, [])
        if not owners:
            found.append(issue("PAY001", path))
        elif len(owners) > 1:
            found.append(issue("PAY002", path, items=", ".join(str(n) for n in owners)))
    return found


def shown_path(path: str) -> str:
    """``path`` with each control character as ``%XX`` (how a BagIt manifest writes CR and LF), so a report
    line stays one line."""
    return CONTROL_CHARS.sub(lambda m: f"%{ord(m.group()):02X}", display(path))


def name_issues(payload_paths: set[str]) -> list[Issue]:
    """PAY004 for each payload file whose path holds a control character (U+0000-U+001F, U+007F)."""
    found = []
    for path in sorted(payload_paths):
        chars = CONTROL_CHARS.findall(path)
        if chars:
            found.append(issue("PAY004", shown_path(path), chars=codepoints(chars)))
    return found


_AGREEMENT = (
    ("External-Identifier", lambda a: a.identifier),
    ("Archive-Type", lambda a: a.type.value),
    ("Package-Type", lambda a: a.package_type.value),
    ("Division-Code", lambda a: a.division),
    ("Fonds-Number", lambda a: a.fonds),
    ("Original-Volume", lambda a: a.supplement_of.original_volume if a.supplement_of else None),
)


def agreement_issues(archive: Archive, bag: BagResult) -> list[Issue]:
    """bag-info tags that repeat a metadata fact must agree with it (RUL004)."""
    found = []
    for tag, getter in _AGREEMENT:
        xml_value = getter(archive)
        for bag_value in bag.info(tag):
            if xml_value is not None and bag_value != xml_value:
                found.append(issue("RUL004", "bag-info.txt", tag=tag, bag_value=bag_value, xml_value=xml_value))
    return found


def _metadata_stage(bag_dir: Path, bag: BagResult, tree: DivisionTree) -> tuple[list[Issue], Archive | None]:
    xml_path = bag_dir / DESCRIPTIVE_PATH
    if not xml_path.is_file() or xml_path.is_symlink():
        return [issue("MD001", DESCRIPTIVE_PATH)], None
    if xml_path.stat().st_size > MAX_DESCRIPTIVE_BYTES:
        return [issue("MD002", DESCRIPTIVE_PATH, detail=f"larger than {MAX_DESCRIPTIVE_BYTES} bytes")], None
    result = validate_descriptive(xml_path.read_bytes(), path=DESCRIPTIVE_PATH, tree=tree)
    found = list(result.issues)
    if result.archive is not None:
        found += agreement_issues(result.archive, bag)
        found += payload_issues(result.archive, set(bag.payload))
    return found, result.archive


def validate_bag_dir(
    bag_dir: Path,
    *,
    bagit_only: bool = False,
    known: dict[str, tuple[int, dict[str, str]]] | None = None,
    tree: DivisionTree | None = None,
    workers: int = 2,
) -> Validation:
    """Validate an unpacked bag directory (``known`` = digests already computed while receiving it)."""
    bag = validate_bag(bag_dir, known=known, workers=workers)
    found: list[Issue] = list(bag.issues)
    archive = None
    if not bagit_only and bag.version is not None:
        found += validate_profile(
            bag_dir,
            version=bag.version,
            bag_info=bag.bag_info,
            payload_algorithms=bag.payload_manifest_algorithms,
            tag_algorithms=bag.tag_manifest_algorithms,
        )
        if FETCH_TXT in bag.tag_files:  # policy: a valid bag may fetch files; a SIP must hold them all
            found.append(issue("BAG021", FETCH_TXT))
        found += name_issues(set(bag.payload))
        md_issues, archive = _metadata_stage(bag_dir, bag, tree or tree_for(None))
        found += md_issues
    return Validation(Report(tuple(found)), bag, archive)


def validate_sip(path: Path, *, config: Config | None = None, bagit_only: bool = False) -> Validation:
    """Validate a SIP given as a bag directory or a .zip/.tar/.tar.gz of one."""
    limits = Limits.from_config(config) if config else Limits()
    tree = tree_for(config)
    tmp_parent = Path(tempfile.gettempdir())
    try:
        with open_package(Path(path), limits, tmp_parent) as bag_dir:
            return validate_bag_dir(bag_dir, bagit_only=bagit_only, tree=tree)
    except UnsafePackageError as exc:
        return Validation(Report(tuple(exc.issues)))
