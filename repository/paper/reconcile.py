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

The register is typed by the paper office, not read from the catalogue: the archive identifier or 档号 a row
gives may name an archive of another division than the item it matches. A finding names, where it belongs,
the archive the catalogue matched (never the row's own identifier when the item matched is another's), and
PAP108, which prints the row's values, keeps the scope that may see them (:attr:`Finding.named`,
:func:`repository.access.naming_scope`); a reader outside it gets the finding with them withheld
(:meth:`Finding.seen_from`).

Pure functions over values: :mod:`.compute` reads the register, the catalogue and the store. A finding
keeps its code and parameters only; its :class:`~repository.codes.Issue` (the message) is made when it is
read (:attr:`Finding.issue`, :meth:`Finding.message`), in the reader's language: reconciling two million
items builds no message.
"""

from __future__ import annotations

import string
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from typing import Any

from ..access import covering_scope, naming_scope, scope_sees
from ..codes import RAISED, Issue, Param, catalogue, issue
from ..codes import message as message_of
from ..messages import Text
from ..model import Item
from ..state.paper import RegisterRow

Key = tuple[str, str, str, int]


@dataclass(frozen=True, slots=True)
class Electronic:
    """One described item of an archive in the catalogue, with its paper reference (the fields reconciliation
    compares: pages, box, shelf, archive identifier and 档号; ``files`` for the scanned pages stored)."""

    archive_id: str
    division: str
    fonds: str  # 全宗号
    reference_code: str  # the archive's 档号
    number: int  # the item's number within the archive (件号 of the description)
    pages: int  # as described
    catalogue: str  # 目录号
    volume: str  # 案卷号
    paper_item: int  # 件号 of the paper reference
    box: str  # 盒号
    shelf: str  # "store/row/cabinet/cell"
    files: tuple[str, ...] = ()  # bag-relative payload paths (read only for matched items by :mod:`.compute`)

    @property
    def key(self) -> Key:
        return (self.fonds, self.catalogue, self.volume, self.paper_item)

    @classmethod
    def of(cls, archive_id: str, division: str, fonds: str, reference_code: str, item: Item) -> Electronic:
        """From a described :class:`~repository.model.Item` (the description-decoding path)."""
        s = item.paper.shelf
        return cls(archive_id, division, fonds, reference_code, item.number, item.pages, item.paper.catalogue,
                   item.paper.volume, item.paper.item, item.paper.box, f"{s.store}/{s.row}/{s.cabinet}/{s.cell}",
                   item.files)


Params = tuple[tuple[str, Param], ...]

#: what a reader outside a finding's :attr:`Finding.named` scope sees instead of the register's values
WITHHELD = Text("paper.withheld")


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a clerk has to look at: the code and its message parameters, where it belongs (division,
    archive, item, line)."""

    code: str
    params: Params
    division: str  # '' when no archive of the catalogue is known for it
    archive_id: str | None
    item: int | None  # the electronic item number (件号 within the archive)
    ref: str  # the paper reference, fonds/catalogue/volume/item (or fonds/catalogue/volume for a gap)
    line: int | None  # the register line
    named: str | None = None  # the scope that may see the register's own values it prints (None: it prints none)

    def _message_params(self) -> dict[str, Any]:
        """Its message's parameters: those it keeps, and those it leaves out taken from its own fields (``ref``,
        ``archive``, ``item``: a PAP102, the bulk of an unreconciled repository, keeps none)."""
        params: dict[str, Any] = dict(self.params)
        for name, value in (("ref", self.ref), ("archive", self.archive_id), ("item", self.item)):
            if name not in params and value is not None and name in placeholders(self.code):
                params[name] = str(value)
        return params

    @property
    def issue(self) -> Issue:
        """The finding as an issue."""
        return issue(self.code, self.ref, **self._message_params())

    @property
    def severity(self) -> str:
        return catalogue()[self.code].severity.value

    def message(self, lang: str = "zh") -> str:
        """Its message in ``lang``, made from the code's template (no :class:`Issue` built: a CSV of two
        million findings makes two million messages)."""
        return message_of(self.code, lang, self._message_params().items())

    def seen_from(self, prefixes: Sequence[str]) -> Finding:
        """The finding as a reader of the scope ``prefixes`` sees it: whole within :attr:`named`, else with the
        register's values (``register``) withheld (a neutral text: the same whether they name another division's
        archive or none the catalogue holds)."""
        if self.named is None or scope_sees(prefixes, self.named):
            return self
        return replace(self, params=tuple((k, WITHHELD if k == "register" else v) for k, v in self.params))

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "division": self.division,
                "archive_id": self.archive_id, "item": self.item, "paper_ref": self.ref, "line": self.line,
                "message": self.message(lang)}


@cache
def placeholders(code: str) -> frozenset[str]:
    """The names in ``code``'s message, in either language."""
    info = catalogue()[code]
    return frozenset(n for text in (info.zh, info.en) for _, n, _, _ in string.Formatter().parse(text) if n)


def finding(code: str, division: str, archive_id: str | None, item: int | None, ref: str, line: int | None, /,
            named: str | None = None, **params: object) -> Finding:
    RAISED.add(code)  # as codes.issue would (a test holds every code to a fixture raising it)
    return Finding(code, tuple((k, str(v)) for k, v in params.items()), division, archive_id, item, ref, line,
                   named)


