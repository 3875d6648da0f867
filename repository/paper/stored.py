"""The stored reconciliation (核对结果): a derived report in the home, ``reports/paper-reconciliation.sqlite``.

Recomputable from the register, the catalogue and the store, so it is neither state nor a cache that
``rebuild-catalog`` makes: a report, like the audit's. One SQLite file, written beside its place and renamed
over it when complete (a failed run leaves the previous result), opened read-only and immutable by readers
(a page on another machine sharing the home reads it as it is; a replaced file is a new one):

- ``meta``: when it was made, by whom, by which job, the register's mark (an import since makes it stale),
  the register rows and electronic items counted;
- ``tallies``: per division code (``''``: a register row of an archive the catalogue does not know), the
  register rows and electronic items; ``counts``: per division code and finding code, the findings (that
  division alone: a scope's rolled-up counts are sums over a few thousand rows);
- ``findings``: one row each in worklist order (division first, so one division prefix is one run of rows,
  read by the index on ``division``): code, division, archive, item, paper reference, register line and the
  message parameters as JSON, less those the row's columns already hold (the reference, archive and item).

A page reads one page of findings and the counts of its scope; the CSV export streams every finding of the
scope. Messages are rendered when read, in the reader's language (:func:`render`).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..home import Repository
from .compute import CODES, Computed, compute
from .reconcile import Finding

#: 2: a PAP104 finding names only its own division's items (1 named every division's); 3: a finding keeps the
#: scope that may see the register's values it prints (``named``), a reader outside it gets them withheld
FORMAT = 3
_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE tallies (division TEXT PRIMARY KEY, register_rows INTEGER NOT NULL, electronic_items INTEGER NOT NULL);
CREATE TABLE counts (division TEXT NOT NULL, code TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (division, code));
CREATE TABLE findings (seq INTEGER PRIMARY KEY, code TEXT NOT NULL, division TEXT NOT NULL, archive_id TEXT,
                       item INTEGER, ref TEXT NOT NULL, line INTEGER, params TEXT, named TEXT);
"""
_FROM_COLUMNS = ("ref", "archive", "item")  # parameters a row's columns hold


@dataclass(frozen=True)
class Made:
    """What the stored result says of itself."""

    made_at: datetime
    started_by: str
    job_id: str | None
    register_mark: tuple[object, ...]
    register_rows: int
    electronic_items: int
    catalog_mark: tuple[int, ...] = ()  # the catalogue it read (statistics.change_mark); () when not recorded


def _extra(f_params: Sequence[tuple[str, object]], ref: str, archive_id: str | None, item: int | None) -> str | None:
    same = {"ref": ref, "archive": archive_id, "item": None if item is None else str(item)}
    kept = {k: v for k, v in f_params if not (k in _FROM_COLUMNS and same[k] == v)}
    return json.dumps(kept, ensure_ascii=False, separators=(",", ":")) if kept else None


