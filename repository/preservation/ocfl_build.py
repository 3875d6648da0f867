"""Building one OCFL 1.1 version inside a staging transaction (OCFL 1.1 §3.3 version directories, §3.5-§3.6
inventory and sidecar, E062: the sidecar last): content placed and size-checked, inventories written durably.
:class:`repository.preservation.ocfl.OcflStore` then moves the result into the store atomically.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repository.errors import PreservationError
from repository.preservation.ocfl_inventory import (
    INVENTORY,
    SIDECAR,
    all_sha512_hex,
    logical_path_problems,
    normalize_digest,
    serialize,
    sidecar_for,
)
from repository.preservation.ocfl_layout import OBJECT_DECLARATION, fsync_path, write_durable


@dataclass(frozen=True)
class SourceFile:
    """Bytes for one logical path, with the digest and size the caller measured while receiving them. ``path``
    may be a str (a supplement names each of a large archive's stored files, and a ``Path`` costs more)."""

    path: Path | str
    sha512: str
    size: int



def checked_state(files: Mapping[str, SourceFile]) -> dict[str, str]:
    """``{logical path: sha512}``; PreservationError naming every bad path and digest at once."""
    problems = logical_path_problems(list(files))
    digests = [source.sha512 for source in files.values()]
    if not problems and all_sha512_hex(digests):  # the common case, checked in one pass
        return dict(zip(files, [d.lower() for d in digests], strict=True))
    state = {}
    for path, source in files.items():
        try:
            state[path] = normalize_digest(source.sha512)
        except PreservationError as exc:
            problems.append(f"{path}: {exc}")
    if problems:
        raise PreservationError("; ".join(problems), "OCFL-INPUT")
    return state


def write_content(obj_dir: Path, vname: str, new_content: dict[str, str], files: Mapping[str, SourceFile],
                  move: bool) -> set[Path]:
    """Place the version's new content under ``obj_dir/vname`` (copied or moved, each fsynced and
    size-checked); the directories made, to fsync once the inventories are written."""
    vdir = obj_dir / vname
    vdir.mkdir(parents=True)
    directories = {obj_dir, vdir}
    for content_path in new_content:
        target = obj_dir / content_path
        target.parent.mkdir(parents=True, exist_ok=True)
        directories.update(p for p in target.parents if obj_dir in p.parents)
        place(files[content_path.split("/", 2)[2]], target, move)
    return directories


def write_inventories(obj_dir: Path, inventory: dict[str, Any], directories: set[Path], *, first: bool) -> str:
    """The version's and the root's inventory and sidecar (for v1 the object declaration too), then every
    directory fsynced; the inventory digest."""
    vdir = obj_dir / inventory["head"]
    data = serialize(inventory)
    digest, sidecar = sidecar_for(data)
    for directory in (vdir, obj_dir):
        write_durable(directory / INVENTORY, data)
        write_durable(directory / SIDECAR, sidecar)
    if first:
        write_durable(obj_dir / OBJECT_DECLARATION, OBJECT_DECLARATION[2:].encode() + b"\n")
    for directory in sorted(directories, key=lambda p: len(p.parts), reverse=True):
        fsync_path(directory, directory=True)
    return digest


def place(source: SourceFile, target: Path, move: bool) -> None:
    """Copy (or move) one source into the version, durably, and check its size."""
    moved = False
    if move and not os.path.islink(source.path):  # never move a link into the store (E090)
        try:
            os.rename(source.path, target)
            moved = True
        except OSError:
            moved = False  # another filesystem, or the like: copy instead
    if not moved:
        shutil.copyfile(source.path, target)
    fsync_path(target)
    size = target.stat().st_size
    if size != source.size:
        raise PreservationError(f"{source.path}: {size} bytes, the caller said {source.size}", "OCFL-SIZE")
