"""The OCFL 1.1 store: one OCFL object per archive, one version per SIP (https://ocfl.io/1.1/spec/).

Spec coverage across the ``ocfl_*`` modules: §3 OCFL Object (§3.1 structure and ``0=ocfl_object_1.1``, §3.3
version directories, §3.4 digests, §3.5 inventory, §3.6 inventory digest, §3.7 version inventory) in
:mod:`.ocfl_inventory`; §4 Storage Root (§4.1-§4.4, layout extensions 0003 and 0004) in :mod:`.ocfl_layout`; crash
recovery in :mod:`.ocfl_txn`; ocfl-py validation in :mod:`.ocfl_validate`. Object ids SHOULD be URIs (W005).

:meth:`OcflStore.add_version` never re-hashes (the caller hashed while receiving) and writes nothing when the
new state equals the head state (an exact duplicate SIP). Atomicity, in order (E062: the sidecar goes last):

1. open a locked transaction ``<staging>/ocfl-txn-*`` and write ``intent.json`` (object, version), fsynced;
2. build everything under it: ``object/vN/content/...`` (copied or moved, size-checked),
   ``object/vN/inventory.json`` and sidecar, the root copies ``object/inventory.json`` and sidecar, for v1
   ``0=ocfl_object_1.1``; fsync all;
3. check the head is still the one the caller expected (optimistic concurrency);
4. v1: create the tuple directories, rename ``object`` to the object root (one atomic step); vN: rename
   ``object/vN`` into the object root (fails if another writer made ``vN``), then ``os.replace`` the root
   ``inventory.json``, then ``os.replace`` its sidecar, fsyncing the object root after each;
5. delete the transaction and release its lock.

No temporary file is ever created inside the store. :meth:`OcflStore.recover` (run first by every ``hsar``
command) reconciles the objects named by transactions whose process died: a ``vN`` already in the object is
rolled forward if complete and verified, else removed; a stale root sidecar is restored; empty tuple
directories go. Afterwards the store validates and repeating the ingest completes it or finds it done
(``unchanged=True``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO, Final, Literal

from repository.errors import PreservationError
from repository.preservation.ocfl_build import SourceFile, checked_state, write_content, write_inventories
from repository.preservation.ocfl_inventory import (
    INVENTORY,
    SIDECAR,
    VersionInfo,
    diff_states,
    format_created,
    load_inventory,
    logical_state,
    next_inventory,
    sidecar_for,
    user_block,
)
from repository.preservation.ocfl_layout import (
    LAYOUT_0003,
    OBJECT_DECLARATION,
    fsync_path,
    init_storage_root,
    read_storage_root,
    walk,
)
from repository.preservation.ocfl_txn import (
    Transaction,
    is_busy_error,
    prune_empty_dirs,
    reconcile_object,
    recover_staging,
)
from repository.preservation.ocfl_validate import validate_with_ocfl_py
from repository.preservation.ocfl_versions import ContentPaths, InventoryCache, version_infos

__all__ = ["HeadChangedError", "OcflStore", "SourceFile", "UNSET", "VersionInfo", "VersionResult",
           "validate_with_ocfl_py"]


class _Unset(Enum):
    UNSET = "unset"


UNSET: Final = _Unset.UNSET

# Test seam: called with each step name of add_version (crash tests kill the process here).
STEPS = (
    "txn-opened",
    "intent-written",
    "content-written",
    "built",
    "parents-created",
    "version-moved",
    "inventory-replaced",
    "sidecar-replaced",
    "committed",
)
_STEP_HOOK: Callable[[str], None] | None = None


def _step(name: str) -> None:
    if _STEP_HOOK is not None:
        _STEP_HOOK(name)


class HeadChangedError(PreservationError):
    """The object's head is not the one the caller read (another writer got there first)."""

    code = "OCFL-CONFLICT"


