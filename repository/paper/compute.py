"""Reconciling the whole repository once: the register (state database), every described item (the catalogue's
item rows, one query) and, for the items the register matches, the scanned pages stored (each archive's
inventory read once, each matched item's files opened to count their pages: the costly part once a register
is imported, :func:`stored_pages`; each file's count is kept by its SHA-512 in the home's cache, so a later
run counts only files it has not seen).

The result is national: findings in worklist order, and per division code (``''`` for a register row whose
archive the catalogue does not know) the findings per code and the register rows and electronic items
counted, so that any scope's counts are a sum (:mod:`repository.paper.stored` keeps it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..fixity import hash_file
from ..formats.pages import counter, page_count, pages_of, without_reading
from ..home import Repository
from ..preservation.ids import object_id
from ..preservation.ocfl_inventory import logical_state
from ..search.textcache import PAGES, TextCache
from ..state.db import open_state
from ..state.paper import RegisterRow, read_register, register_mark
from .reconcile import Electronic, Finding, Matching, match, reconcile

#: the finding codes, in the order of the count columns
CODES = ("PAP101", "PAP102", "PAP103", "PAP104", "PAP105", "PAP106", "PAP107", "PAP108")


def in_scope(division: str, prefixes: Sequence[str]) -> bool:
    """Whether a finding of ``division`` ('' for none known) lies within ``prefixes``."""
    return any(division.startswith(p) for p in prefixes) if division else "" in prefixes


def electronic(repo: Repository) -> list[Electronic]:
    """Every described item, from the catalogue's item rows (no description decoded; files not read)."""
    from ..catalog.paper import item_rows

    seen: dict[str, str] = {}
    one = seen.setdefault  # an archive's identifier, division, fonds, 档号, volume, box … held once, not per item
    return [Electronic(one(a, a), one(d, d), one(f, f), one(r, r), n, pages, one(c, c), one(v, v), item, one(b, b),
                       one(s, s))
            for a, d, f, r, n, pages, c, v, item, b, s in item_rows(repo.catalog)]


def electronic_from_descriptions(repo: Repository) -> list[Electronic]:
    """The same items read by decoding every archive's description (the slow path, kept to check
    :func:`electronic` against: the two must give the same findings)."""
    from ..catalog.paper import descriptions

    return [Electronic.of(a.identifier, a.division, a.fonds, a.reference_code, item)
            for a in descriptions(repo.catalog) for item in a.items]


def register(repo: Repository) -> tuple[list[RegisterRow], tuple[object, ...]]:
    """The register's rows and its mark (:func:`repository.state.paper.register_mark`), read together."""
    with open_state(repo.cfg.state_url) as state:
        return read_register(state), register_mark(state)


