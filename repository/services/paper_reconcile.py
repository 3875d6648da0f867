"""Dual-track reconciliation (双轨制核对): the paper register against the electronic items, finding by finding.

Paper and electronic archives must agree (电子档案与相应纸质档案的内容应当保持一致). A paper item and an
electronic item are the same when their paper reference agrees: fonds (全宗号), catalogue (目录号), volume
(案卷号) and item (件号). The findings, each an :class:`~repository.codes.Issue` of ``data/codes.json``:

- PAP101 a paper item with no electronic copy (the digitisation backlog);
- PAP102 an electronic item whose paper reference is not in the register;
- PAP103 page counts that differ between the register, the description and the scanned pages stored;
- PAP104 one paper reference used twice (in the register, or by two electronic items);
- PAP105 / PAP106 box or shelf location that differ between the register and the description;
- PAP107 gaps in the item numbers of a volume in the register;
- PAP108 an archive identifier or reference code (档号) in the register that the matching item does not have.

Pure functions over values: the use-case (:mod:`.paper`) reads the register, the catalogue and the store.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..codes import Issue, issue
from ..model import Item, PaperRef
from ..state.paper import RegisterRow

Key = tuple[str, str, str, int]


@dataclass(frozen=True)
class Electronic:
    """One described item of an archive in the catalogue, with its paper reference."""

    archive_id: str
    division: str
    fonds: str
    reference_code: str  # the archive's 档号
    item: Item

    @property
    def key(self) -> Key:
        return (self.fonds, self.item.paper.catalogue, self.item.paper.volume, self.item.paper.item)


@dataclass(frozen=True)
class Finding:
    """One thing a clerk has to look at: the issue, where it belongs (division, archive, item, line)."""

    issue: Issue
    division: str  # '' when no archive of the catalogue is known for it
    archive_id: str | None
    item: int | None  # the electronic item number (件号 within the archive)
    ref: str  # the paper reference, fonds/catalogue/volume/item (or fonds/catalogue/volume for a gap)
    line: int | None  # the register line

    @property
    def code(self) -> str:
        return self.issue.code

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {"code": self.code, "severity": self.issue.severity.value, "division": self.division,
                "archive_id": self.archive_id, "item": self.item, "paper_ref": self.ref, "line": self.line,
                "message": self.issue.message if lang == "zh" else self.issue.message_in(lang)}


@dataclass
class Matching:
    """The register and the electronic items grouped by paper reference."""

    paper: dict[Key, list[RegisterRow]] = field(default_factory=lambda: defaultdict(list))
    electronic: dict[Key, list[Electronic]] = field(default_factory=lambda: defaultdict(list))
    divisions: dict[str, str] = field(default_factory=dict)  # archive id -> division

    def division_of_row(self, row: RegisterRow) -> str:
        matched = self.electronic.get(row.key)
        if matched:
            return matched[0].division
        return self.divisions.get(row.archive_id or "", "")


def match(rows: Iterable[RegisterRow], items: Iterable[Electronic]) -> Matching:
    m = Matching()
    for row in rows:
        m.paper[row.key].append(row)
    for e in items:
        m.electronic[e.key].append(e)
        m.divisions[e.archive_id] = e.division
    return m


def ref_text(key: Sequence[object]) -> str:
    return "/".join(str(k) for k in key)


def shelf_text(paper: PaperRef) -> str:
    s = paper.shelf
    return f"{s.store}/{s.row}/{s.cabinet}/{s.cell}"


def _pair(row: RegisterRow, e: Electronic, stored: Callable[[Electronic], int | None]) -> list[Finding]:
    found = []
    ref = ref_text(row.key)

    def add(code: str, **params: Any) -> None:  # noqa: ANN401 - message parameters
        found.append(Finding(issue(code, ref, ref=ref, **params), e.division, e.archive_id, e.item.number, ref,
                             row.line))

    scanned = stored(e)
    counts = {row.pages, e.item.pages} | ({scanned} if scanned is not None else set())
    if len(counts) > 1:
        add("PAP103", register=row.pages, described=e.item.pages, stored="-" if scanned is None else scanned)
    if row.box != e.item.paper.box:
        add("PAP105", register=row.box, described=e.item.paper.box)
    if row.shelf is not None and row.shelf != shelf_text(e.item.paper):
        add("PAP106", register=row.shelf, described=shelf_text(e.item.paper))
    said = (row.archive_id or e.archive_id, row.reference_code or e.reference_code)
    if said != (e.archive_id, e.reference_code):
        add("PAP108", register=" ".join(filter(None, (row.archive_id, row.reference_code))),
            described=f"{e.archive_id} {e.reference_code}")
    return found


def _duplicates(m: Matching) -> list[Finding]:
    found = []
    for key, rows in m.paper.items():
        if len(rows) > 1:
            ref = ref_text(key)
            where = ", ".join(f"L{r.line}" for r in rows)
            found.append(Finding(issue("PAP104", ref, ref=ref, count=len(rows), where=where),
                                 m.division_of_row(rows[0]), rows[0].archive_id, None, ref, rows[1].line))
    for key, items in m.electronic.items():
        if len(items) > 1:
            ref = ref_text(key)
            where = ", ".join(f"{e.archive_id}#{e.item.number}" for e in items)
            found.append(Finding(issue("PAP104", ref, ref=ref, count=len(items), where=where), items[1].division,
                                 items[1].archive_id, items[1].item.number, ref, None))
    return found


def _gaps(m: Matching) -> list[Finding]:
    volumes: dict[tuple[str, str, str], list[RegisterRow]] = defaultdict(list)
    for key, rows in m.paper.items():
        volumes[key[:3]].append(rows[0])
    found = []
    for volume, rows in sorted(volumes.items()):
        numbers = {r.item for r in rows}
        missing = sorted(set(range(min(numbers), max(numbers) + 1)) - numbers)
        if missing:
            ref = ref_text(volume)
            first = min(rows, key=lambda r: r.item)
            found.append(Finding(issue("PAP107", ref, volume=ref, missing=", ".join(map(str, missing))),
                                 m.division_of_row(first), first.archive_id, None, ref, None))
    return found


def reconcile(m: Matching, stored: Callable[[Electronic], int | None]) -> list[Finding]:
    """Every finding, in worklist order (division, archive, paper reference, code)."""
    found = _duplicates(m) + _gaps(m)
    for key, rows in m.paper.items():
        items = m.electronic.get(key)
        if not items:
            ref = ref_text(key)
            row = rows[0]
            found.append(Finding(issue("PAP101", ref, ref=ref), m.division_of_row(row), row.archive_id, None, ref,
                                 row.line))
        else:
            found += _pair(rows[0], items[0], stored)
    for key, items in m.electronic.items():
        if key not in m.paper:
            e, ref = items[0], ref_text(key)
            found.append(Finding(issue("PAP102", ref, ref=ref, archive=e.archive_id, item=e.item.number), e.division,
                                 e.archive_id, e.item.number, ref, None))
    return sorted(found, key=lambda f: (f.division, f.archive_id or "", _natural(f.ref), f.code))


def _natural(ref: str) -> tuple[tuple[int, int, str], ...]:
    """``J001/1/2019-0001/10`` after ``…/9``: numbers compared as numbers."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in ref.split("/"))
