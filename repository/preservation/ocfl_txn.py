"""Staging transactions and crash recovery for the OCFL store (DESIGN principle 2: nothing half-written).

A transaction is a directory ``<staging>/ocfl-txn-<token>/`` guarded by the lock file
``<staging>/ocfl-txn-<token>.lock``. The lock file is created under a temporary name, ``flock``-ed and only
then renamed into place, so a visible ``.lock`` is always held while its writer lives; the kernel drops the
lock when the process dies, however it dies. The lock appears before the directory and disappears after it, so
a transaction directory without a held lock belongs to a dead process.

Before the store is touched the writer records ``intent.json`` (storage root, object id and path, version
number). Recovery reads the intents of dead transactions and reconciles just those objects
(:func:`reconcile_object`), then deletes the directories by renaming them to ``ocfl-trash-*`` first, so a
crash during deletion leaves nothing half-deleted that looks alive.

Reconciling an object (OCFL 1.1 §3.3 version directories, §3.6 inventory digest, §3.7 version inventory, §4.1
no empty directories under a storage root, E073):

* object root missing (first version never moved in): remove the empty tuple directories above it;
* a ``vN`` directory beyond the root inventory's head: *roll forward* when ``vN`` is complete, meaning its
  inventory matches its sidecar, names the same id and head ``vN``, keeps every earlier version and manifest
  entry of the root inventory unchanged, and every new content file exists with the recorded sha512 and
  nothing else is in ``vN/content``. Then its inventory and sidecar are copied to the root. Otherwise ``vN``
  is removed. A live writer's ``vN`` always arrives complete (one rename), so rolling forward can never hurt
  it;
* root inventory newer than its sidecar (killed between the two replaces): rewrite the sidecar from the head
  version's copy when that copy is byte-identical.

Anything else (a damaged inventory, a mismatch recovery cannot explain) is left for the audit and reported.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from repository.errors import PreservationError
from repository.fixity import hash_file
from repository.preservation.ocfl_inventory import (
    CONTENT_DIRECTORY,
    INVENTORY,
    SIDECAR,
    load_inventory,
    read_sidecar,
    version_name,
    version_number,
)
from repository.preservation.ocfl_layout import (
    EXTENSIONS_DIR,
    OBJECT_DECLARATION,
    fsync_path,
    replace_atomic,
    walk,
    write_durable,
)

TXN_PREFIX = "ocfl-txn-"
TRASH_PREFIX = "ocfl-trash-"
LOCK_SUFFIX = ".lock"
NEW_LOCK_SUFFIX = ".lock.new"
INTENT = "intent.json"


def _sha512(path: Path) -> str:
    return hash_file(path, ["sha512"])[1]["sha512"]


def _rmtree(path: Path) -> None:
    """Remove a tree, tolerating entries that another process removes at the same time."""

    def tolerate_missing(exc: BaseException) -> None:
        if not isinstance(exc, FileNotFoundError):
            raise exc

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=lambda _f, _p, exc: tolerate_missing(exc))
    else:
        shutil.rmtree(path, onerror=lambda _f, _p, info: tolerate_missing(info[1]))


def _try_lock(path: Path) -> int | None:
    """An fd holding an exclusive lock on ``path``; None if another process holds it or it is gone."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


