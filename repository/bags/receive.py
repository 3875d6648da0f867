"""Safe intake of a SIP (a BagIt bag as a directory, zip or tar) into a staging directory (OAIS receive).

- :func:`detect_kind` tells ``dir``/``zip``/``tar`` by content (magic numbers, a tar header that checks),
  never by extension alone; anything else is refused with PKG001.
- :func:`inspect_archive` reads only the member list and refuses before anything is written (PKG002-PKG010,
  see :mod:`.unpack`).
- :func:`receive` copies a directory bag (refusing links and special files, PKG004) or extracts a package,
  hashing every byte as it is written, so each byte is read once; the size limit is enforced again while
  extracting. The bag root is the package root or its single top-level folder holding ``bagit.txt`` (PKG009).
  It returns the digests for :func:`repository.bags.validate.validate_bag` (``known=``), which then reads nothing.
- :func:`open_package` gives ``hsar sip validate`` a bag directory for a package, removed afterwards.

A refusal raises :class:`~repository.errors.UnsafePackageError` carrying the issues, and leaves the staging
directory as it found it (principle: bad input changes nothing).
"""

from __future__ import annotations

import bz2
import errno
import gzip
import lzma
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..codes import Issue, issue
from ..errors import IngestError, UnsafePackageError
from ..fixity import HEX_LENGTHS, ByteProgress, FileDigest, check_algorithms, copy_and_hash
from . import tagfiles, unpack
from .scan import display
from .unpack import Limits

BAG_FOLDER = "bag"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_COMPRESSED: dict[bytes, Callable[..., IO[Any]]] = {b"\x1f\x8b": gzip.open, b"BZh": bz2.open, b"\xfd7zXZ\x00": lzma.open}
_OTHER_FORMATS = {b"7z\xbc\xaf\x27\x1c": "7z", b"Rar!\x1a\x07": "RAR", b"\x28\xb5\x2f\xfd": "zstd",
                  b"\x1f\x9d": "compress (.Z)", b"PK\x07\x08": "split zip", b"%PDF": "PDF"}


@dataclass(frozen=True)
class Received:
    """A SIP in staging: the bag root, ``(size, digests)`` per bag-relative path, and what it came as."""

    bag_dir: Path
    files: dict[str, FileDigest]
    kind: str


def _refuse(code: str, path: str, **params: object) -> UnsafePackageError:
    found = issue(code, path, severity=None, **params)
    return UnsafePackageError(found.message_in("en"), [found])


def _looks_like_tar(block: bytes) -> bool:
    try:
        tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
    except tarfile.HeaderError:
        return False
    return True


def detect_kind(path: Path) -> str:
    """``'dir'``, ``'zip'`` or ``'tar'`` (plain, gzip, bzip2 or xz) by content; PKG001 for anything else."""
    path = Path(path)
    if path.is_dir():
        return "dir"
    if not path.exists():
        raise IngestError(f"no such file or directory: {path}")
    if not path.is_file():
        raise _refuse("PKG001", path.name, detail=f"{path.name}: not a regular file or directory")
    with open(path, "rb") as stream:
        head = stream.read(tarfile.BLOCKSIZE)
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    for magic, opener in _COMPRESSED.items():
        if head.startswith(magic):
            try:
                with opener(path, "rb") as inner:
                    head = inner.read(tarfile.BLOCKSIZE)
            except (OSError, EOFError, lzma.LZMAError):
                raise _refuse("PKG001", path.name, detail=f"{path.name}: unreadable compressed data") from None
            break
    if len(head) == tarfile.BLOCKSIZE and _looks_like_tar(head):
        return "tar"
    name = next((label for magic, label in _OTHER_FORMATS.items() if head.startswith(magic)), "not zip or tar")
    raise _refuse("PKG001", path.name, detail=f"{path.name}: {name}")


def inspect_archive(path: Path, limits: Limits) -> list[Issue]:
    """Every reason to refuse the zip/tar at ``path``, from its member list alone (nothing is written).

    A directory has no member list: the result is empty (links in it are refused by :func:`receive`).
    """
    kind = detect_kind(Path(path))
    return [] if kind == "dir" else unpack.survey(Path(path), kind, limits).issues


def _algorithms(base: Sequence[str], root_names: Sequence[str]) -> tuple[str, ...]:
    """``base`` plus every supported algorithm a (tag) manifest at the bag root names."""
    found = [kind[1] for kind in map(tagfiles.manifest_kind, root_names) if kind and kind[1] in HEX_LENGTHS]
    return check_algorithms([*base, *sorted(set(found))])


