"""Safe reading of zip and tar packages: survey the member list, then extract member by member.

The survey reads only the zip central directory or the tar headers and refuses, before anything is written:
absolute member paths (PKG002), ``..`` escapes (PKG003; backslashes count as separators, so ``..\\x`` and
``C:\\x`` are caught), links, devices and FIFOs (PKG004), a declared total over the size limit (PKG005), a
compression ratio over the limit (PKG006, per zip member and for the whole file, once more than
:data:`RATIO_FLOOR` bytes are involved), too many members (PKG007), a corrupt archive (PKG008), no single bag
root (PKG009) and a name used twice, or as both a file and a folder (PKG010).

Extraction never trusts the survey alone: every member is streamed through :func:`repository.fixity.hash_stream`
with the remaining size budget as a hard limit (a header that lies cannot beat it), must produce exactly the
size its header declares, and is written with ``O_EXCL | O_NOFOLLOW`` into a fresh directory no link can
reach. Pax and GNU long-name headers are capped (:data:`MAX_EXTENDED_HEADER`) because ``tarfile`` reads them
into memory, and a header that fails its checksum mid-archive is an error, not a silent end of the archive.
"""

from __future__ import annotations

import errno
import lzma
import os
import re
import stat
import tarfile
import time
import zipfile
import zlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..codes import Issue, Severity, issue
from ..errors import UnsafePackageError
from ..fixity import ByteProgress, FileDigest, LimitExceeded, hash_stream, metered

if TYPE_CHECKING:
    from ..config import Config


@dataclass(frozen=True)
class Limits:
    """Package limits (settings ``limits.*``): unpacked bytes, compression ratio, member count."""

    max_unpacked_bytes: int = 20 * 1024**3
    max_ratio: int = 200
    max_members: int = 100_000

    @classmethod
    def from_config(cls, cfg: Config | Mapping[str, Any]) -> Limits:  # settings values are TOML values
        """From a :class:`repository.config.Config` (or any mapping with the ``limits.*`` keys)."""
        return cls(int(cfg["limits.max_unpacked_bytes"]), int(cfg["limits.max_ratio"]),
                   int(cfg["limits.max_members"]))


RATIO_FLOOR = 1 << 20
MAX_EXTENDED_HEADER = 1 << 20
#: macOS "Compress" adds AppleDouble files under this top-level folder; they are not part of the bag.
SKIPPED_TOP = "__MACOSX"
_ZIP_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA})
_DRIVE = re.compile(r"^[A-Za-z]:")
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, tarfile.TarError, zlib.error, lzma.LZMAError,
                EOFError, NotImplementedError, RuntimeError, ValueError)
_PACKAGE_ERRNOS = frozenset({errno.ENAMETOOLONG, errno.EILSEQ, errno.EEXIST, errno.ENOTDIR, errno.EISDIR})


@dataclass(frozen=True)
class Member:
    """One archive member as the survey saw it; ``name`` is normalised ('/'-separated, no '.' segments)."""

    index: int
    raw: str
    name: str
    is_dir: bool
    size: int
    packed: int | None = None
    mtime: float | None = None


@dataclass
class Survey:
    kind: str
    size_on_disk: int
    members: list[Member] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    root: str | None = None
    complete: bool = True  # False when the member list was not read to its end (a limit was hit first)

    @property
    def refused(self) -> bool:
        return any(i.severity is Severity.ERROR for i in self.issues)

    def bag_members(self) -> list[tuple[Member, str]]:
        """``(member, path relative to the bag root)`` for every member to extract."""
        if self.root is None:
            return []
        prefix = f"{self.root}/" if self.root else ""
        return [(m, m.name[len(prefix):]) for m in self.members
                if m.name.startswith(prefix) and m.name != self.root and not _skipped(m.name)]


def _skipped(name: str) -> bool:
    return name.split("/", 1)[0] == SKIPPED_TOP


def member_problem(raw: str) -> tuple[str, str | None]:
    """``(normalised name, PKG002/PKG003 or None)`` for a member name; backslashes count as separators."""
    if "\x00" in raw:
        return raw, "PKG003"
    text = raw.replace("\\", "/")
    if text.startswith("/") or _DRIVE.match(text):
        return text, "PKG002"
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        return text, "PKG003"
    return "/".join(parts), None


class _GuardedTarInfo(tarfile.TarInfo):
    """TarInfo that caps in-memory extended headers and turns a bad header mid-archive into an error."""

    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> _GuardedTarInfo:
        try:
            return super().fromtarfile(tarfile_)
        except (tarfile.InvalidHeaderError, tarfile.TruncatedHeaderError) as exc:  # type: ignore[attr-defined]
            if tarfile_.offset:
                raise tarfile.ReadError(f"bad header at offset {tarfile_.offset}: {exc}") from None
            raise

    def _proc_member(self, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        extended = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.XGLTYPE,
                    tarfile.SOLARIS_XHDTYPE)
        if self.type in extended and self.size > MAX_EXTENDED_HEADER:
            raise tarfile.ReadError(f"extended header of {self.size} bytes")
        return super()._proc_member(tarfile_)  # type: ignore[misc]  # private, not in typeshed


