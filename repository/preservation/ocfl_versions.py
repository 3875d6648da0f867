"""Reading an object's versions from its parsed inventory (OCFL 1.1 §3.5): the versions with their states made
when first looked at, where each logical path is stored, and the root inventory read last, used again while
its file is the same (a supplement's steps each ask for it, and it grows with the archive)."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import ItemsView, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from repository.errors import PreservationError
from repository.preservation.ocfl_inventory import (
    VersionInfo,
    load_inventory,
    logical_state,
    stored_paths,
    version_number,
)


class InventoryCache:
    """The inventory read last, used again while its file is the very same one (device, inode, size, change and
    modification times): a supplement's steps each ask for the root inventory, which grows with the archive
    (12 MB for 20,000 files), and the store only ever replaces it by a rename (a new inode). Callers must not
    modify the dict they get. Where each file of a version of it is stored is made once too
    (:meth:`stored_paths`: the supplement's catalogue record and its index both ask for the head's)."""

    def __init__(self) -> None:
        self._key: tuple[str, int, int, int, int, int] | None = None
        self._inventory: dict[str, Any] | None = None
        self._stored: dict[str, dict[str, str]] = {}

    def load(self, path: Path) -> dict[str, Any] | None:
        """:func:`load_inventory` of ``path``, or ``None`` if it is not a file."""
        try:
            st = path.stat()
        except OSError as exc:  # as Path.is_file: missing is None, other faults are raised
            if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP):
                return None
            raise
        if not stat.S_ISREG(st.st_mode):
            return None
        key = (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if key != self._key or self._inventory is None:
            self._key, self._inventory, self._stored = None, None, {}
            inventory = load_inventory(path)
            self._key, self._inventory = key, inventory
        return self._inventory

    def stored_paths(self, inventory: dict[str, Any], version: str | None = None) -> dict[str, str]:
        """:func:`stored_paths` of ``inventory``, made once per version while it is the one kept here (callers
        must not modify it)."""
        if inventory is not self._inventory:
            return stored_paths(inventory, version)
        vname = version or inventory["head"]
        if vname not in self._stored:
            self._stored[vname] = stored_paths(inventory, vname)
        return self._stored[vname]

    def written(self, path: Path, inventory: dict[str, Any], before: os.stat_result) -> None:
        """``inventory`` is what was just written to ``path`` (serialized, made durable and renamed there; stat
        before the rename ``before``): used as read while the file is that one, not parsed again. Nothing is
        kept unless the file at ``path`` is still the one written (same device, inode, size and time)."""
        self._key, self._inventory, self._stored = None, None, {}
        try:
            st = path.stat()
        except OSError:
            return
        same = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) == (
            before.st_dev, before.st_ino, before.st_size, before.st_mtime_ns)
        if same and stat.S_ISREG(st.st_mode):
            self._key = (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            self._inventory = inventory


class ContentPaths(Mapping[str, Path]):
    """``{logical path: where it is stored}`` of one version, each ``Path`` made when it is asked for: an
    archive of 20,000 files has as many, and most callers look at a few (the description, PREMIS, new files)."""

    def __init__(self, root: Path, stored: dict[str, str]) -> None:
        self._root, self._stored = root, stored
        self._prefix = str(root) + os.sep

    def __getitem__(self, path: str) -> Path:
        return self._root / self._stored[path]

    def location(self, path: str) -> str:
        """Where ``path`` is stored, as a str: for callers that only open it (no ``Path`` made)."""
        return self._prefix + self._stored[path]

    def __contains__(self, path: object) -> bool:
        return path in self._stored

    def __iter__(self) -> Iterator[str]:
        return iter(self._stored)

    def __len__(self) -> int:
        return len(self._stored)


def version_infos(inventory: dict[str, Any]) -> list[VersionInfo]:
    infos = []
    for vname, block in inventory["versions"].items():
        number = version_number(vname)
        if number is None:
            raise PreservationError(f"bad version name {vname!r} in {inventory['id']}", "OCFL-INVENTORY")
        created = datetime.fromisoformat(block["created"].replace("Z", "+00:00"))
        user = block.get("user") or {}
        infos.append(
            VersionInfo(
                number=number,
                created=created,
                message=block.get("message", ""),
                user=(user.get("name", ""), user.get("address")),
                state=LazyState(inventory, vname),
            )
        )
    return sorted(infos, key=lambda info: info.number)


class LazyState(Mapping[str, str]):
    """:func:`logical_state` of one version, made when first looked at: listing an object's versions (their
    names, times, messages) need not build a dict of every file for each of them."""

    def __init__(self, inventory: dict[str, Any], version: str) -> None:
        self._inventory, self._version = inventory, version
        self._state: dict[str, str] | None = None

    def _built(self) -> dict[str, str]:
        if self._state is None:
            self._state = logical_state(self._inventory, self._version)
        return self._state

    def __getitem__(self, path: str) -> str:
        return self._built()[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._built())

    def __len__(self) -> int:
        return len(self._built())

    def __contains__(self, path: object) -> bool:
        return path in self._built()

    def get(self, path: str, default: Any = None) -> Any:  # noqa: ANN401 - as dict.get
        return self._built().get(path, default)

    def items(self) -> ItemsView[str, str]:
        return self._built().items()

    def __repr__(self) -> str:
        return repr(self._built())
