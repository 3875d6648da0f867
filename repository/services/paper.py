"""Use-cases of the dual track (双轨制): import the paper register, reconcile it with the electronic archives,
and the coverage the statistics page shows. CLI (``hsar paper``) and web (``/paper``) call these.

The register lives in the state database (it describes paper, so the store cannot rebuild it); see
:mod:`repository.state.paper` for the re-import rule (a file replaces the register of every fonds it holds).
Reconciliation (:mod:`repository.paper.compute`) reads the catalogue's item rows and the store for the
scanned pages (:mod:`repository.formats.pages`); :func:`reconcile_paper` runs it now (the command line),
the page reads the result a ``paper`` job stored (:mod:`.paper_stored`). Scope: ``prefixes`` are
:func:`repository.access.scope_prefixes` of the user (or of ``--division``); a finding belongs to the division of its archive, and a register row whose
archive the catalogue does not know belongs to no division, so only the national scope sees it.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cells import safe_row
from ..divisions import DivisionTree, tree_for
from ..errors import PaperError
from ..home import Repository
from ..paper.compute import CODES as CODES  # the workflow's, named here for the edges
from ..paper.compute import compute
from ..paper.compute import in_scope as in_scope
from ..paper.reconcile import Finding
from ..state.db import open_state
from ..state.paper import RegisterRow, read_register, replace_register
from .paper_register import parse_register, read_register_file

CSV_FIELDS = ("code", "severity", "division", "division_name", "archive_id", "item", "paper_ref", "line",
              "message")


@dataclass(frozen=True)
class ImportResult:
    source: str
    rows: int
    fonds: tuple[str, ...]
    replaced: int  # rows of those fonds there were before


def import_register(repo: Repository, path: Path | None = None, *, data: bytes | None = None,
                    name: str | None = None, prefixes: Sequence[str] = ("",)) -> ImportResult:
    """Load the register file at ``path`` (or the bytes ``data`` of a file called ``name``): all its rows, or,
    when any row is bad, nothing (:class:`~repository.errors.PaperError` listing every problem).

    An import replaces the whole register of each fonds the file holds, so a user whose division scope is
    ``prefixes`` may import only fonds lying wholly within it (:func:`_check_scope`); the shell and the national
    scope import any."""
    if data is not None:
        source = name or "upload.csv"
        rows = parse_register(data, source)
    else:
        assert path is not None
        source = name or path.name
        rows = read_register_file(path, name=source)
    guard = None if "" in prefixes else (lambda held: _check_scope(repo, rows, held, prefixes))
    with open_state(repo.cfg.state_url) as state:
        replaced = replace_register(state, rows, source, guard=guard)
    return ImportResult(source, len(rows), tuple(sorted({r.fonds for r in rows})), replaced)


def _check_scope(repo: Repository, rows: Sequence[RegisterRow], held: Sequence[RegisterRow],
                 prefixes: Sequence[str]) -> None:
    """Refuse (``PAPER-SCOPE``, nothing imported) a file whose fonds reach outside ``prefixes``, or may: a fonds
    with a catalogued archive of another division; a row of the file naming an archive of another division;
    a row already ``held`` for the fonds that does not name an archive of the scope (it may be another
    division's, or of none the catalogue knows: only the national scope sees those, so a district never
    replaces them). The refusal names the fonds, not the archive."""
    from ..catalog.paper import fonds_divisions

    fonds = {r.fonds for r in rows}
    divisions = repo.catalog.divisions_of({r.archive_id for r in (*rows, *held) if r.archive_id})

    def mine(archive_id: str | None) -> bool:
        return archive_id in divisions and in_scope(divisions[archive_id], prefixes)

    outside = {f for f, found in fonds_divisions(repo.catalog, fonds).items()
               if any(not in_scope(d, prefixes) for d in found)}
    outside |= {r.fonds for r in rows if r.archive_id in divisions and not mine(r.archive_id)}
    outside |= {h.fonds for h in held if not mine(h.archive_id)}
    if outside:
        raise PaperError(msgid="paper.import_scope", code="PAPER-SCOPE", fonds=", ".join(sorted(outside)))


def _register(repo: Repository) -> list[RegisterRow]:
    with open_state(repo.cfg.state_url) as state:
        return read_register(state)


@dataclass(frozen=True)
class DivisionCounts:
    code: str
    name: str
    depth: int
    counts: tuple[int, ...]  # per CODES, this division and everything below it

    @property
    def total(self) -> int:
        return sum(self.counts)

    def to_dict(self) -> dict[str, Any]:
        return {"division": self.code, "name": self.name, "depth": self.depth,
                "counts": dict(zip(CODES, self.counts, strict=True)), "total": self.total}


@dataclass(frozen=True)
class Reconciliation:
    findings: tuple[Finding, ...]  # the worklist, in order
    divisions: tuple[DivisionCounts, ...]  # counts rolled up the division tree
    totals: dict[str, int]  # per code
    register_rows: int
    electronic_items: int

    @property
    def clean(self) -> bool:
        return not self.findings

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {"clean": self.clean, "totals": self.totals, "register_rows": self.register_rows,
                "electronic_items": self.electronic_items,
                "divisions": [d.to_dict() for d in self.divisions],
                "findings": [f.to_dict(lang) for f in self.findings]}


def rolled_up(findings: Sequence[Finding], tree: DivisionTree, prefixes: Sequence[str]) -> tuple[DivisionCounts, ...]:
    """Counts per division and code, each division with everything below it, within ``prefixes``."""
    from ..paper.compute import count_by_division

    return rolled_up_counts(count_by_division(findings), tree, prefixes)


def rolled_up_counts(by_division: Mapping[str, Sequence[int]], tree: DivisionTree, prefixes: Sequence[str]
                     ) -> tuple[DivisionCounts, ...]:
    """``by_division`` (findings per division code, that division alone, per :data:`CODES`) rolled up the
    tree within ``prefixes``: the ancestors of each division code asked once, not once per finding."""
    table: dict[str, list[int]] = {}
    chains: dict[str, list[str]] = {}

    def chain(code: str) -> list[str]:
        if code not in chains:
            chains[code] = list(tree.ancestors(code) or [code])
        return chains[code]

    for division, counts in by_division.items():
        for node in chain(division):
            if in_scope(node, prefixes):
                row = table.setdefault(node, [0] * len(CODES))
                for n, value in enumerate(counts):
                    row[n] += value
    order = sorted(table, key=chain)
    top = min((len(tree.ancestors(c)) for c in order if c), default=0)
    rows = []
    for code in order:
        known = tree.get(code)
        rows.append(DivisionCounts(code, known.name if known else code, max(0, len(tree.ancestors(code)) - top),
                                   tuple(table[code])))
    return tuple(rows)


def reconcile_paper(repo: Repository, prefixes: Sequence[str]) -> Reconciliation:
    """The findings within ``prefixes`` and their counts per division (an empty list sees nothing), computed
    now (the command line; the page reads a stored result, :mod:`.paper_stored`); each as a reader of that
    scope sees it (:meth:`~repository.paper.reconcile.Finding.seen_from`)."""
    done = compute(repo, prefixes)
    findings = [f.seen_from(prefixes) for f in done.findings if in_scope(f.division, prefixes)]
    counted = Counter(f.code for f in findings)
    totals = {code: counted[code] for code in CODES}
    paper = sum(n for d, n in done.register_rows.items() if in_scope(d, prefixes))
    electronic = sum(n for d, n in done.electronic_items.items() if in_scope(d, prefixes))
    return Reconciliation(tuple(findings), rolled_up(findings, tree_for(repo.cfg), prefixes), totals, paper,
                          electronic)


def findings_csv(result: Reconciliation, tree: DivisionTree, lang: str = "zh") -> str:
    """The worklist as CSV text (a header row first), for a clerk's spreadsheet."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for f in result.findings:
        known = tree.get(f.division) if f.division else None
        writer.writerow(safe_row(f.to_dict(lang) | {"division_name": known.name if known else ""}))
    return out.getvalue()