def _open_tar(path: Path) -> tarfile.TarFile:
    return tarfile.open(path, mode="r:*", tarinfo=_GuardedTarInfo, encoding="utf-8", errors="surrogateescape")


def _zip_name(info: zipfile.ZipInfo) -> str:
    """The member name, re-decoded when the UTF-8 flag is missing (Windows zips of Chinese names are GBK)."""
    name = info.orig_filename
    if info.flag_bits & 0x800:
        return name
    try:
        raw = name.encode("cp437")
    except UnicodeEncodeError:
        return name
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return name


def _zip_mtime(info: zipfile.ZipInfo) -> float | None:
    try:
        return time.mktime((*info.date_time, 0, 0, -1))
    except (OverflowError, ValueError):
        return None


def survey(path: Path, kind: str, limits: Limits) -> Survey:
    """Read the member list of a ``zip`` or ``tar`` package and report every refusal reason."""
    result = Survey(kind, path.stat().st_size)
    try:
        if kind == "zip":
            _survey_zip(path, result, limits)
        else:
            _survey_tar(path, result, limits)
    except _READ_ERRORS + (OSError,) as exc:
        result.issues.append(issue("PKG008", path.name, detail=str(exc) or type(exc).__name__))
        return result
    if any(i.code == "PKG007" for i in result.issues):
        return result  # the member count alone refuses it; looking further is the work the limit prevents
    _check_names(result)
    _check_totals(result, limits)
    return result


def _add_member(result: Survey, member: Member, type_ok: bool) -> None:
    name, code = member_problem(member.raw)
    if code is not None:
        result.issues.append(issue(code, member.raw, member=member.raw))
        return
    if not type_ok:
        result.issues.append(issue("PKG004", member.raw, member=member.raw))
        return
    if name:
        result.members.append(Member(member.index, member.raw, name, member.is_dir, member.size,
                                     member.packed, member.mtime))


def _survey_zip(path: Path, result: Survey, limits: Limits) -> None:
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    if len(infos) > limits.max_members:
        result.issues.append(issue("PKG007", path.name, count=len(infos), limit=limits.max_members))
        return
    for index, info in enumerate(infos):
        raw = _zip_name(info)
        mode = info.external_attr >> 16
        is_dir = raw.endswith(("/", "\\")) or stat.S_ISDIR(mode)
        if info.flag_bits & 0x1:
            result.issues.append(issue("PKG008", raw, detail=f"{raw}: encrypted member"))
        elif info.compress_type not in _ZIP_METHODS:
            result.issues.append(issue("PKG008", raw, detail=f"{raw}: compression method {info.compress_type}"))
        type_ok = stat.S_IFMT(mode) in (0, stat.S_IFREG, stat.S_IFDIR)
        member = Member(index, raw, "", is_dir, 0 if is_dir else info.file_size, info.compress_size,
                        _zip_mtime(info))
        _add_member(result, member, type_ok)


def _survey_tar(path: Path, result: Survey, limits: Limits) -> None:
    total = 0
    with _open_tar(path) as archive:
        for index, info in enumerate(archive):
            if index >= limits.max_members:
                result.issues.append(issue("PKG007", path.name, count=f">{limits.max_members}",
                                           limit=limits.max_members))
                return
            size = info.size if info.isreg() else 0
            total += size
            member = Member(index, info.name, "", info.isdir(), size, None, float(info.mtime))
            _add_member(result, member, info.isreg() or info.isdir())
            if total > limits.max_unpacked_bytes or _ratio(total, result.size_on_disk) > limits.max_ratio:
                result.complete = False  # _check_totals reports it; reading on would only decompress more
                return


def _ratio(unpacked: int, packed: int | None) -> float:
    if unpacked <= RATIO_FLOOR:
        return 0.0
    return unpacked / max(packed or 0, 1)


def _check_names(result: Survey) -> None:
    """PKG010 for a name used twice or as both file and folder; PKG009 when there is no single bag root."""
    members = [m for m in result.members if not _skipped(m.name)]
    files = Counter(m.name for m in members if not m.is_dir)
    folders = {m.name for m in members if m.is_dir}
    for m in members:
        parts = m.name.split("/")
        folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
    for name, count in sorted(files.items()):
        if count > 1 or name in folders:
            result.issues.append(issue("PKG010", name, member=name))
    if not result.complete:
        return
    if "bagit.txt" in files:
        result.root = ""
        return
    tops = {m.name.split("/", 1)[0] for m in members}
    top = next(iter(tops)) if len(tops) == 1 else None
    if top is not None and f"{top}/bagit.txt" in files:
        result.root = top
    else:
        result.issues.append(issue("PKG009", ""))


