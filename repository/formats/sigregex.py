"""Necessary conditions for FIDO's signature regexes: literal bytes a match must contain, and where.

A PRONOM byte sequence becomes a FIDO regex such as ``(?s)\\A%PDF-1\\.4`` or
``(?s)\\A.{30}\\[Content_Types\\]\\.xml`` or ``(?s)%%EOF.{0,1024}\\Z``. Any match of such a regex contains
its top-level literal runs, each starting inside a window of offsets fixed by the widths of what
precedes it (or, for a regex anchored at the end with ``\\Z``, ending inside a window measured from the
end). Testing those literals with ``bytes.startswith``/``bytes.find`` costs far less than running the
regex, and a signature whose literals are absent cannot match. The conditions are necessary, never
sufficient: the regex itself still decides.

The regex is read with Python's own parser (``re._parser``, the first half of ``re.compile``), so the
analysis sees exactly the structure the regex engine will run: a flat list of *atoms*, each a literal
chunk or an opaque item of known minimum and maximum width. Groups are inlined; alternations, classes
and repeats are opaque; a case-insensitive regex yields no conditions.
"""

from __future__ import annotations

import functools
import re
import re._constants as sre_c
import re._parser as sre_p

# (literal, lo, hi, from_end): from the start, the literal begins at an offset in [lo, hi]; from the end,
# it ends lo..hi bytes before the end of the buffer. hi None means unbounded.
Check = tuple[bytes, int, "int | None", bool]
# (kind, literal chunk, min width, max width); kind is 'lit', 'any' (opaque), 'A' (\A) or 'Z' (\Z).
Atom = tuple[str, bytes, int, "int | None"]

_UNBOUNDED = 1 << 31


def check_holds(check: Check, buf: bytes) -> bool:
    """True when ``buf`` can satisfy ``check`` (see :data:`Check`)."""
    lit, lo, hi, from_end = check
    size = len(lit)
    n = len(buf)
    if not from_end:
        if lo == hi:
            return buf.startswith(lit, lo)
        return buf.find(lit, lo, n if hi is None else hi + size) >= 0
    if lo == hi:
        start = n - lo - size
        return start >= 0 and buf.startswith(lit, start)
    return buf.find(lit, 0 if hi is None else max(0, n - hi - size), n - lo) >= 0


def _add(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


def _sre_items(items: list, state: sre_p.State) -> list[Atom]:
    atoms: list[Atom] = []
    for op, av in items:
        if op is sre_c.LITERAL:
            atoms.append(("lit", bytes([av]), 1, 1))
        elif (op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT) and av[0] == av[1] and 1 <= av[0] <= 64
              and av[2] and all(o is sre_c.LITERAL for o, _ in av[2])):
            chunk = bytes(v for _, v in av[2]) * av[0]
            atoms.append(("lit", chunk, len(chunk), len(chunk)))
        elif op is sre_c.SUBPATTERN and not av[1] & re.IGNORECASE:
            atoms += _sre_items(list(av[3]), state)
        elif (op, av) == (sre_c.AT, sre_c.AT_BEGINNING_STRING):
            atoms.append(("A", b"", 0, 0))
        elif (op, av) == (sre_c.AT, sre_c.AT_END_STRING):
            atoms.append(("Z", b"", 0, 0))
        else:
            lo, hi = sre_p.SubPattern(state, [(op, av)]).getwidth()
            atoms.append(("any", b"", lo, None if hi >= _UNBOUNDED else hi))
    return atoms


def sre_atoms(regex: bytes) -> list[Atom] | None:
    """Atoms of ``regex`` by Python's regex parser (None if it does not parse or ignores case)."""
    try:
        parsed = sre_p.parse(regex)
    except re.error:
        return None
    if parsed.state.flags & re.IGNORECASE:
        return None
    return _sre_items(list(parsed.data), parsed.state)


