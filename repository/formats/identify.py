"""Format identification for ingest (OAIS ingest/identify): PRONOM PUIDs with FIDO's signatures.

Implements the format step of DESIGN.md: FIDO (opf-fido 1.6.1) used as a library, never as a printing
command. Signatures (``formats-v109.xml``, ``format_extensions.xml``, ``container-signature-20200121.xml``)
are named explicitly and loaded once per process; matching follows FIDO's rules
(:mod:`repository.formats.signatures`) except where FIDO is wrong (:mod:`repository.formats.fidodiff` lists
each deliberate difference); container signatures are read as DROID reads them
(:mod:`repository.formats.container`); each file is read at its first and last ``formats.max_read_bytes``
bytes plus the container members signatures name (each capped), and each file gets at most
``formats.timeout_seconds`` in a worker process that is killed when it overruns
(:mod:`repository.formats.pool`).

Results are values (:class:`FormatFact`). An extension-only or multi-candidate identification is marked
``ambiguous``: the leading PUID is a guess, not a fact. Local formats PRONOM lacks get local identifiers
in :data:`LOCAL_FORMATS` (``hsar-fmt/N``, never a PRONOM PUID): ``hsar-fmt/1`` is OFD (GB/T 33190-2016).
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Config
from . import probe as probe
from . import sigcache
from .pool import TimeLimitedPool, workers_allowed
from .signatures import CONTAINER_FILE, FIDO_CONF, FIDO_VERSION, FORMAT_FILES, SignatureTable, load_fido

if TYPE_CHECKING:
    from fido.fido import Fido

METHODS = ("signature", "container", "text", "extension", "none")
PLAIN_TEXT_PUID = "x-fmt/111"


@dataclass(frozen=True)
class LocalFormat:
    """A format this repository identifies itself, refining the PRONOM format ``parent`` it is found as."""

    puid: str
    name: str
    mime: str
    parent: str


LOCAL_FORMATS: dict[str, LocalFormat] = {
    "hsar-fmt/1": LocalFormat("hsar-fmt/1", "OFD (GB/T 33190-2016)", "application/ofd", "x-fmt/263"),
}
OFD_PUID = "hsar-fmt/1"


@dataclass(frozen=True)
class FormatFact:
    """What identification found for one file.

    ``method`` is how: ``signature`` (PRONOM byte signature), ``container`` (a signature on a member of a
    ZIP/OLE2 container, or a local container rule), ``text`` (no signature, but the bytes read are plain
    ASCII/UTF-8/GB18030 text: x-fmt/111), ``extension`` (file name only) or ``none``.
    ``candidates`` are every PUID the evidence fits, in FIDO's order (for an extension, generic formats
    first); ``puid`` is the first.
    ``ambiguous`` is true for extension-only evidence or more than one candidate.
    """

    puid: str | None
    name: str
    version: str
    mime: str
    method: str
    basis: str
    ambiguous: bool = False
    candidates: tuple[str, ...] = ()
    encrypted: bool = False
    tool: str = "fido"
    tool_version: str = FIDO_VERSION

    @property
    def identified(self) -> bool:
        return self.puid is not None

    @property
    def timed_out(self) -> bool:
        return self.method == "none" and self.basis == "timeout"

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["candidates"] = list(self.candidates)
        return data

    @classmethod
    def unknown(cls, basis: str) -> FormatFact:
        return cls(None, "", "", "", "none", basis)


def pronom_candidates(fact: FormatFact) -> frozenset[str]:
    """The PRONOM PUIDs behind ``fact``: local identifiers are replaced by the PRONOM format they refine."""
    return frozenset(LOCAL_FORMATS[p].parent if p in LOCAL_FORMATS else p for p in fact.candidates)


class Identifier:
    """Format identifier: construct once per process (loading signatures takes a few tenths of a second)."""

    def __init__(self, *, conf_dir: Path = FIDO_CONF, format_files: Iterable[str | Path] = FORMAT_FILES,
                 container_file: str = CONTAINER_FILE, max_read_bytes: int = 131072,
                 timeout_seconds: float = 10.0) -> None:
        self.conf_dir = Path(conf_dir)
        self.format_files = tuple(str(f) for f in format_files)
        self.container_file = container_file
        self.max_read_bytes = max_read_bytes
        self.timeout_seconds = timeout_seconds
        self._engine: Fido | None = None
        files = [self.conf_dir / f for f in (*self.format_files, container_file)]
        table = sigcache.cached(files, FIDO_VERSION,
                                      lambda: SignatureTable(self.engine, self.conf_dir / container_file))
        self.table: SignatureTable = table  # type: ignore[assignment]
        self._pool: TimeLimitedPool | None = None

    @property
    def engine(self) -> Fido:
        """FIDO itself, loaded when first needed (building the table, :meth:`fido_reference`); matching
        uses only :attr:`table`, which usually comes from :mod:`.sigcache`."""
        if self._engine is None:
            self._engine = load_fido(self.conf_dir, self.format_files, self.container_file, self.max_read_bytes)
        return self._engine

    @classmethod
    def from_config(cls, config: Config) -> Identifier:
        """From the settings ``formats.max_read_bytes`` and ``formats.timeout_seconds``."""
        return cls(max_read_bytes=config["formats.max_read_bytes"], timeout_seconds=config["formats.timeout_seconds"])

    def _settings(self) -> dict[str, object]:
        return {"conf_dir": self.conf_dir, "format_files": self.format_files,
                "container_file": self.container_file, "max_read_bytes": self.max_read_bytes,
                "timeout_seconds": self.timeout_seconds}

    def __getstate__(self) -> dict[str, object]:  # spawned workers rebuild from settings
        return self._settings()

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def __enter__(self) -> Identifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes (they are started again when needed)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    @property
    def signature_files(self) -> tuple[str, ...]:
        return (*self.format_files, self.container_file)

    # -- public API -------------------------------------------------------------------------------

    def identify(self, path: Path) -> FormatFact:
        """Identify one file within the time limit."""
        return self.identify_many([path], workers=1)[0]

    def identify_many(self, paths: Iterable[Path], workers: int = 2) -> list[FormatFact]:
        """Identify files in ``workers`` processes, each file within the time limit; results in order.

        Inside a daemonic process (which may not start children) files are identified in this process,
        without the time limit.
        """
        items = [str(p) for p in paths]
        if (self.timeout_seconds <= 0 and workers <= 1) or not workers_allowed():
            return [self.identify_unlimited(Path(p)) for p in items]
        if self._pool is None:
            self._pool = TimeLimitedPool(self._identify_item, self._timed_out, self._failed,
                                         self.timeout_seconds)
        return self._pool.map(items, workers)

    def identify_unlimited(self, path: Path) -> FormatFact:
        """Identify one file in this process, with no time limit (what each worker runs)."""
        path = Path(path)
        try:
            bof, eof, size = probe.read_buffers(path, self.max_read_bytes)
        except OSError as exc:
            return FormatFact.unknown(f"unreadable: {exc.strerror or exc}")
        fact = self._from_signatures(path, bof, eof, size)
        if probe.looks_like_pdf(bof) or fact.mime == "application/pdf":
            encrypted, evidence = probe.pdf_encrypted(path, bof, eof)
            if encrypted:
                fact = replace(fact, encrypted=True, basis=f"{fact.basis}; {evidence}")
        return fact

    def fido_reference(self, path: Path) -> list[tuple[str, str]]:
        """FIDO's own verdict through ``Fido.identify_file`` and its ``handle_matches`` callback.

        Returns ``[(puid, matchtype)]`` as the ``fido`` command would print them (slow: for tests).
        """
        found: list[tuple[str, str]] = []

        def capture(name: str, matches: list, delta_t: float, matchtype: str = "") -> None:
            found.extend((self.engine.get_puid(f), matchtype) for f, _ in matches)

        self.engine.handle_matches = capture
        sink = io.StringIO()
        # Fido.identify_file (1.6.1) opens the file and never closes it: the handle is dropped when the call
        # returns, and its ResourceWarning is FIDO's, not ours (hsar's own matching reads files in `with`)
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            self.engine.identify_file(os.fspath(path))
        return found

    # -- internals --------------------------------------------------------------------------------

    def _identify_item(self, item: str) -> FormatFact:
        return self.identify_unlimited(Path(item))

    @staticmethod
    def _timed_out(item: str) -> FormatFact:
        return FormatFact.unknown("timeout")

    @staticmethod
    def _failed(item: str, detail: str) -> FormatFact:
        return FormatFact.unknown(f"error: {detail}")

    def _from_signatures(self, path: Path, bof: bytes, eof: bytes, size: int) -> FormatFact:
        table = self.table
        matched = table.match(bof, eof)
        kind = table.container_type(bof, matched)
        cap = self.max_read_bytes * probe.MEMBER_CAP_FACTOR
        if kind == "ZIP" and (ofd := probe.sniff_ofd(path, cap)) is not None:
            return self._ofd_fact(*ofd)
        if kind in ("ZIP", "OLE2"):
            found = self._container_matches(path, kind, cap)
            if found:
                described = "; ".join(f"{self.table.formats[f].puid} '{name}'" for f, name in dict.fromkeys(found))
                return self._fact(found, "container", "container signature: " + described)
        if matched and size > 0:
            return self._fact(matched, "signature", "FIDO signature: " + self._describe(matched))
        return self._without_signature(path, bof, eof, size)

    def _without_signature(self, path: Path, bof: bytes, eof: bytes, size: int) -> FormatFact:
        """Plain text by its bytes (x-fmt/111), else the file extension: every format using it is a
        candidate and a generic one leads (a name never proves a refined profile such as PDF/A).

        Plain text whose extension names text formats (``.csv``, ``.json``) is identified by the extension
        with x-fmt/111 as the last candidate; an extension naming only binary formats does not outweigh
        the bytes (a ``.dat`` of text is text).
        """
        ext = os.path.splitext(path.name)[1].lower()
        matched = self.table.extension_candidates(path.name)
        encoding = probe.plain_text(bof, eof, size) if size > 0 else None
        text = self.table.by_puid[PLAIN_TEXT_PUID]
        textual = [m for m in matched if self._textual(m[0])]
        if encoding and (not textual or text in {f for f, _ in textual}):
            return self._fact([(text, "plain text")], "text", f"no signature matched; plain {encoding} text")
        if matched:
            why = "empty file" if size == 0 else "no signature matched"
            basis = f"file extension {ext} only ({why})"
            if encoding:  # a text format by name (CSV, JSON, ...): the name leads, plain text follows
                matched = [*textual, (text, "plain text")]
                basis += f"; plain {encoding} text"
            return self._fact(matched, "extension", basis)
        return FormatFact.unknown("empty file" if size == 0 else "no signature or extension matched")

    def _textual(self, fmt: int) -> bool:
        mime = self.table.formats[fmt].mime
        return mime.startswith("text/") or mime.endswith(("/json", "/xml", "+xml"))

    def _container_matches(self, path: Path, kind: str, cap: int) -> list[tuple[int, str]]:
        """DROID container signatures over bounded reads of the members they name."""
        read = probe.zip_members if kind == "ZIP" else probe.ole_members
        members = read(path, self.table.container_members[kind], cap)
        return self.table.match_container(kind, members) if members else []

    def _describe(self, matched: list[tuple[int, str]]) -> str:
        return "; ".join(f"{self.table.formats[f].puid} '{name}'" for f, name in dict.fromkeys(matched))

    def _fact(self, matched: list[tuple[int, str]], method: str, basis: str) -> FormatFact:
        puids = tuple(dict.fromkeys(self.table.formats[f].puid for f, _ in matched))
        info = self.table.formats[matched[0][0]]
        return FormatFact(info.puid, info.name, info.version, info.mime, method, basis,
                          ambiguous=method == "extension" or len(puids) > 1, candidates=puids)

    @staticmethod
    def _ofd_fact(version: str, namespace: str) -> FormatFact:
        local = LOCAL_FORMATS[OFD_PUID]
        basis = (f"OFD.xml at the ZIP root in namespace {namespace} "
                 f"(PRONOM: {local.parent} ZIP Format; {OFD_PUID} is a local identifier)")
        return FormatFact(local.puid, local.name, version, local.mime, "container", basis,
                          candidates=(local.puid,))


@functools.cache
def default_identifier() -> Identifier:
    """The process-wide identifier, configured from the repository home (``HSAR_HOME``, ``hsar.toml``)."""
    from ..config import load

    return Identifier.from_config(load())


def identify(path: Path) -> FormatFact:
    """Identify one file with :func:`default_identifier`."""
    return default_identifier().identify(path)