def _check_totals(result: Survey, limits: Limits) -> None:
    total = sum(m.size for m in result.members)
    if total > limits.max_unpacked_bytes:
        result.issues.append(issue("PKG005", "", size=total, limit=limits.max_unpacked_bytes))
    bombs = [m for m in result.members if m.packed is not None and _ratio(m.size, m.packed) > limits.max_ratio]
    for m in bombs:
        result.issues.append(issue("PKG006", m.raw, ratio=round(_ratio(m.size, m.packed)), limit=limits.max_ratio))
    if not bombs and _ratio(total, result.size_on_disk) > limits.max_ratio:
        result.issues.append(issue("PKG006", "", ratio=round(_ratio(total, result.size_on_disk)),
                                   limit=limits.max_ratio))


def _refuse(code: str, path: str, **params: object) -> UnsafePackageError:
    found = issue(code, path, severity=None, **params)
    return UnsafePackageError(found.message_in("en"), [found])


class _Writer:
    """Writes members under ``dest`` with one shared byte budget."""

    def __init__(self, dest: Path, algorithms: tuple[str, ...], limits: Limits,
                 on_bytes: ByteProgress | None = None) -> None:
        self.dest = dest
        self.on_bytes = on_bytes
        self.algorithms = algorithms
        self.limit = limits.max_unpacked_bytes
        self.used = 0
        self.files: dict[str, FileDigest] = {}

    def folder(self, rel: str) -> None:
        self.dest.joinpath(*rel.split("/")).mkdir(parents=True, exist_ok=True)

    def file(self, member: Member, rel: str, stream: IO[bytes]) -> None:
        target = self.dest.joinpath(*rel.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        with os.fdopen(os.open(target, flags, 0o666), "wb") as out:
            try:
                size, digests = hash_stream(stream, self.algorithms, sink=metered(out, self.on_bytes), limit=self.limit - self.used)
            except LimitExceeded as exc:
                raise _refuse("PKG005", member.raw, size=self.used + exc.size, limit=self.limit) from None
        self.used += size
        if size != member.size:
            raise _refuse("PKG008", member.raw, detail=f"{member.raw}: {size} bytes, header says {member.size}")
        if member.mtime is not None:
            os.utime(target, (member.mtime, member.mtime))
        self.files[rel] = (size, digests)


def extract(path: Path, plan: Survey, dest: Path, algorithms: tuple[str, ...], limits: Limits,
            on_bytes: ByteProgress | None = None) -> dict[str, FileDigest]:
    """Extract the bag members of a surveyed package into the new directory ``dest``; digests per bag path.

    Raises :class:`UnsafePackageError` (PKG005, PKG008) when the archive is not what its headers said.
    """
    writer = _Writer(dest, algorithms, limits, on_bytes)
    dest.mkdir(parents=True)
    try:
        if plan.kind == "zip":
            _extract_zip(path, plan, writer)
        else:
            _extract_tar(path, plan, writer)
    except _READ_ERRORS as exc:
        raise _refuse("PKG008", path.name, detail=str(exc) or type(exc).__name__) from None
    except OSError as exc:
        if exc.errno in _PACKAGE_ERRNOS:
            raise _refuse("PKG008", path.name, detail=f"{exc.strerror}: {_in_package(exc.filename, dest)}") from None
        raise
    return writer.files


def _in_package(filename: object, dest: Path) -> str:
    """A path the OS named, as the member it is in the package: never the staging path it was written to."""
    text = os.fsdecode(filename) if isinstance(filename, (str, bytes)) else ""
    prefix = str(dest) + os.sep
    return text[len(prefix):] if text.startswith(prefix) else os.path.basename(text)


def _extract_zip(path: Path, plan: Survey, writer: _Writer) -> None:
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        for member, rel in plan.bag_members():
            info = infos[member.index] if member.index < len(infos) else None
            if info is None or _zip_name(info) != member.raw:
                raise _refuse("PKG008", member.raw, detail="the archive changed while it was read")
            if member.is_dir:
                writer.folder(rel)
                continue
            with archive.open(info) as stream:
                writer.file(member, rel, stream)


def _extract_tar(path: Path, plan: Survey, writer: _Writer) -> None:
    wanted = {member.index: (member, rel) for member, rel in plan.bag_members()}
    with _open_tar(path) as archive:
        for index, info in enumerate(archive):
            if index not in wanted:
                continue
            member, rel = wanted[index]
            if info.name != member.raw or info.isdir() != member.is_dir or (not member.is_dir and not info.isreg()):
                raise _refuse("PKG008", member.raw, detail="the archive changed while it was read")
            if member.is_dir:
                writer.folder(rel)
                continue
            stream = archive.extractfile(info)
            if stream is None:
                raise _refuse("PKG004", member.raw, member=member.raw)
            with stream:
                writer.file(member, rel, stream)
