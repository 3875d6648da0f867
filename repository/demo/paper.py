"""The demo's paper register (纸质档案登记表): what the records office would list for the demo SIPs, and the
same register with one discrepancy of each class planted on purpose (双轨制 reconciliation's demo).

The register is read off the demo SIPs' descriptions (``metadata/descriptive.xml``), one row per item with
its paper reference, so a clean demo reconciles with no finding. :func:`plant` changes a copy so that each
finding class (PAP101…PAP108) turns up, and says which findings reconciliation must report.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, replace
from pathlib import Path

from .. import messages
from ..descriptive import read_descriptive

COLUMNS = ("fonds", "catalogue", "volume", "item", "pages", "box", "shelf", "reference_code", "archive_id")


@dataclass(frozen=True)
class PaperRow:
    fonds: str
    catalogue: str
    volume: str
    item: int
    pages: int
    box: str
    shelf: str
    reference_code: str
    archive_id: str

    @property
    def ref(self) -> str:
        return f"{self.fonds}/{self.catalogue}/{self.volume}/{self.item}"

    @property
    def volume_ref(self) -> str:
        return f"{self.fonds}/{self.catalogue}/{self.volume}"


def register_of(sips: Path) -> list[PaperRow]:
    """One row per item of every SIP listed in ``sips/demo_manifest.json`` (defects left out), in order."""
    manifest = json.loads((sips / "demo_manifest.json").read_text("utf-8"))
    rows = []
    for entry in manifest["sips"]:
        if entry["kind"] == "defect":
            continue
        a = read_descriptive(sips / entry["path"] / "metadata" / "descriptive.xml")
        for item in a.items:
            p = item.paper
            rows.append(PaperRow(a.fonds, p.catalogue, p.volume, p.item, item.pages, p.box, str(p.shelf),
                                 a.reference_code, a.identifier))
    return rows


def _volumes(rows: list[PaperRow]) -> list[str]:
    seen: list[str] = []
    for r in rows:
        if r.volume_ref not in seen:
            seen.append(r.volume_ref)
    return seen


def plant(rows: list[PaperRow]) -> tuple[list[PaperRow], list[tuple[str, str]]]:
    """A copy of ``rows`` with one discrepancy of each class, and the findings (code, paper reference) that
    reconciliation must report for it. Needs at least four volumes with two items each."""
    volumes = _volumes(rows)
    if len(volumes) < 4:
        raise ValueError("planting needs a demo register of at least four volumes")
    first = [r for r in rows if r.volume_ref == volumes[0]]
    if len(first) < 5:
        raise ValueError("planting needs a first volume of at least five items")
    out = list(rows)
    expected: list[tuple[str, str]] = []

    def change(row: PaperRow, code: str, **fields: object) -> None:
        out[out.index(row)] = replace(row, **fields)  # type: ignore[arg-type]
        expected.append((code, row.ref))

    change(first[0], "PAP103", pages=first[0].pages + 1)  # page count differs
    change(first[1], "PAP105", box=first[1].box + "-X")  # box differs
    change(first[2], "PAP106", shelf="9库9排9柜9格")  # shelf location differs
    change(first[3], "PAP108", reference_code=first[3].reference_code + "-X")  # 档号 differs
    out.insert(out.index(first[4]) + 1, first[4])  # one paper reference listed twice
    expected.append(("PAP104", first[4].ref))
    last = [r for r in out if r.volume_ref == volumes[-1]]
    out.remove(last[-1])  # an electronic item with no paper counterpart
    expected.append(("PAP102", last[-1].ref))
    backlog = [r for r in out if r.volume_ref == volumes[-2]][-1]
    extra = replace(backlog, item=backlog.item + 1, pages=2)  # a paper item not yet scanned
    out.insert(out.index(backlog) + 1, extra)
    expected.append(("PAP101", extra.ref))
    gap = [r for r in out if r.volume_ref == volumes[-3]][-1]
    beyond = replace(gap, item=gap.item + 2, pages=1)  # item gap.item + 1 is missing
    out.insert(out.index(gap) + 1, beyond)
    expected += [("PAP107", gap.volume_ref), ("PAP101", beyond.ref)]
    return out, sorted(expected)


def register_csv(rows: list[PaperRow]) -> bytes:
    """The register as CSV: UTF-8 with a BOM (spreadsheet programs read it), Chinese header names."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([messages.text(f"paper.column.{c}", "zh") for c in COLUMNS])
    for r in rows:
        writer.writerow([getattr(r, c) for c in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write_demo_register(sips: Path, out: Path, *, planted: bool = False) -> list[tuple[str, str]]:
    """Write the demo's paper register for the SIPs in ``sips`` to ``out``; with ``planted``, one discrepancy
    of each class, and the expected findings also go to ``<out>.expected.json``. The expected findings."""
    rows = register_of(sips)
    expected: list[tuple[str, str]] = []
    if planted:
        rows, expected = plant(rows)
        side = out.with_name(out.name + ".expected.json")
        side.write_text(json.dumps([{"code": c, "paper_ref": r} for c, r in expected], ensure_ascii=False,
                                   indent=2) + "\n", "utf-8")
    out.write_bytes(register_csv(rows))
    return expected