def write(path: Path, computed: Computed, *, started_by: str, job_id: str | None = None,
          made_at: datetime | None = None) -> Made:
    """Write ``computed`` to ``path`` atomically (a temporary file in the same folder, renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    made = Made(made_at or datetime.now(UTC), started_by, job_id, computed.register_mark,
                sum(computed.register_rows.values()), sum(computed.electronic_items.values()), computed.catalog_mark)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.unlink(missing_ok=True)
    _clear_leftovers(path)
    try:
        conn = sqlite3.connect(temp)
        try:
            conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
            meta = {"format": FORMAT, "made_at": made.made_at.isoformat(), "started_by": started_by,
                    "job_id": job_id, "register_mark": list(computed.register_mark),
                    "register_rows": made.register_rows, "electronic_items": made.electronic_items,
                    "catalog_mark": list(computed.catalog_mark)}
            conn.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v, ensure_ascii=False, default=str))
                                                               for k, v in meta.items()])
            divisions = set(computed.register_rows) | set(computed.electronic_items)
            conn.executemany("INSERT INTO tallies VALUES (?, ?, ?)", [
                (d, computed.register_rows.get(d, 0), computed.electronic_items.get(d, 0)) for d in sorted(divisions)])
            conn.executemany("INSERT INTO counts VALUES (?, ?, ?)", [
                (d, code, n) for d, row in computed.counts.items() for code, n in zip(CODES, row, strict=True) if n])
            conn.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (
                (seq, f.code, f.division, f.archive_id, f.item, f.ref, f.line, _extra(f.params, f.ref, f.archive_id, f.item),
                 f.named) for seq, f in enumerate(computed.findings)))
            conn.execute("CREATE INDEX findings_division ON findings (division)")
            conn.commit()
        finally:
            conn.close()
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return made


def _clear_leftovers(path: Path, age: float = 86400.0) -> None:
    """Temporary files of runs that died (a killed worker) a day or more ago."""
    import time

    for leftover in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            if time.time() - leftover.stat().st_mtime > age:
                leftover.unlink()
        except OSError:
            pass


# ------------------------------------------------------------------------------------------ reading


def _range(prefix: str) -> tuple[str, str] | None:
    """The ``division`` values starting with ``prefix``, as a half-open range (None: every division)."""
    if not prefix:
        return None
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _where(prefixes: Sequence[str]) -> tuple[str, list[str]]:
    """A SQL condition on ``division`` for the scope ``prefixes`` (``[""]``: everything; ``[]``: nothing)."""
    if not prefixes:
        return "0", []
    if "" in prefixes:
        return "1", []
    parts, args = [], []
    for p in prefixes:
        lo_hi = _range(p)
        assert lo_hi is not None
        parts.append("(division >= ? AND division < ?)")
        args += list(lo_hi)
    return " OR ".join(parts), args


class Stored:
    """One stored result, open for reading (read-only, immutable: a new result is a new file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            meta = {k: json.loads(v) for k, v in self.conn.execute("SELECT key, value FROM meta")}
            if meta.get("format") != FORMAT:
                raise ValueError(f"stored reconciliation of format {meta.get('format')!r}")
            self.made = Made(datetime.fromisoformat(meta["made_at"]), str(meta["started_by"]), meta.get("job_id"),
                             tuple(meta["register_mark"]), int(meta["register_rows"]), int(meta["electronic_items"]),
                             tuple(int(n) for n in meta.get("catalog_mark") or ()))
        except BaseException:
            self.conn.close()
            raise

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Stored:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def counts(self, prefixes: Sequence[str]) -> dict[str, list[int]]:
        """Findings per division code (that division alone) and code, within ``prefixes``."""
        where, args = _where(prefixes)
        table: dict[str, list[int]] = {}
        column = {code: n for n, code in enumerate(CODES)}
        for division, code, n in self.conn.execute(f"SELECT division, code, n FROM counts WHERE {where}", args):  # noqa: S608 - built here
            table.setdefault(division, [0] * len(CODES))[column[code]] = n
        return table

    def tallies(self, prefixes: Sequence[str]) -> tuple[int, int]:
        """Register rows and electronic items within ``prefixes``."""
        where, args = _where(prefixes)
        row = self.conn.execute(f"SELECT coalesce(sum(register_rows), 0), coalesce(sum(electronic_items), 0) "  # noqa: S608 - built here
                                f"FROM tallies WHERE {where}", args).fetchone()
        return int(row[0]), int(row[1])

    def findings(self, prefixes: Sequence[str], *, offset: int = 0, limit: int | None = None) -> Iterator[Finding]:
        """The findings within ``prefixes`` in worklist order, from ``offset`` (at most ``limit``), as a reader of
        that scope sees them (:meth:`Finding.seen_from`: the register's values withheld where they may name an
        archive outside it; the parameters the row's columns hold come back from the finding's own fields when
        its message is made: :attr:`Finding.issue`)."""
        where, args = _where(prefixes)
        query = (f"SELECT code, division, archive_id, item, ref, line, params, named FROM findings WHERE {where} "  # noqa: S608
                 f"ORDER BY division, seq LIMIT ? OFFSET ?")
        for code, division, archive_id, item, ref, line, params, named in self.conn.execute(
                query, [*args, -1 if limit is None else limit, offset]):
            kept = tuple(json.loads(params).items()) if params else ()
            yield Finding(code, kept, division, archive_id, item, ref, line, named).seen_from(prefixes)


def open_stored(path: Path) -> Stored | None:
    """The stored result at ``path``, or None when there is none yet (or none this hsar can read: a damaged
    file, or one of another format, is made again by the next run)."""
    if not path.is_file():
        return None
    try:
        return Stored(path)
    except (sqlite3.DatabaseError, KeyError, ValueError, TypeError):
        return None


def reconcile_and_store(repo: Repository, *, started_by: str, job_id: str | None = None,
                        progress: Callable[[int, int], None] | None = None) -> Made:
    """Reconcile the whole repository (national scope) and store the result in the home (the ``paper`` job's
    work, and ``hsar paper reconcile --store``). Anything raised leaves the previous result as it was."""
    computed = compute(repo, ("",), progress)
    made = write(repo.paths.paper_report, computed, started_by=started_by, job_id=job_id)
    if progress is not None:
        progress(4, 4)
    return made
