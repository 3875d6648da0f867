"""Python rules for descriptive metadata: what neither XSD 1.0 nor Schematron says well, one place each.

- RUL001 resident identity numbers (居民身份号码, GB 11643-1999): 18 characters, a valid GB/T 2260 province
  prefix, a real birth date, and the ISO 7064 MOD 11-2 check character.
- RUL002 / RUL003 division codes (GB/T 2260): well formed, and in this repository's division tree.
- RUL005 reference codes (档号, DA/T 22-2015): 全宗号-门类代码·年度-保管期限代码-件号, serial number from 1.
- RUL006 item numbers (件号) continuous from the first; a warning naming the gaps. Also usable at ingest over
  all versions of an archive.

Co-occurrence rules (retention code and label, page ranges, dates in order, ...) are ISO Schematron, in
``metadata/hsar-archive-1.0.sch``. Every function here returns issues; none raises on bad input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from ..codes import Issue, issue
from ..divisions import PROVINCE_PREFIXES, DivisionTree, well_formed
from ..model import Archive, Person
from ..preservation.aip_layout import DESCRIPTIVE as DESCRIPTIVE_PATH
from ..privacy import mask_resident_id

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # 2**(17-i) mod 11
_ID_CHECK = "10X98765432"  # check character for (weighted sum mod 11)
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_EARLIEST_BIRTH = date(1900, 1, 1)

# DA/T 22: fonds (全宗号), category code (门类代码) · year (年度) - retention (保管期限) - serial (件号/案卷号).
_REFERENCE_CODE = re.compile(
    r"(?P<fonds>[A-Z0-9]{1,8})-(?P<category>[A-Z]{1,4})·(?P<year>[0-9]{4})-(?P<retention>Y|D30|D10)-(?P<serial>[0-9]{4,6})"
)


def id_check_character(first17: str) -> str:
    """The GB 11643 check character (ISO 7064 MOD 11-2) of 17 digits."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def check_resident_id(value: str, *, today: date | None = None) -> bool:
    """Whether ``value`` is a well-formed 18-character resident ID with a real birth date and right check digit."""
    if not isinstance(value, str) or not value.isascii() or not _ID_SHAPE.fullmatch(value):
        return False
    if value[:2] not in PROVINCE_PREFIXES:
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if not _EARLIEST_BIRTH <= born <= (today or date.today()):
        return False
    return id_check_character(value[:17]) == value[17]


def _people(archive: Archive) -> Iterable[tuple[str, Person]]:
    if archive.household is None:
        return
    yield "household/head/residentId", archive.household.head
    for n, member in enumerate(archive.household.members, start=1):
        yield f"household/members/member[{n}]/residentId", member


def resident_id_issues(archive: Archive, *, path: str = DESCRIPTIVE_PATH) -> list[Issue]:
    """RUL001 for each head or member whose resident ID fails :func:`check_resident_id` (value masked)."""
    return [
        issue("RUL001", path, value=f"{where} = {mask_resident_id(person.resident_id)}")
        for where, person in _people(archive)
        if not check_resident_id(person.resident_id)
    ]


def division_issues(code: str, tree: DivisionTree, *, path: str = DESCRIPTIVE_PATH) -> list[Issue]:
    """RUL002 when ``code`` is not GB/T 2260-shaped; RUL003 when well formed but not in ``tree``."""
    if not well_formed(code):
        return [issue("RUL002", path, value=code)]
    if code not in tree:
        return [issue("RUL003", path, value=code)]
    return []


def reference_code_issues(code: str, *, path: str = DESCRIPTIVE_PATH) -> list[Issue]:
    """RUL005 when ``code`` is not a DA/T 22 reference code. Beyond the XSD pattern: the serial number
    (件号/案卷号) counts from 1, so all zeros is wrong. Agreement with fonds, year and retention is SCH008."""
    match = _REFERENCE_CODE.fullmatch(code) if isinstance(code, str) else None
    if match is None or int(match["serial"]) == 0:
        return [issue("RUL005", path, value=code)]
    return []


def format_ranges(numbers: Iterable[int]) -> str:
    """``[3, 5, 6, 7]`` -> ``'3, 5-7'``."""
    ordered = sorted(set(numbers))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ", ".join(parts)


def continuity_issues(item_numbers: Iterable[int], start: int = 1, *, path: str = DESCRIPTIVE_PATH) -> list[Issue]:
    """RUL006 (warning) naming every number missing between ``start`` and the highest item number."""
    present = set(item_numbers)
    if not present:
        return []
    missing = set(range(start, max(present) + 1)) - present
    return [issue("RUL006", path, missing=format_ranges(missing))] if missing else []


def rule_issues(archive: Archive, tree: DivisionTree, *, path: str = DESCRIPTIVE_PATH) -> list[Issue]:
    """Every Python rule over one archive's description.

    A supplement's items continue the archive's numbering, so alone it is checked for gaps from its own
    first number; ingest checks the whole archive with :func:`continuity_issues` over all versions.
    """
    numbers = [item.number for item in archive.items]
    start = min(numbers, default=1) if archive.is_supplement else 1
    return [
        *resident_id_issues(archive, path=path),
        *division_issues(archive.division, tree, path=path),
        *reference_code_issues(archive.reference_code, path=path),
        *continuity_issues(numbers, start, path=path),
    ]
