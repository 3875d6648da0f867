"""Tombstones (销毁记录): what stays in storage of an archive disposed of after its retention ended.

A tombstone is two files in the storage root's extension area ``extensions/hsar-tombstones/<object>/`` (the
object's directory name is its identifier percent-encoded, as layout extension 0003 names object roots):

- ``tombstone.json``: UTF-8 JSON naming the archive (identifier, 档号, division, retention), its paper
  references (volume, and every item's catalogue, volume, item number, pages, box and shelf), what was removed
  (every version with its date and message, every stored file with its sha512), when, who proposed and who
  approved, the reason, and the PREMIS ``deletion`` event;
- ``tombstone.p7s``: a detached CMS SignedData (DER) over exactly those bytes, made with the repository's
  signing key (:func:`repository.preservation.signing.sign_detached`), so anyone holding the CA certificate can
  check it with ``openssl cms -verify -binary -inform DER -in tombstone.p7s -content tombstone.json -CAfile
  ca.pem``.

OCFL 1.1 §4.1 lets a storage root hold an ``extensions`` directory whose sub-directories are storage root
extensions (§4.4); the storage hierarchy walk leaves it out, so a tombstone is never taken for an object and
the root stays valid (ocfl-py warns W901 only that ``hsar-tombstones`` is not a registered extension name).
Every copy (the primary root and each replica) carries the same tombstone. A tombstone is written by building
its directory in staging and renaming it into place (DESIGN principle 2); an object is removed by renaming its
root into staging first, so a crash never leaves half an object in the hierarchy.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import PreservationError
from .ocfl import OcflStore
from .ocfl_layout import EXTENSIONS_DIR, encode_identifier, fsync_path, write_durable
from .ocfl_txn import TRASH_PREFIX, remove_empty_parents

AREA = "hsar-tombstones"
TOMBSTONE_FILE = "tombstone.json"
SIGNATURE_FILE = "tombstone.p7s"
FORMAT = "hsar-tombstone/1"


def area(root: Path) -> Path:
    """The tombstone area of a storage root."""
    return Path(root) / EXTENSIONS_DIR / AREA


def tombstone_dir(root: Path, object_id: str) -> Path:
    return area(root) / encode_identifier(object_id)


def render(tombstone: dict[str, Any]) -> bytes:
    """The bytes of ``tombstone.json``: sorted keys, two-space indent, UTF-8, a final newline."""
    return (json.dumps(tombstone, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


@dataclass(frozen=True)
class StoredTombstone:
    """One tombstone as found in a storage root (``data`` None: unreadable JSON)."""

    directory: Path
    raw: bytes
    signature: bytes | None
    data: dict[str, Any] | None

    @property
    def object_id(self) -> str | None:
        value = (self.data or {}).get("object_id")
        return value if isinstance(value, str) else None

    @property
    def archive_id(self) -> str | None:
        value = (self.data or {}).get("archive_id")
        return value if isinstance(value, str) else None

    @property
    def disposed_at(self) -> datetime | None:
        try:
            return datetime.fromisoformat(str((self.data or {})["disposed_at"]))
        except (KeyError, ValueError):
            return None

    @property
    def well_placed(self) -> bool:
        """The directory is where its object id puts it (a moved or renamed tombstone is not)."""
        return self.object_id is not None and self.directory.name == encode_identifier(self.object_id)


def _read(directory: Path) -> StoredTombstone:
    try:
        raw = (directory / TOMBSTONE_FILE).read_bytes()
    except OSError:
        raw = b""
    try:
        signature: bytes | None = (directory / SIGNATURE_FILE).read_bytes()
    except OSError:
        signature = None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        data = None
    return StoredTombstone(directory, raw, signature, data if isinstance(data, dict) else None)


def read_tombstones(root: Path) -> list[StoredTombstone]:
    """Every tombstone of a storage root, by directory name."""
    here = area(root)
    if not here.is_dir():
        return []
    return [_read(d) for d in sorted(here.iterdir()) if d.is_dir() and not d.is_symlink()]


def read_tombstone(root: Path, object_id: str) -> StoredTombstone | None:
    directory = tombstone_dir(root, object_id)
    return _read(directory) if directory.is_dir() else None


def write_tombstone(root: Path, object_id: str, data: bytes, signature: bytes, staging: Path) -> bool:
    """Put the tombstone of ``object_id`` into the storage root ``root``: built in ``staging`` (same file
    system), then renamed into place. False when the very same tombstone is there already (a repeated or
    recovered disposal); PreservationError when a different one is."""
    target = tombstone_dir(root, object_id)
    if target.is_dir():
        found = _read(target)
        if found.raw == data and found.signature == signature:
            return False
        raise PreservationError(code="DSP-TOMBSTONE", msgid="disposal.tombstone_differs", path=str(target))
    built = Path(staging) / f"{TRASH_PREFIX}tombstone-{secrets.token_hex(6)}"  # swept if a crash leaves it
    built.mkdir(parents=True)
    write_durable(built / TOMBSTONE_FILE, data)
    write_durable(built / SIGNATURE_FILE, signature)
    fsync_path(built, directory=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(built, target)
    fsync_path(target.parent, directory=True)
    return True


def remove_object(store: OcflStore, object_id: str, staging: Path) -> bool:
    """Take ``object_id`` out of ``store``: its root is renamed into ``staging`` (one atomic step: the object
    is in the hierarchy whole or not at all), then deleted, then emptied parent directories (OCFL E073).
    False when the object was not there."""
    object_root = store.object_root(object_id)
    if not object_root.is_dir():
        return False
    trash = Path(staging) / f"{TRASH_PREFIX}disposed-{secrets.token_hex(6)}"
    os.rename(object_root, trash)
    fsync_path(object_root.parent, directory=True)
    shutil.rmtree(trash)
    remove_empty_parents(object_root.parent, store.root)
    return True


def sync_tombstones(source_root: Path, target_root: Path, staging: Path) -> list[str]:
    """Copy to ``target_root`` every tombstone of ``source_root`` it lacks (replication); the object ids."""
    copied = []
    for ts in read_tombstones(source_root):
        if ts.object_id is None or ts.signature is None or not ts.well_placed:
            continue  # the audit reports it; an untrustworthy tombstone is not spread
        if write_tombstone(target_root, ts.object_id, ts.raw, ts.signature, staging):
            copied.append(ts.object_id)
    return copied