class Transaction:
    """A locked working directory in staging; :meth:`finish` removes it and releases the lock."""

    def __init__(self, path: Path, lock_path: Path, lock_fd: int) -> None:
        self.path = path
        self.lock_path = lock_path
        self._fd: int | None = lock_fd

    @classmethod
    def begin(cls, staging: Path) -> Transaction:
        for _attempt in range(5):
            path = staging / f"{TXN_PREFIX}{secrets.token_hex(8)}"
            new_lock = path.with_name(path.name + NEW_LOCK_SUFFIX)
            lock = path.with_name(path.name + LOCK_SUFFIX)
            fd = os.open(new_lock, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.rename(new_lock, lock)
            except FileNotFoundError:  # a recovery swept the unlocked new file: try another name
                os.close(fd)
                continue
            except BaseException:
                os.close(fd)
                new_lock.unlink(missing_ok=True)
                raise
            txn = cls(path, lock, fd)
            try:
                path.mkdir()
            except BaseException:
                txn.release()
                raise
            return txn
        raise PreservationError(f"could not open a transaction in {staging}", "OCFL-STAGING")

    def write_intent(self, intent: dict[str, Any]) -> None:
        write_durable(self.path / INTENT, json.dumps(intent, ensure_ascii=False).encode("utf-8"))
        fsync_path(self.path, directory=True)

    def finish(self) -> None:
        """Delete the directory (via an ``ocfl-trash-`` rename) and release the lock."""
        if self.path.exists():
            trash = self.path.with_name(TRASH_PREFIX + self.path.name[len(TXN_PREFIX) :])
            os.rename(self.path, trash)
            _rmtree(trash)
        self.release()

    def release(self) -> None:
        """Give up the lock, leaving any directory for recovery."""
        if self._fd is not None:
            if not self.path.exists():
                self.lock_path.unlink(missing_ok=True)
            os.close(self._fd)
            self._fd = None


# ------------------------------------------------------------------------------------------- reconciling


def remove_empty_parents(start: Path, stop: Path) -> int:
    """rmdir ``start`` and its ancestors while empty, never ``stop`` itself; how many went."""
    removed = 0
    while start != stop and stop in start.parents:
        try:
            start.rmdir()
        except OSError:
            break
        removed += 1
        start = start.parent
    return removed


def _files_under(directory: Path, base: Path) -> set[str]:
    found = set()
    for dirpath, _dirs, files in walk(directory):
        for name in files:
            found.add((Path(dirpath) / name).relative_to(base).as_posix())
    return found


def version_is_complete(vdir: Path, root_inventory: dict[str, Any]) -> bool:
    """True when ``vdir`` is a whole, verified successor of ``root_inventory`` (see module docstring)."""
    object_root, vname = vdir.parent, vdir.name
    try:
        inventory_bytes = (vdir / INVENTORY).read_bytes()
        if read_sidecar(vdir / SIDECAR) != hashlib.sha512(inventory_bytes).hexdigest():
            return False
        inventory = load_inventory(vdir / INVENTORY)
        earlier = {k: v for k, v in inventory["versions"].items() if k != vname}
        if (
            inventory["id"] != root_inventory["id"]
            or inventory["head"] != vname
            or earlier != root_inventory["versions"]
            or any(inventory["manifest"].get(d) != p for d, p in root_inventory["manifest"].items())
        ):
            return False
        new = {
            cp: d for d, paths in inventory["manifest"].items() for cp in paths if cp.startswith(vname + "/")
        }
        if _files_under(vdir / CONTENT_DIRECTORY, object_root) != set(new):
            return False
        return all(_sha512(object_root / cp) == d.lower() for cp, d in new.items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError, PreservationError):
        return False


def reconcile_object(object_root: Path, storage_root: Path, tmp_dir: Path) -> list[str]:
    """Bring one object back to a valid state after an interrupted version; what was done."""
    if not (object_root / OBJECT_DECLARATION).exists():
        if not object_root.exists() and remove_empty_parents(object_root.parent, storage_root):
            return [f"removed empty directories left above {object_root.relative_to(storage_root)}"]
        return []
    inventory = load_inventory(object_root / INVENTORY)
    label, actions = inventory["id"], []
    head = version_number(inventory["head"]) or 0
    extra = sorted(
        n for c in object_root.iterdir() if (n := version_number(c.name)) and n > head and c.is_dir()
    )
    for number in extra:
        vdir = object_root / version_name(number)
        if number == head + 1 and version_is_complete(vdir, inventory):
            replace_atomic(object_root / INVENTORY, (vdir / INVENTORY).read_bytes(), tmp_dir)
            replace_atomic(object_root / SIDECAR, (vdir / SIDECAR).read_bytes(), tmp_dir)
            inventory, head = load_inventory(object_root / INVENTORY), number
            actions.append(f"completed {vdir.name} of {label} from its version inventory")
        else:
            trash = tmp_dir / f"removed-{vdir.name}-{secrets.token_hex(4)}"
            os.rename(vdir, trash)
            fsync_path(object_root, directory=True)
            _rmtree(trash)
            actions.append(f"removed incomplete {vdir.name} of {label}")
    return actions + _repair_sidecar(object_root, inventory, tmp_dir)


def _repair_sidecar(object_root: Path, inventory: dict[str, Any], tmp_dir: Path) -> list[str]:
    inventory_bytes = (object_root / INVENTORY).read_bytes()
    digest = hashlib.sha512(inventory_bytes).hexdigest()
    if read_sidecar(object_root / SIDECAR) == digest:
        return []
    head_dir = object_root / inventory["head"]
    try:
        same = (head_dir / INVENTORY).read_bytes() == inventory_bytes and read_sidecar(
            head_dir / SIDECAR
        ) == digest
    except OSError:
        same = False
    if not same:
        return [
            f"inventory sidecar of {inventory['id']} does not match and cannot be restored: left for audit"
        ]
    replace_atomic(object_root / SIDECAR, (head_dir / SIDECAR).read_bytes(), tmp_dir)
    return [f"restored the inventory sidecar of {inventory['id']}"]


# --------------------------------------------------------------------------------------- staging sweep


def _dead_transactions(staging: Path) -> Iterator[tuple[Path, Path, int | None]]:
    """(directory, lock file, fd holding its lock or None when no lock file exists) for dead transactions."""
    for entry in sorted(staging.iterdir()):
        if not entry.name.startswith(TXN_PREFIX) or not entry.is_dir():
            continue
        lock = entry.with_name(entry.name + LOCK_SUFFIX)
        fd = _try_lock(lock)
        if fd is None and lock.exists():
            continue  # held: its writer is alive
        yield entry, lock, fd


def objects_being_written(staging: Path) -> set[str]:
    """Ids of the objects a live writer is committing: transactions in ``staging`` whose lock is held and whose
    intent names an object. Between moving ``vN/`` into the object and replacing its inventory such an object
    looks damaged (a version directory the inventory does not list): an audit must not judge or repair it."""
    busy: set[str] = set()
    try:
        entries = sorted(staging.iterdir())
    except OSError:
        return busy
    for entry in entries:
        if not entry.name.startswith(TXN_PREFIX) or not entry.is_dir():
            continue
        fd = _try_lock(entry.with_name(entry.name + LOCK_SUFFIX))
        if fd is not None:
            os.close(fd)  # nobody holds it: a dead transaction, recovery's business
            continue
        intent = _read_intent(entry)
        if intent is not None and isinstance(intent.get("object_id"), str):
            busy.add(intent["object_id"])
    return busy


def _read_intent(txn_dir: Path) -> dict[str, Any] | None:
    try:
        intent = json.loads((txn_dir / INTENT).read_text("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return intent if isinstance(intent, dict) else None


def recover_staging(staging: Path, storage_root: Path, tmp_dir: Path) -> list[str]:
    """Reconcile and remove dead transactions of ``storage_root`` in ``staging``; sweep stray files."""
    actions: list[str] = []
    root_key = str(storage_root.resolve())
    for txn_dir, lock, fd in _dead_transactions(staging):
        try:
            intent = _read_intent(txn_dir)
            if intent is not None and intent.get("storage_root") != root_key:
                continue  # another store's transaction: not ours to judge
            if intent is not None:
                actions += reconcile_object(storage_root / intent["object_path"], storage_root, tmp_dir)
            trash = txn_dir.with_name(TRASH_PREFIX + txn_dir.name[len(TXN_PREFIX) :])
            os.rename(txn_dir, trash)
            _rmtree(trash)
            what = f"{intent['object_id']} v{intent['version']}" if intent else "before any store change"
            actions.append(f"cleared interrupted transaction {txn_dir.name} ({what})")
            lock.unlink(missing_ok=True)
        except (OSError, PreservationError) as exc:
            actions.append(f"could not recover {txn_dir.name}: {exc}")
        finally:
            if fd is not None:
                os.close(fd)
    return actions + _sweep(staging)


def _sweep(staging: Path) -> list[str]:
    """Remove trash directories and unheld lock files whose transaction directory is gone."""
    actions = []
    for entry in sorted(staging.iterdir()):
        name = entry.name
        if name.startswith(TRASH_PREFIX):
            _rmtree(entry) if entry.is_dir() else entry.unlink(missing_ok=True)
            actions.append(f"removed leftover {name}")
        elif name.startswith(TXN_PREFIX) and name.endswith((LOCK_SUFFIX, NEW_LOCK_SUFFIX)):
            txn_dir = staging / name.removesuffix(NEW_LOCK_SUFFIX).removesuffix(LOCK_SUFFIX)
            fd = _try_lock(entry)
            if fd is None:
                continue
            try:
                if not txn_dir.exists():
                    entry.unlink(missing_ok=True)
                    actions.append(f"removed stale lock {name}")
            finally:
                os.close(fd)
    return actions


def prune_empty_dirs(root: Path) -> list[str]:
    """Remove empty directories in the storage hierarchy (E073), not entering objects or extensions."""
    removed: list[str] = []

    def prune(directory: Path) -> bool:
        if (directory / OBJECT_DECLARATION).exists():
            return False
        empty = True
        for child in sorted(directory.iterdir()):
            if child.is_dir() and not child.is_symlink() and prune(child):
                continue
            empty = False
        if empty and directory != root:
            directory.rmdir()
            removed.append(f"removed empty directory {directory.relative_to(root).as_posix()}")
        return empty

    for child in sorted(root.iterdir()):
        if child.is_dir() and child.name != EXTENSIONS_DIR:
            prune(child)
    return removed


def is_busy_error(exc: OSError) -> bool:
    """The rename target already exists: another writer got there first."""
    return exc.errno in (errno.EEXIST, errno.ENOTEMPTY)