def literal_runs(atoms: list[Atom], backward: bool) -> list[tuple[bytes, int, int | None]]:
    """``[(literal, lo, hi)]``: each literal run with its window (from the start, or from the end)."""
    runs: list[tuple[bytes, int, int | None]] = []
    hi: int | None
    lo, hi = 0, 0
    run, rlo = b"", 0
    rhi: int | None = 0
    for kind, chunk, wlo, whi in (reversed(atoms) if backward else atoms):
        if kind == "lit":
            if not run:
                rlo, rhi = lo, hi
            run = chunk + run if backward else run + chunk
        elif run:
            runs.append((run, rlo, rhi))
            run = b""
        lo, hi = lo + wlo, _add(hi, whi)
    if run:
        runs.append((run, rlo, rhi))
    return runs


def check_cost(check: Check) -> int:
    """Rough cost of testing a check: fixed offsets first, then by window size."""
    lit, lo, hi, _ = check
    return 0 if lo == hi else (1 << 40 if hi is None else hi - lo) - len(lit)


@functools.lru_cache(maxsize=4096)  # PRONOM repeats many patterns
def pattern_checks(regex: bytes, anchored_start: bool) -> tuple[Check, ...]:
    """Necessary conditions for ``regex`` to match (``re.match`` if ``anchored_start``, else ``re.search``)."""
    atoms = sre_atoms(regex)
    if not atoms:
        return ()
    if atoms[0][0] == "A":
        anchored_start = True
    if anchored_start:
        checks = [(lit, lo, hi, False) for lit, lo, hi in literal_runs(atoms, backward=False)]
    elif atoms[-1][0] == "Z":
        checks = [(lit, lo, hi, True) for lit, lo, hi in literal_runs(atoms, backward=True)]
    else:
        runs = sorted(literal_runs(atoms, backward=False), key=lambda r: -len(r[0]))[:2]
        checks = [(lit, 0, None, False) for lit, _, _ in runs]
    return tuple(sorted(checks, key=check_cost))


def _closing_paren(regex: bytes, start: int) -> int:
    """Index of the ``)`` closing the group opened at ``start`` (escapes and classes skipped), or -1."""
    depth, i, in_class = 0, start, False
    while i < len(regex):
        c = regex[i:i + 1]
        if c == b"\\":
            i += 2
            continue
        if in_class:
            in_class = c != b"]"
        elif c == b"[":
            in_class = True
        elif c == b"(":
            depth += 1
        elif c == b")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


@functools.lru_cache(maxsize=4096)
def consume_negations(regex: bytes) -> bytes:
    """PRONOM's "any byte but X" (``[!X]``) as a byte that is consumed, not a look-ahead that consumes none.

    FIDO writes ``[!00]`` as ``(?!\\x00)``: it asserts without moving, so the next item starts one byte
    early and, at the end of a pattern, nothing is required at all (HFS volume headers, fmt/1105, are never
    recognised). Each negative look-ahead of fixed width ``n`` becomes ``(?!X).{n}``: the same test, then
    the ``n`` bytes it tested. Look-aheads of variable width are left alone.
    """
    out, pos = [], 0
    while (start := regex.find(b"(?!", pos)) >= 0:
        if _escaped(regex, start):
            out.append(regex[pos:start + 1])
            pos = start + 1
            continue
        end = _closing_paren(regex, start)
        if end < 0:
            break
        width = _fixed_width(regex[start + 3:end])
        out.append(regex[pos:end + 1] + (b".{%d}" % width if width else b""))
        pos = end + 1
    return b"".join(out) + regex[pos:]


def _escaped(regex: bytes, index: int) -> bool:
    slashes = len(regex[:index]) - len(regex[:index].rstrip(b"\\"))
    return slashes % 2 == 1


def _fixed_width(body: bytes) -> int:
    try:
        lo, hi = sre_p.parse(body).getwidth()
    except re.error:
        return 0
    return lo if lo == hi else 0