@dataclass
class Matching:
    """The register and the electronic items grouped by paper reference."""

    paper: dict[Key, list[RegisterRow]] = field(default_factory=lambda: defaultdict(list))
    electronic: dict[Key, list[Electronic]] = field(default_factory=lambda: defaultdict(list))
    divisions: dict[str, str] = field(default_factory=dict)  # archive id -> division
    references: dict[str, str] = field(default_factory=dict)  # 档号 -> its archives' division (covering them all)

    def division_of_row(self, row: RegisterRow) -> str:
        return self.place_of_row(row)[0]

    def place_of_row(self, row: RegisterRow) -> tuple[str, str | None]:
        """Where a register row's finding belongs: the division and archive of the item it matches, else of
        the archive it names (``''``: one the catalogue does not know, for the national scope alone)."""
        matched = self.electronic.get(row.key)
        if matched:
            return matched[0].division, matched[0].archive_id
        return self.divisions.get(row.archive_id or "", ""), row.archive_id

    def named_by(self, row: RegisterRow) -> str:
        """The scope that may see the archive identifier and 档号 ``row`` gives
        (:func:`repository.access.naming_scope` of the archives they name)."""
        named: list[str | None] = []
        if row.archive_id:
            named.append(self.divisions.get(row.archive_id))
        if row.reference_code:
            named.append(self.references.get(row.reference_code))
        return naming_scope(named)


def match(rows: Iterable[RegisterRow], items: Iterable[Electronic]) -> Matching:
    m = Matching()
    for row in rows:
        m.paper[row.key].append(row)
    for e in items:
        m.electronic[e.key].append(e)
        m.divisions[e.archive_id] = e.division
        held = m.references.setdefault(e.reference_code, e.division)
        if held != e.division:  # one 档号 in two divisions (rare): the scope covering both
            m.references[e.reference_code] = covering_scope([held, e.division])
    return m


def ref_text(key: Sequence[object]) -> str:
    return "/".join(str(k) for k in key)


def _pair(m: Matching, row: RegisterRow, e: Electronic, stored: Callable[[Electronic], int | None]
          ) -> list[Finding]:
    found = []
    ref = ref_text(row.key)

    def add(code: str, named: str | None = None, **params: Any) -> None:  # noqa: ANN401 - message parameters
        found.append(finding(code, e.division, e.archive_id, e.number, ref, row.line, named, ref=ref, **params))

    scanned = stored(e)
    counts = {row.pages, e.pages} | ({scanned} if scanned is not None else set())
    if len(counts) > 1:
        add("PAP103", register=row.pages, described=e.pages, stored="-" if scanned is None else scanned)
    if row.box != e.box:
        add("PAP105", register=row.box, described=e.box)
    if row.shelf is not None and row.shelf != e.shelf:
        add("PAP106", register=row.shelf, described=e.shelf)
    said = (row.archive_id or e.archive_id, row.reference_code or e.reference_code)
    if said != (e.archive_id, e.reference_code):
        add("PAP108", m.named_by(row), register=" ".join(filter(None, (row.archive_id, row.reference_code))),
            described=f"{e.archive_id} {e.reference_code}")
    return found


def _duplicates(m: Matching) -> list[Finding]:
    found = []
    for key, rows in m.paper.items():
        if len(rows) > 1:
            ref = ref_text(key)
            where = ", ".join(f"L{r.line}" for r in rows)
            found.append(finding("PAP104", *m.place_of_row(rows[0]), None, ref, rows[1].line,
                                 ref=ref, count=len(rows), where=where))
    for key, items in m.electronic.items():
        if len(items) > 1:
            ref = ref_text(key)
            by_division: dict[str, list[Electronic]] = defaultdict(list)
            for e in items:
                by_division[e.division].append(e)
            for mine in by_division.values():  # a finding per division, naming only that division's items
                shown = mine[1] if len(mine) > 1 else mine[0]
                where = ", ".join(f"{e.archive_id}#{e.number}" for e in mine)
                found.append(finding("PAP104", shown.division, shown.archive_id, shown.number, ref, None,
                                     ref=ref, count=len(items), where=where))
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
            found.append(finding("PAP107", *m.place_of_row(first), None, ref, None,
                                 volume=ref, missing=", ".join(map(str, missing))))
    return found


def reconcile(m: Matching, stored: Callable[[Electronic], int | None]) -> list[Finding]:
    """Every finding, in worklist order (division, archive, paper reference, code)."""
    found = _duplicates(m) + _gaps(m)
    for key, rows in m.paper.items():
        items = m.electronic.get(key)
        if not items:
            ref = ref_text(key)
            row = rows[0]
            found.append(finding("PAP101", *m.place_of_row(row), None, ref, row.line, ref=ref))
        else:
            found += _pair(m, rows[0], items[0], stored)
    unmatched = [items[0] for key, items in m.electronic.items() if key not in m.paper]
    if unmatched:
        RAISED.add("PAP102")
    for e in unmatched:  # the bulk of an unreconciled repository: its parameters are its fields (Finding.issue)
        found.append(Finding("PAP102", (), e.division, e.archive_id, e.number,
                             f"{e.fonds}/{e.catalogue}/{e.volume}/{e.paper_item}", None))
    return sorted(found, key=_order)


def _order(f: Finding) -> tuple[str, str, tuple[tuple[int, int, str], ...], str]:
    return (f.division, f.archive_id or "", _natural(f.ref), f.code)


def _natural(ref: str) -> tuple[tuple[int, int, str], ...]:
    """``J001/1/2019-0001/10`` after ``…/9``: numbers compared as numbers (the volume's part worked out once
    for all its items)."""
    head, _, last = ref.rpartition("/")
    return (_volume_key(head) if head else ()) + (_part(last),)


def _part(part: str) -> tuple[int, int, str]:
    return (0, int(part), "") if part.isascii() and part.isdigit() else (1, 0, part)


@lru_cache(maxsize=65536)
def _volume_key(head: str) -> tuple[tuple[int, int, str], ...]:
    return tuple(_part(p) for p in head.split("/"))