def stored_pages(repo: Repository, prefixes: Sequence[str],
                 files: Mapping[tuple[str, int], tuple[str, ...]] | None = None, *,
                 cache: TextCache | None = None) -> Callable[[Electronic], int | None]:
    """Pages stored for an item (in scope, with files): each archive's inventory read once; each of the item's
    files counted once for all runs. ``files`` gives an item's files when the item does not carry them (the
    item rows of the catalogue do not).

    A file's count is kept in the home's cache (``cache``, default the home's :class:`TextCache`, kind
    ``pages``) under the SHA-512 of its bytes and looked up by the digest the head version's inventory gives
    it, so a later run opens no file it has counted. A count is kept only when the bytes it was counted from
    have that digest (the file is read whole once, to hash it): a damaged file's count is never kept under the
    digest of the intact bytes, and a count that cannot be made (an unknown format, a file that does not parse)
    is not kept. A PDF's and a TIFF's counts are usually kept already: ingest keeps a TIFF's as it receives it
    (:func:`repository.ingest.ahead._tiff_pages`), indexing parses each PDF at ingest and keeps its count then
    (:func:`repository.search.indexing.pdf_text`). An image is one page: never opened, hashed or kept."""
    where: dict[str, tuple[Mapping[str, Path], Mapping[str, str]] | None] = {}
    kept = repo.text_cache if cache is None else cache
    by = counter()

    def stored_of(archive_id: str) -> tuple[Mapping[str, Path], Mapping[str, str]] | None:
        if archive_id not in where:
            try:
                oid = object_id(archive_id)
                inventory = repo.store.inventory(oid)
                where[archive_id] = (repo.store.content_paths(oid, inventory=inventory), logical_state(inventory))
            except Exception:  # noqa: BLE001 - an object the store cannot give is the audit's business
                where[archive_id] = None
        return where[archive_id]

    def pages(path: Path, digest: str | None) -> int | None:
        fixed = without_reading(path)  # an image: one page, nothing to open, hash or keep
        if fixed is not None:
            return fixed
        if digest is not None:
            found = kept.get(PAGES, digest, by)
            if type(found) is int:
                return found
        n = page_count(path)
        if n is not None and digest is not None and hash_file(path, ["sha512"])[1]["sha512"] == digest:
            kept.put(PAGES, digest, by, n)
        return n

    def stored(e: Electronic) -> int | None:
        named = e.files or (files or {}).get((e.archive_id, e.number), ())
        if not in_scope(e.division, prefixes) or not named:
            return None
        found = stored_of(e.archive_id)
        if found is None or any(f not in found[0] for f in named):
            return None
        paths, digests = found
        try:
            return pages_of(named, lambda f: pages(paths[f], digests.get(f)))
        except Exception:  # noqa: BLE001 - a file the store cannot give is the audit's business, not this count
            return None
    return stored


@dataclass(frozen=True)
class Computed:
    """A reconciliation of the whole repository."""

    findings: list[Finding]  # worklist order
    counts: dict[str, list[int]]  # division code -> findings per CODES (that division alone, not rolled up)
    register_rows: dict[str, int]  # division code -> register rows
    electronic_items: dict[str, int]  # division code -> electronic items
    register_mark: tuple[object, ...]  # the register it read (changes with every import)
    catalog_mark: tuple[int, ...] = ()  # the catalogue it read (changes with every ingest, supplement, disposal)


def tallies(m: Matching, rows: Sequence[RegisterRow], items: Sequence[Electronic]
            ) -> tuple[dict[str, int], dict[str, int]]:
    """Register rows and electronic items per division code."""
    paper = Counter(m.division_of_row(r) for r in rows)
    mine = Counter(e.division for e in items)
    return dict(paper), dict(mine)


def count_by_division(findings: Sequence[Finding]) -> dict[str, list[int]]:
    """Findings per division code and code (the division alone; roll up with the division tree)."""
    column = {code: n for n, code in enumerate(CODES)}
    table: dict[str, list[int]] = {}
    for f in findings:
        row = table.get(f.division)
        if row is None:
            row = table[f.division] = [0] * len(CODES)
        row[column[f.code]] += 1
    return table


def compute(repo: Repository, prefixes: Sequence[str] = ("",),
            progress: Callable[[int, int], None] | None = None) -> Computed:
    """Reconcile the register with every electronic item; scanned pages are counted within ``prefixes`` (the
    findings are of every division: filter them by scope to show them)."""
    step = progress or (lambda _done, _total: None)
    step(0, 4)
    from ..catalog.statistics import change_mark

    rows, mark = register(repo)
    catalogued = change_mark(repo.catalog)  # read first: what is recorded meanwhile makes the result stale
    items = electronic(repo)
    step(1, 4)
    m = match(rows, items)
    from ..catalog.paper import item_files

    matched = {(found[0].archive_id, found[0].number) for key, found in m.electronic.items() if key in m.paper}
    files = item_files(repo.catalog, matched)
    step(2, 4)
    findings = reconcile(m, stored_pages(repo, prefixes, files))
    step(3, 4)
    paper, mine = tallies(m, rows, items)
    return Computed(findings, count_by_division(findings), paper, mine, mark, catalogued)
