"""FIDO's PRONOM signatures, loaded once and matched fast, with the same verdicts as ``fido``.

This module implements the matching rules of FIDO 1.6.1 (``fido.fido.Fido.match_formats``,
``match_extensions``, ``match_container`` and ``fido.package``) over the signatures FIDO itself parses
(``formats-v109.xml``, ``format_extensions.xml``, ``container-signature-20200121.xml``):

* every signature pattern is a regular expression applied to the first (``BOF``, ``VAR``, ``IFB``) or
  last (``EOF``) *bufsize* bytes of a file; a signature matches when all of its patterns do;
* formats are tried in file order, a format is skipped when a format already matched has priority over
  it (``has_priority_over``), and inferior matches are removed at the end;
* with no signature match, the file extension is looked up the same way.

Why it is faster than ``fido`` without changing a verdict: ``fido`` walks its XML elements for every
pattern of every signature for every file (``findall``, ``find``, re-encoding the regex, a regex-cache
lookup) and runs the first regex of nearly all 1,946 signatures. Here the patterns sit in flat lists,
compiled once per process when first needed, and each carries *necessary conditions* derived from its
parse tree (:mod:`repository.formats.sigregex`): literal bytes any match must contain at a known
offset or inside a known window. A signature whose conditions fail cannot match, so its regexes are not
run; signatures that need a given byte at a fixed offset are indexed by it. Conditions are only ever
necessary, never sufficient: every candidate that survives them is decided by FIDO's own regex, in
FIDO's order.

Where FIDO is wrong, hsar deliberately differs (each difference is listed in
:data:`repository.formats.fidodiff.DIFFERENCES` and tested):

* a negated byte (``[!00]``, FIDO's ``(?!\x00)``) consumes the byte (:func:`.sigregex.consume_negations`);
* a ``VAR`` pattern ("anywhere in the file") is searched in the last *bufsize* bytes as well as the first;
* formats FIDO adds itself (``fido-fmt/...``, not PRONOM PUIDs) are not matched: container signatures
  identify those files (:mod:`repository.formats.container`);
* container signatures are read as DROID reads them, and apply to every ZIP or OLE2 file by its magic bytes.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

import fido
from fido.fido import Fido

from ..errors import IngestError
from .container import ContainerSignature, load_container_signatures, member_names
from .sigregex import Check, check_cost, check_holds, consume_negations, pattern_checks

FIDO_CONF = Path(fido.CONFIG_DIR)
FORMAT_FILES = ("formats-v109.xml", "format_extensions.xml")
CONTAINER_FILE = "container-signature-20200121.xml"
FIDO_VERSION: str = fido.__version__

_MAX_CHECKS = 4
ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
LOCAL_FIDO_PREFIX = "fido-"  # FIDO's own additions (format_extensions.xml): not PRONOM PUIDs


@dataclass
class _Pattern:
    position: str  # BOF, EOF, VAR, IFB (others never fail, as in fido)
    source: bytes
    compiled: re.Pattern | None = None

    def matches(self, bof: bytes, eof: bytes) -> bool:
        rx = self.compiled
        if rx is None:
            rx = self.compiled = re.compile(self.source)
        if self.position == "BOF":
            return rx.match(bof) is not None
        if self.position == "EOF":
            return rx.search(eof) is not None
        if self.position == "VAR":  # anywhere in the file: both ends are read
            return rx.search(bof) is not None or (eof is not bof and rx.search(eof) is not None)
        if self.position == "IFB":
            return rx.search(bof) is not None
        return True


@dataclass
class _Signature:
    fmt: int
    name: str
    patterns: tuple[_Pattern, ...]
    checks: tuple[tuple[Check, bool | None], ...]  # (check, on the EOF buffer; None: on either), cheapest first
    key: tuple[int, int] | None  # (offset, byte): a literal byte every match has there in the BOF buffer


@dataclass(frozen=True)
class FormatInfo:
    puid: str
    name: str
    version: str
    mime: str
    container: str | None  # 'zip', 'tar', 'ole' or None, as fido.Fido.container_type decides


def _text(element: ET.Element, tag: str) -> str:
    return (element.findtext(tag) or "").strip()


def _signature(fmt: int, sig: ET.Element) -> _Signature:
    patterns: list[_Pattern] = []
    checks: list[tuple[Check, bool | None]] = []
    for pat in sig.findall("pattern"):
        position = pat.findtext("position") or ""
        regex = consume_negations((pat.findtext("regex") or "").encode("utf8"))
        patterns.append(_Pattern(position, regex))
        if position == "VAR":
            checks += [(c, None) for c in pattern_checks(regex, anchored_start=False) if not c[3]]
        elif position in ("BOF", "IFB"):
            checks += [(c, False) for c in pattern_checks(regex, anchored_start=position == "BOF")]
        elif position == "EOF":
            checks += [(c, True) for c in pattern_checks(regex, anchored_start=False)]
    checks.sort(key=lambda c: check_cost(c[0]))
    fixed = sorted((c[1], c[0][0]) for c, on_eof in checks if c[1] == c[2] and not c[3] and on_eof is False)
    return _Signature(fmt, sig.findtext("name") or "", tuple(patterns), tuple(checks[:_MAX_CHECKS]),
                      fixed[0] if fixed else None)


def _plausible(checks: tuple[tuple[Check, bool | None], ...], bof: bytes, eof: bytes,
               memo: dict[tuple[bytes, bool], int]) -> bool:
    """Every necessary condition of a signature holds (see :func:`check_holds`).

    Open-ended searches ("this literal somewhere after offset N") share one ``rfind`` per literal and
    buffer per file: the literal occurs at or after N exactly when its last occurrence does. A check of a
    ``VAR`` pattern (``on_eof`` None) holds when it holds on either buffer.
    """
    for check, on_eof in checks:
        if on_eof is None:
            if not (check_holds(check, bof) or check_holds(check, eof)):
                return False
            continue
        lit, lo, hi, from_end = check
        if hi is None and not from_end:
            last = memo.get((lit, on_eof))
            if last is None:
                last = memo[(lit, on_eof)] = (eof if on_eof else bof).rfind(lit)
            if last < lo:
                return False
        elif lo == hi and not from_end:
            if not (eof if on_eof else bof).startswith(lit, lo):
                return False
        elif not check_holds(check, eof if on_eof else bof):
            return False
    return True


def load_fido(conf_dir: Path = FIDO_CONF, format_files: tuple[str, ...] = FORMAT_FILES,
              container_file: str = CONTAINER_FILE, bufsize: int = 131072) -> Fido:
    """A quiet :class:`fido.fido.Fido` with the signature files named explicitly (its defaults are not shipped)."""
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            engine = Fido(quiet=True, bufsize=bufsize, nocontainer=False, conf_dir=str(conf_dir),
                          format_files=list(format_files), handle_matches=lambda *args: None)
    except (SystemExit, OSError) as exc:
        raise IngestError(f"cannot load FIDO signatures from {conf_dir}: {sink.getvalue() or exc}",
                          code="FORMAT_SIGNATURES") from None
    engine.containersignature_file = container_file
    return engine


class SignatureTable:
    """FIDO's formats and signatures, prepared once per process for fast matching."""

    def __init__(self, engine: Fido, container_path: Path) -> None:
        formats = engine.formats
        index = {engine.get_puid(f): i for i, f in enumerate(formats)}
        self.formats = tuple(self._info(engine, f) for f in formats)
        self.by_puid = index
        self.inferior = tuple(frozenset(index[p] for p in engine.puid_has_priority_over_map[info.puid]
                                        if p in index) for info in self.formats)
        self.signatures = [_signature(i, s) for i, f in enumerate(formats) for s in f.findall("signature")
                           if not self.formats[i].puid.startswith(LOCAL_FIDO_PREFIX)]
        self._index()
        self.extensions = self._extensions(formats)
        self.containers: tuple[ContainerSignature, ...] = load_container_signatures(ET.parse(container_path))
        self.container_members = {kind: member_names(self.containers, kind) for kind in ("ZIP", "OLE2")}

    @staticmethod
    def _info(engine: Fido, f: ET.Element) -> FormatInfo:
        puid = engine.get_puid(f)
        container = f.findtext("container") or ("ole" if puid == "fmt/111" else None)
        return FormatInfo(puid, _text(f, "name"), _text(f, "version"), _text(f, "mime"), container)

    def _index(self) -> None:
        """Signatures by a byte every match has at a fixed offset, so that most are never tried.

        ``_by_first_byte[b]`` (256: empty buffer) lists the signatures keyed by byte ``b`` at offset 0 and
        every unkeyed one; ``_by_offset[(k, b)]`` those keyed at offset ``k > 0``. All lists keep FIDO's order.
        """
        first: list[list[int]] = [[] for _ in range(257)]
        later: dict[tuple[int, int], list[int]] = {}
        for i, sig in enumerate(self.signatures):
            if sig.key is None:
                for bucket in first:
                    bucket.append(i)
            elif sig.key[0] == 0:
                first[sig.key[1]].append(i)
            else:
                later.setdefault(sig.key, []).append(i)
        self._by_first_byte = tuple(tuple(b) for b in first)
        self._by_offset = {key: tuple(v) for key, v in later.items()}
        self._offsets = tuple(sorted({k for k, _ in later}))

    def candidates(self, bof: bytes) -> tuple[int, ...] | list[int]:
        """Indices of the signatures that can match ``bof``, in FIDO's order."""
        base = self._by_first_byte[bof[0] if bof else 256]
        n = len(bof)
        extra = [i for k in self._offsets if k < n for i in self._by_offset.get((k, bof[k]), ())]
        return sorted(base + tuple(extra)) if extra else base

    @staticmethod
    def _extensions(formats: list[ET.Element]) -> dict[str, tuple[int, ...]]:
        table: dict[str, list[int]] = {}
        for i, f in enumerate(formats):
            if (f.findtext("puid") or "").startswith(LOCAL_FIDO_PREFIX):
                continue
            for ext in dict.fromkeys(e.text for e in f.findall("extension") if e.text):
                table.setdefault(ext, []).append(i)
        return {ext: tuple(v) for ext, v in table.items()}

    def better_than_all(self, fmt: int, matched: list[int]) -> bool:
        """fido's ``as_good_as_any``: no other matched format has priority over ``fmt``."""
        return not any(other != fmt and fmt in self.inferior[other] for other in matched)

    def _prune(self, matched: list[tuple[int, str]]) -> list[tuple[int, str]]:
        formats = [m[0] for m in matched]
        return [m for m in matched if self.better_than_all(m[0], formats)]

    def match(self, bof: bytes, eof: bytes) -> list[tuple[int, str]]:
        """Signature matches ``[(format index, signature name)]`` exactly as ``Fido.match_formats``.

        ``blocked`` holds the formats some matched format has priority over (fido's ``as_good_as_any``
        test, kept as a set) and formats whose regex failed to compile (fido skips the rest of them).
        """
        matched: list[tuple[int, str]] = []
        blocked: set[int] = set()
        memo: dict[tuple[bytes, bool], int] = {}  # literal -> last offset in the buffer
        for i in self.candidates(bof):
            sig = self.signatures[i]
            if sig.fmt in blocked or not _plausible(sig.checks, bof, eof, memo):
                continue
            try:
                found = all(p.matches(bof, eof) for p in sig.patterns)
            except re.error:
                blocked.add(sig.fmt)
                continue
            if found:
                matched.append((sig.fmt, sig.name))
                blocked |= self.inferior[sig.fmt] - {sig.fmt}
        return self._prune(matched)

    def match_extension(self, filename: str) -> list[tuple[int, str]]:
        """Extension matches exactly as ``Fido.match_extensions`` (signature name 'External')."""
        ext = os.path.splitext(filename)[1].lower().lstrip(".")
        return self._prune([(i, "External") for i in self.extensions.get(ext, ())]) if ext else []

    def extension_candidates(self, filename: str) -> list[tuple[int, str]]:
        """Every format using the file's extension, generic ones first (hsar's rule, not FIDO's).

        FIDO prunes extension matches by signature priority, which leaves only the refined profiles
        (``.pdf``: PDF/A-1a fmt/95 first). A name proves no profile: here nothing is pruned and a format
        that has priority over another candidate comes after it.
        """
        ext = os.path.splitext(filename)[1].lower().lstrip(".")
        found = list(self.extensions.get(ext, ())) if ext else []
        rank = {f: sum(1 for g in found if g != f and g in self.inferior[f]) for f in found}
        return [(f, "External") for f in sorted(found, key=lambda f: rank[f])]

    def container_type(self, bof: bytes, matched: list[tuple[int, str]]) -> str | None:
        """``'ZIP'`` or ``'OLE2'`` by the file's magic bytes (DROID's trigger formats x-fmt/263, fmt/189 and
        fmt/111 all begin so), else as FIDO decides (a matched format's ``container``)."""
        if bof.startswith(ZIP_MAGIC):
            return "ZIP"
        if bof.startswith(OLE2_MAGIC):
            return "OLE2"
        kind = next((self.formats[f].container for f, _ in matched if self.formats[f].container), None)
        return {"zip": "ZIP", "ole": "OLE2"}.get(kind or "")

    def match_container(self, kind: str, members: dict[str, bytes]) -> list[tuple[int, str]]:
        """Container signatures of ``kind`` that match ``members``: ``[(format index, description)]``,
        in file order, formats another match has priority over removed."""
        found = [(self.by_puid[sig.puid], sig.description) for sig in self.containers
                 if sig.kind == kind and sig.puid in self.by_puid and sig.matches(members)]
        return self._prune(found)