def receive(
    path: Path,
    staging_dir: Path,
    *,
    limits: Limits,
    algorithms: Sequence[str] = ("sha256", "sha512"),
    workers: int = 2,
    on_bytes: ByteProgress | None = None,
) -> Received:
    """Bring the SIP at ``path`` into ``staging_dir`` (absent or empty), hashing while copying.

    Digests are computed for ``algorithms`` plus every manifest algorithm the bag uses, so validation and
    ingest never read the files again. The bag lands in ``staging_dir/bag``. Raises UnsafePackageError.
    ``on_bytes`` is told the size of every chunk copied (from the copying threads).
    """
    path, staging = Path(path), Path(staging_dir)
    kind = detect_kind(path)
    if kind == "dir":
        if staging.resolve().is_relative_to(path.resolve()):
            raise IngestError(f"staging directory {staging} lies inside the package {path}")
        plan = _plan_dir(path)
        algs = _algorithms(algorithms, [p for p in plan.files if "/" not in p])
    else:
        survey = unpack.survey(path, kind, limits)
        if survey.refused:
            raise UnsafePackageError(f"{path.name}: package refused", survey.issues)
        algs = _algorithms(algorithms, [rel for m, rel in survey.bag_members() if "/" not in rel])
    created = _prepare(staging)
    bag_dir = staging / BAG_FOLDER
    try:
        if kind == "dir":
            files = _copy_dir(plan, bag_dir, algs, workers, on_bytes)
        else:
            files = unpack.extract(path, survey, bag_dir, algs, limits, on_bytes)
    except BaseException:
        shutil.rmtree(bag_dir, ignore_errors=True)
        if created:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    return Received(bag_dir, files, kind)


def _prepare(staging: Path) -> bool:
    """Make sure ``staging`` exists and is empty; True if this call created it."""
    if staging.is_symlink() or (staging.exists() and not staging.is_dir()):
        raise IngestError(f"staging path is not a directory: {staging}")
    if staging.exists():
        if any(staging.iterdir()):
            raise IngestError(f"staging directory is not empty: {staging}")
        return False
    staging.mkdir(parents=True)
    return True


@dataclass
class _DirPlan:
    root: Path
    folders: list[str]
    files: dict[str, int]


def _bag_root(path: Path) -> Path:
    """The directory itself if it holds ``bagit.txt``, else its only entry if that is a bag folder."""
    if (path / "bagit.txt").is_file() and not (path / "bagit.txt").is_symlink():
        return path
    entries = list(os.scandir(path))
    if len(entries) == 1 and entries[0].is_dir(follow_symlinks=False):
        inner = Path(entries[0].path)
        if (inner / "bagit.txt").is_file() and not (inner / "bagit.txt").is_symlink():
            return inner
    raise _refuse("PKG009", "")


def _plan_dir(path: Path) -> _DirPlan:
    """Every folder and regular file under the bag root; PKG004 for each link or special file."""
    plan = _DirPlan(_bag_root(path), [], {})
    problems = []
    stack = [""]
    while stack:
        rel = stack.pop()
        with os.scandir(plan.root / rel if rel else plan.root) as listing:
            for entry in sorted(listing, key=lambda e: e.name):
                child = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_dir(follow_symlinks=False):
                    plan.folders.append(child)
                    stack.append(child)
                elif entry.is_file(follow_symlinks=False):
                    plan.files[child] = entry.stat(follow_symlinks=False).st_size
                else:
                    shown = display(child)
                    problems.append(issue("PKG004", shown, member=shown))
    if problems:
        raise UnsafePackageError(f"{path.name}: package refused", problems)
    return plan


EARLY_FSYNC_BYTES = 8 << 20


def _copy_dir(plan: _DirPlan, bag_dir: Path, algs: tuple[str, ...], workers: int,
              on_bytes: ByteProgress | None = None) -> dict[str, FileDigest]:
    """Copy the planned tree into ``bag_dir``, hashing while copying, on ``workers`` threads."""
    bag_dir.mkdir()
    for folder in sorted(plan.folders):
        (bag_dir / folder).mkdir()

    def copy(rel: str) -> tuple[str, FileDigest]:
        try:
            # A large file is flushed here, on the copying thread while the other copies: the store fsyncs it
            # again before its rename, but then finds it clean instead of waiting for the whole write-back.
            source = plan.root / rel
            durable = os.lstat(source).st_size >= EARLY_FSYNC_BYTES  # a hint only: copy_and_hash checks
            return rel, copy_and_hash(source, bag_dir / rel, algs, fsync=durable, on_bytes=on_bytes)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EINVAL):  # became a link or special file meanwhile
                raise _refuse("PKG004", display(rel), member=display(rel)) from None
            raise
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="hsar-receive") as pool:
        return dict(pool.map(copy, sorted(plan.files)))


@contextmanager
def open_package(path: Path, limits: Limits, tmp_parent: Path) -> Iterator[Path]:
    """The bag directory of a SIP for reading: a directory as it is, a zip/tar unpacked into a temporary
    directory under ``tmp_parent`` (removed on exit). Raises UnsafePackageError before unpacking."""
    path = Path(path)
    kind = detect_kind(path)
    if kind == "dir":
        try:
            root = _bag_root(path)
        except UnsafePackageError:
            root = path  # not a bag: validation says why (BAG001)
        yield root
        return
    survey = unpack.survey(path, kind, limits)
    if survey.refused:
        raise UnsafePackageError(f"{path.name}: package refused", survey.issues)
    temp = Path(tempfile.mkdtemp(prefix="hsar-sip-", dir=tmp_parent))
    try:
        unpack.extract(path, survey, temp / BAG_FOLDER, (), limits)
        yield temp / BAG_FOLDER
    finally:
        shutil.rmtree(temp, ignore_errors=True)