@dataclass(frozen=True)
class PaperCoverage:
    """Dual-track coverage within a scope: paper items digitised, electronic items with a paper reference."""

    paper_items: int
    paper_digitised: int
    electronic_items: int
    electronic_referenced: int


@dataclass(frozen=True)
class CoverageCounts:
    """The dual-track coverage of the whole catalogue by division code (``''``: a register row whose archive
    is not catalogued), so one count serves every scope: :meth:`scoped` sums the divisions inside it."""

    paper: dict[str, tuple[int, int]]  # division -> (paper items of the register, of them digitised)
    electronic: dict[str, tuple[int, int]]  # division -> (catalogued items, of them in the register)

    def scoped(self, prefixes: Sequence[str]) -> PaperCoverage:
        paper = [v for d, v in self.paper.items() if in_scope(d, prefixes)]
        mine = [v for d, v in self.electronic.items() if in_scope(d, prefixes)]
        return PaperCoverage(sum(n for n, _ in paper), sum(k for _, k in paper), sum(n for n, _ in mine),
                             sum(k for _, k in mine))


def coverage_counts(repo: Repository) -> CoverageCounts:
    """Paper items of the register with an electronic copy, and electronic items whose paper reference is in
    the register, per division (the register and one catalogue query; no archive view built, no stored file
    opened; with an empty register, a count of the items per division)."""
    from ..catalog.paper import keys_by_division, paper_keys

    rows = _register(repo)
    if not rows:
        return CoverageCounts({}, {d: (n, 0) for d, n in keys_by_division(repo.catalog).items()})
    items = paper_keys(repo.catalog)
    paper_rows: dict[tuple[str, str, str, int], RegisterRow] = {}
    for row in rows:
        paper_rows.setdefault(row.key, row)
    electronic = {i.key: i.division for i in items}
    divisions = {i.archive_id: i.division for i in items}
    paper: dict[str, tuple[int, int]] = {}
    for k, r in paper_rows.items():
        d = electronic.get(k) or divisions.get(r.archive_id or "", "")
        n, digitised = paper.get(d, (0, 0))
        paper[d] = (n + 1, digitised + (k in electronic))
    mine: dict[str, tuple[int, int]] = {}
    for i in items:
        n, referenced = mine.get(i.division, (0, 0))
        mine[i.division] = (n + 1, referenced + (i.key in paper_rows))
    return CoverageCounts(paper, mine)


def paper_coverage(repo: Repository, prefixes: Sequence[str]) -> PaperCoverage:
    """The dual-track coverage within ``prefixes``, counted now (the statistics page reuses a count:
    :mod:`repository.services.census`)."""
    return coverage_counts(repo).scoped(prefixes)


def demo_register(sips: Path, out: Path, *, planted: bool = False) -> list[tuple[str, str]]:
    """Write the paper register of the demo SIPs in ``sips`` (``hsar demo-data``) to ``out``, clean or with
    one discrepancy of each class (``planted``); the findings reconciliation must then report."""
    from ..demo.paper import write_demo_register
    from ..errors import PaperError

    if not (sips / "demo_manifest.json").is_file():
        raise PaperError(msgid="paper.not_demo", code="PAP-DEMO", folder=sips)
    try:
        return write_demo_register(sips, out, planted=planted)
    except ValueError:
        raise PaperError(msgid="paper.demo_too_small", code="PAP-DEMO", folder=sips) from None