@dataclass(frozen=True)
class VersionResult:
    """What :meth:`OcflStore.add_version` did; ``version`` is the head afterwards."""

    object_id: str
    version: str
    previous: str | None
    unchanged: bool
    object_root: Path
    inventory_digest: str
    added: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    new_content: tuple[str, ...] = ()  # content paths written, relative to the object root


class OcflStore:
    """An OCFL 1.1 storage root. Readers always read from disk: storage is the truth (the inventory read last
    is used again only while its file is the same, :class:`InventoryCache`)."""

    def __init__(self, root: Path) -> None:
        self.root, self._last = Path(root), InventoryCache()
        self.layout = read_storage_root(self.root)

    @classmethod
    def init(cls, root: Path, layout: str = LAYOUT_0003) -> OcflStore:
        """Create the storage root if needed (idempotent; an existing root keeps its layout) and open it.

        ``layout`` is for new roots only: 0003 (the default), or 0004 as hsar made roots before."""
        init_storage_root(Path(root), layout)
        return cls(root)

    # ------------------------------------------------------------------------------------------ readers

    def object_root(self, object_id: str) -> Path:
        return self.root / self.layout.object_path(object_id)

    def exists(self, object_id: str) -> bool:
        return (self.object_root(object_id) / INVENTORY).is_file()

    def _inventory_or_none(self, object_id: str) -> dict[str, Any] | None:
        path = self.object_root(object_id) / INVENTORY
        inventory = self._last.load(path)
        if inventory is None:
            return None
        if inventory["id"] != object_id:
            raise PreservationError(f"{path} holds {inventory['id']!r}, not {object_id!r}", "OCFL-ID")
        return inventory

    def inventory(self, object_id: str) -> dict[str, Any]:
        """The root inventory of an object (PreservationError ``OCFL-NOT-FOUND`` if there is none)."""
        inventory = self._inventory_or_none(object_id)
        if inventory is None:
            raise PreservationError(f"no OCFL object {object_id!r}", "OCFL-NOT-FOUND")
        return inventory

    def head(self, object_id: str) -> str | None:
        inventory = self._inventory_or_none(object_id)
        return inventory["head"] if inventory else None

    def versions(self, object_id: str) -> list[VersionInfo]:
        return version_infos(self.inventory(object_id))

    def state(self, object_id: str, version: str | None = None) -> dict[str, str]:
        """``{logical path: sha512}`` of ``version`` (default the head)."""
        return logical_state(self.inventory(object_id), version)

    def content_path(self, object_id: str, logical_path: str, version: str | None = None) -> Path:
        """Where the bytes of ``logical_path`` (in ``version``, default the head) are stored."""
        inventory = self.inventory(object_id)
        digest = logical_state(inventory, version).get(logical_path)
        if digest is None:
            raise PreservationError(f"{object_id} has no file {logical_path!r}", "OCFL-NOT-FOUND")
        paths = inventory["manifest"].get(digest) or inventory["manifest"].get(digest.upper())
        if not paths:
            raise PreservationError(
                f"{object_id}: digest of {logical_path!r} not in manifest", "OCFL-INVENTORY"
            )
        return self.object_root(object_id) / paths[0]

    def content_paths(self, object_id: str, version: str | None = None, *,
                      inventory: dict[str, Any] | None = None) -> ContentPaths:
        """``{logical path: where it is stored}`` for every file of ``version``, reading the inventory once."""
        inventory = inventory or self.inventory(object_id)
        return ContentPaths(self.object_root(object_id), self._last.stored_paths(inventory, version))

    def open_file(self, object_id: str, logical_path: str, version: str | None = None) -> BinaryIO:
        return open(self.content_path(object_id, logical_path, version), "rb")

    def content_files(self, object_id: str) -> dict[str, str]:
        """``{content path relative to the object root: sha512}`` of every stored file."""
        manifest = self.inventory(object_id)["manifest"]
        return {path: digest.lower() for digest, paths in manifest.items() for path in paths}

    def iter_object_roots(self) -> Iterator[Path]:
        """Every directory under the root holding ``0=ocfl_object_1.1`` (not descending into objects)."""
        for kind, path in self.walk_hierarchy():
            if kind == "object":
                yield path

    def walk_hierarchy(self) -> Iterator[tuple[str, Path]]:
        """The storage hierarchy, sorted: ``("object", root)`` for every object root (not descended into),
        and what OCFL 1.1 §4.1/§4.2 forbids below the root's own level: ``("stray", path)`` for a file or
        other entry outside every object (E072) and ``("empty", dir)`` for a directory that ends in no object
        (E073), and ``("unreadable", dir)`` for a directory that cannot be listed. Files beside the root
        declaration and ``extensions/`` are the root's own; links are never followed (a link is a stray)."""
        errors: list[OSError] = []
        for dirpath, dirs, files in walk(self.root, onerror=errors.append):
            yield from (("unreadable", Path(e.filename)) for e in errors if e.filename is not None)
            errors.clear()
            here = Path(dirpath)
            if here == self.root:
                dirs[:] = sorted(d for d in dirs if d != "extensions" and not os.path.islink(here / d))
                continue
            if OBJECT_DECLARATION in files:
                dirs[:] = []
                yield "object", here
                continue
            links = sorted(d for d in dirs if os.path.islink(here / d))
            dirs[:] = sorted(d for d in dirs if d not in links)
            for name in sorted(files + links):
                yield "stray", here / name
            if not dirs and not files and not links:
                yield "empty", here
        yield from (("unreadable", Path(e.filename)) for e in errors if e.filename is not None)

    def iter_object_ids(self) -> Iterator[str]:
        """Ids of all objects, read from their inventories."""
        for object_root in self.iter_object_roots():
            yield load_inventory(object_root / INVENTORY)["id"]

    # ------------------------------------------------------------------------------------------ writing

    def add_version(
        self,
        object_id: str,
        files: Mapping[str, SourceFile],
        *,
        staging: Path,
        message: str,
        user: tuple[str, str | None],
        created: datetime | None = None,
        move: bool = False,
        expected_head: str | None | Literal[_Unset.UNSET] = UNSET,
    ) -> VersionResult:
        """Make ``files`` (logical path -> source) the next version of ``object_id``, or nothing if unchanged.

        ``expected_head`` (None: the object must not exist yet) makes the call refuse with
        :class:`HeadChangedError` when another writer moved the head. ``move`` moves sources into the store
        instead of copying them (same filesystem; a crash then consumes them). ``staging`` must be on the
        store's filesystem.
        """
        state = checked_state(files)
        block = {"created": format_created(created), "message": message, "user": user_block(user)}
        previous = self._inventory_or_none(object_id)
        head = previous["head"] if previous else None
        if expected_head is not UNSET and expected_head != head:
            raise HeadChangedError(f"{object_id}: head is {head}, the caller expected {expected_head}")
        old_state = logical_state(previous) if previous else {}
        if previous is not None and old_state == state:
            digest = sidecar_for((self.object_root(object_id) / INVENTORY).read_bytes())[0]
            return VersionResult(object_id, previous["head"], head, True, self.object_root(object_id), digest)
        inventory, new_content = next_inventory(object_id, previous, state, block)
        self._check_staging(Path(staging))
        digest = self._write_version(object_id, inventory, new_content, files, Path(staging), move, head)
        added, modified, removed = diff_states(old_state, state)
        return VersionResult(
            object_id, inventory["head"], head, False, self.object_root(object_id), digest,
            tuple(added), tuple(modified), tuple(removed), tuple(new_content),
        )  # fmt: skip

    def _check_staging(self, staging: Path) -> None:
        staging.mkdir(parents=True, exist_ok=True)
        if staging.stat().st_dev != self.root.stat().st_dev:
            raise PreservationError(
                f"staging {staging} is not on the filesystem of {self.root}", "OCFL-STAGING"
            )

    def _write_version(
        self,
        object_id: str,
        inventory: dict[str, Any],
        new_content: dict[str, str],
        files: Mapping[str, SourceFile],
        staging: Path,
        move: bool,
        head: str | None,
    ) -> str:
        txn = Transaction.begin(staging)
        _step("txn-opened")
        try:
            intent = {
                "storage_root": str(self.root.resolve()),
                "object_id": object_id,
                "object_path": self.layout.object_path(object_id),
                "version": len(inventory["versions"]),
            }
            txn.write_intent(intent)
            _step("intent-written")
            obj_dir = txn.path / "object"
            directories = write_content(obj_dir, inventory["head"], new_content, files, move)
            _step("content-written")
            digest = write_inventories(obj_dir, inventory, directories, first=head is None)
            _step("built")
            written = (obj_dir / INVENTORY).stat()
            self._commit(object_id, txn.path / "object", inventory["head"], head)
            _step("committed")
            self._last.written(self.object_root(object_id) / INVENTORY, inventory, written)
        except BaseException as exc:
            self._abandon(txn, object_id)
            if isinstance(exc, OSError):
                raise PreservationError(f"could not store {object_id}: {exc}", "OCFL-IO") from exc
            raise
        try:
            txn.finish()
        except OSError:  # the version is committed; recover() removes what is left in staging
            txn.release()
        return digest

    def _abandon(self, txn: Transaction, object_id: str) -> None:
        """After a failure: put the object right, then drop the transaction (or leave it for recover)."""
        try:
            reconcile_object(self.object_root(object_id), self.root, txn.path)
            txn.finish()
        except (OSError, PreservationError):
            txn.release()

    def _commit(self, object_id: str, built: Path, vname: str, expected: str | None) -> None:
        object_root = self.object_root(object_id)
        current = self.head(object_id)
        if current != expected:
            raise HeadChangedError(f"{object_id}: head moved from {expected} to {current} while writing")
        if expected is None:
            self._move_in_new_object(built, object_root)
            return
        try:
            os.rename(built / vname, object_root / vname)
        except OSError as exc:
            if is_busy_error(exc):
                raise HeadChangedError(f"{object_id}: another writer created {vname}") from exc
            raise
        fsync_path(object_root, directory=True)
        _step("version-moved")
        os.replace(built / INVENTORY, object_root / INVENTORY)
        fsync_path(object_root, directory=True)
        _step("inventory-replaced")
        os.replace(built / SIDECAR, object_root / SIDECAR)
        fsync_path(object_root, directory=True)
        _step("sidecar-replaced")

    def _move_in_new_object(self, built: Path, object_root: Path) -> None:
        for _attempt in range(5):
            object_root.parent.mkdir(parents=True, exist_ok=True)
            _step("parents-created")
            try:
                os.rename(built, object_root)
                break
            except FileNotFoundError:
                continue  # a concurrent recovery pruned the empty parents: make them again
            except OSError as exc:
                if is_busy_error(exc):
                    raise HeadChangedError(f"{object_root} was created by another writer") from exc
                raise
        else:
            raise PreservationError(f"could not move the new object into {object_root}", "OCFL-IO")
        directory = object_root.parent
        while directory == self.root or self.root in directory.parents:
            fsync_path(directory, directory=True)
            directory = directory.parent
        _step("version-moved")

    # ----------------------------------------------------------------------------------------- recovery

    def recover(self, staging: Path, *, scan: bool = False) -> list[str]:
        """Finish or undo what killed processes left; return what was done (for the log / a PREMIS event).

        ``scan`` also checks every object and prunes empty directories, for when staging itself was lost.
        """
        staging = Path(staging)
        leftovers = staging.is_dir() and any(p.name.startswith("ocfl-") for p in staging.iterdir())
        if not leftovers and not scan:
            return []  # the common case: nothing to do, nothing written
        staging.mkdir(parents=True, exist_ok=True)
        txn = Transaction.begin(staging)
        try:
            actions = recover_staging(staging, self.root, txn.path)
            if scan:
                for object_root in list(self.iter_object_roots()):
                    actions += reconcile_object(object_root, self.root, txn.path)
                actions += prune_empty_dirs(self.root)
        finally:
            txn.finish()
        return actions
