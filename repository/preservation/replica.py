"""Replicas (副本): each object copied byte for byte to every replica storage root, each a valid OCFL 1.1 root.

``storage.replicas`` in ``hsar.toml`` names the replica roots (another disk, another mount). A replica holds
the very same bytes as the primary: the same inventories (so the same inventory digests, OCFL 1.1 §3.6),
version directories and content paths. :func:`sync_object` brings one object of a replica up to a given
inventory the way the OCFL store writes versions (DESIGN principle 2, nothing half-written): the missing
version directories are built in a locked transaction in the replica's staging directory, each content file
copied while it is hashed and compared with the manifest (a corrupt source is never replicated), then moved
into the object (a new object in one rename), and the root inventory and its sidecar are replaced last. The
transaction records the same ``intent.json`` as :class:`~repository.preservation.ocfl.OcflStore`, so
``OcflStore.recover`` on the replica finishes or removes what a crash left.

A replica's staging directory is ``.<root name>.hsar-staging`` beside the replica root: it must be on the
same file system (point ``storage.replicas`` at a directory *inside* a mount, not at the mount point).
Replication events are PREMIS ``replication`` events in the audit log.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import PreservationError
from ..fixity import copy_and_hash
from .auditlog import AuditLog, event_record
from .copies import (
    DECLARATION_BYTES,
    PRIMARY,
    Copy,
    content_map,
    expected_sidecar,
    is_prefix,
    parse_inventory,
    prior_inventory_ok,
    read_small,
    sidecar_matches,
)
from .ocfl import OcflStore
from .ocfl_inventory import INVENTORY, SIDECAR, load_inventory
from .ocfl_layout import OBJECT_DECLARATION, fsync_path, is_storage_root, replace_atomic, write_durable
from .ocfl_txn import Transaction, reconcile_object
from .premis import PremisEvent, hsar_agent
from .storelock import reading_store
from .tombstone import sync_tombstones

if TYPE_CHECKING:
    from ..config import Config


class AuditPaths(Protocol):
    """Where the audit log of a home lies (:class:`repository.home.layout.HomePaths`)."""

    @property
    def audit(self) -> Path: ...

    @property
    def readers_lock(self) -> Path: ...


class StoreHome(Protocol):
    """What replication needs of a repository home (:class:`repository.home.Repository`, a layer above)."""

    @property
    def cfg(self) -> Config: ...

    @property
    def home(self) -> Path: ...

    @property
    def staging(self) -> Path: ...

    @property
    def paths(self) -> AuditPaths: ...

    @property
    def store(self) -> OcflStore: ...


def require_root(root: Path) -> None:
    """Refuse to write into a storage root that is no longer one (a disk unmounted or a directory moved
    while a run was under way): nothing may be created in its place."""
    if not is_storage_root(root):
        raise PreservationError(code="REPLICA", msgid="replica.root_gone", root=str(root))


def replica_staging(root: Path) -> Path:
    """The staging directory of a replica root: a hidden sibling on the same file system."""
    root = Path(root)
    return root.parent / f".{root.name}.hsar-staging"


def _open_replica(label: str, root: Path, create: bool) -> Copy:
    staging = replica_staging(root)
    try:
        declared = is_storage_root(root)
        if not declared and not create:
            raise PreservationError(code="REPLICA", msgid="replica.not_a_root", root=str(root))
        if not declared and staging.exists():
            # this root held a replica before (its staging sibling stays on the parent file system): a disk
            # unmounted or a directory moved away must never be replaced by a fresh copy on another disk
            raise PreservationError(code="REPLICA", msgid="replica.was_a_root", root=str(root),
                                    staging=str(staging))
        if not root.parent.is_dir():
            raise PreservationError(f"the parent of {root} does not exist (is the disk mounted?)", "REPLICA")
        store = OcflStore.init(root)
        staging.mkdir(exist_ok=True)
        if staging.stat().st_dev != root.stat().st_dev:
            raise PreservationError(f"{staging} is not on the file system of {root}", "REPLICA")
        store.recover(staging)
        return Copy(label, root, store, staging)
    except (PreservationError, OSError) as exc:
        return Copy(label, root, None, staging, error=str(exc))


def open_copies(repo: StoreHome, *, create_replicas: bool = False) -> list[Copy]:
    """The primary store and every configured replica (unusable replicas carry ``error``)."""
    store = repo.store
    store.recover(repo.staging)
    copies = [Copy(PRIMARY, store.root, store, repo.staging)]
    for label, root in labelled_replicas(repo.cfg.paths("storage.replicas")):
        copies.append(_open_replica(label, root, create_replicas))
    return copies


def labelled_replicas(roots: Iterable[Path]) -> list[tuple[str, Path]]:
    """Each ``storage.replicas`` root with the label the audit, its log and ``hsar replicate`` give it
    (``replica1``, ``replica2`` … in the setting's order)."""
    return [(f"replica{number}", Path(root)) for number, root in enumerate(roots, 1)]


# ----------------------------------------------------------------------------------------- one object


def _copy_version(source_root: Path, built: Path, vname: str, inv: dict[str, Any], data: bytes) -> None:
    """Build ``vname`` of the object under ``built`` from ``source_root``, verifying every byte copied."""
    vdir = built / vname
    vdir.mkdir(parents=True)
    inv_bytes = data if vname == inv["head"] else read_small(source_root / vname / INVENTORY)
    if vname != inv["head"] and not (prior_inventory_ok(inv_bytes, inv, vname) and sidecar_matches(
            read_small(source_root / vname / SIDECAR), inv_bytes)):
        raise PreservationError(f"source {vname}/{INVENTORY} does not verify; audit the primary first", "REPLICA-SOURCE")
    assert inv_bytes is not None
    write_durable(vdir / INVENTORY, inv_bytes)
    write_durable(vdir / SIDECAR, expected_sidecar(inv_bytes))
    directories = {vdir}
    for content_path, digest in content_map(inv).items():
        if not content_path.startswith(vname + "/"):
            continue
        target = built / content_path
        target.parent.mkdir(parents=True, exist_ok=True)
        directories.update(p for p in target.parents if vdir in p.parents or p == vdir)
        _size, digests = copy_and_hash(source_root / content_path, target, ["sha512"], fsync=True)
        if digests["sha512"] != digest:
            raise PreservationError(code="REPLICA-SOURCE", msgid="replica.source_corrupt", path=str(content_path))
    for directory in sorted(directories, key=lambda p: len(p.parts), reverse=True):
        fsync_path(directory, directory=True)


def _target_versions(target: OcflStore, object_id: str, inv: dict[str, Any]) -> int:
    """How many versions the replica already holds; PreservationError when its history differs."""
    if not target.exists(object_id):
        return 0
    held = load_inventory(target.object_root(object_id) / INVENTORY)
    if not is_prefix(held, inv):
        if is_prefix(inv, held):  # the replica holds more: the source has lost versions (hsar audit repairs it)
            raise PreservationError(code="REPLICA-DIVERGED", msgid="replica.source_behind", object_id=object_id,
                                    source_head=inv["head"], replica_head=held["head"])
        raise PreservationError(code="REPLICA-DIVERGED", msgid="replica.diverged", object_id=object_id)
    return len(held["versions"])


def _commit(target: OcflStore, object_id: str, built: Path, todo: list[str], have: int, data: bytes,
            txn: Transaction) -> None:
    object_root = target.object_root(object_id)
    if have == 0:
        write_durable(built / OBJECT_DECLARATION, DECLARATION_BYTES)
        write_durable(built / INVENTORY, data)
        write_durable(built / SIDECAR, expected_sidecar(data))
        fsync_path(built, directory=True)
        object_root.parent.mkdir(parents=True, exist_ok=True)
        os.rename(built, object_root)
        fsync_path(object_root.parent, directory=True)
        return
    for vname in todo:
        os.rename(built / vname, object_root / vname)
        fsync_path(object_root, directory=True)
    replace_atomic(object_root / INVENTORY, data, txn.path)
    replace_atomic(object_root / SIDECAR, expected_sidecar(data), txn.path)


def sync_object(source_root: Path, data: bytes, target: OcflStore, object_id: str, staging: Path) -> tuple[str, ...]:
    """Copy the versions of inventory ``data`` that ``target`` lacks from the object at ``source_root``.

    Returns the versions copied (empty when the replica is up to date). Raises PreservationError when the
    source does not verify or the replica's history differs; the replica is then left as it was.
    """
    inv, error = parse_inventory(data, object_id)
    if inv is None:
        raise PreservationError(f"{object_id}: source inventory unusable: {error}", "REPLICA-SOURCE")
    require_root(target.root)
    have = _target_versions(target, object_id, inv)
    todo = sorted((v for v in inv["versions"] if int(v[1:]) > have), key=lambda v: int(v[1:]))
    if not todo:
        return ()
    staging.mkdir(parents=True, exist_ok=True)
    txn = Transaction.begin(staging)
    try:
        txn.write_intent({"storage_root": str(target.root.resolve()), "object_id": object_id,
                          "object_path": target.layout.object_path(object_id), "version": int(inv["head"][1:])})
        built = txn.path / "object"
        for vname in todo:
            _copy_version(Path(source_root), built, vname, inv, data)
        _commit(target, object_id, built, todo, have, data, txn)
    except BaseException:
        try:
            reconcile_object(target.object_root(object_id), target.root, txn.path)
            txn.finish()
        except (OSError, PreservationError):
            txn.release()
        raise
    txn.finish()
    return tuple(todo)


# -------------------------------------------------------------------------------------- whole store


@dataclass(frozen=True)
class ObjectReplication:
    """One object brought up to date on one replica, or why it could not be."""

    replica: str
    object_id: str
    versions: tuple[str, ...] = ()
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"replica": self.replica, "object_id": self.object_id, "versions": list(self.versions),
                "error": self.error}


@dataclass(frozen=True)
class ReplicationResult:
    """What :func:`replicate` did; ``ok`` when every replica is usable and every object is up to date."""

    replicas: tuple[Copy, ...]
    copied: tuple[ObjectReplication, ...]
    errors: tuple[ObjectReplication, ...]
    checked: int

    @property
    def ok(self) -> bool:
        return not self.errors and all(c.error is None for c in self.replicas)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked,
                "replicas": [{"label": c.label, "root": str(c.root), "error": c.error} for c in self.replicas],
                "copied": [o.to_dict() for o in self.copied], "errors": [o.to_dict() for o in self.errors]}


def _primary_inventory(store: OcflStore, object_root: Path) -> tuple[str | None, bytes | None, str | None]:
    """(object id, inventory bytes, error) of one primary object; the sidecar must match."""
    data = read_small(object_root / INVENTORY)
    try:
        object_id = load_inventory(object_root / INVENTORY)["id"]
    except PreservationError as exc:
        return None, None, str(exc)
    if not sidecar_matches(read_small(object_root / SIDECAR), data):
        return object_id, None, "the primary inventory does not match its sidecar; run `hsar audit`"
    return object_id, data, None


def _event(replica: Copy, object_id: str, versions: tuple[str, ...], when: datetime) -> PremisEvent:
    return PremisEvent.new("replication", when=when, agents=[hsar_agent().identifier],
                           detail=f"copied {', '.join(versions)} of {object_id} to {replica.label} ({replica.root})")


def replicate(repo: StoreHome, *, object_ids: Iterable[str] | None = None, now: datetime | None = None
              ) -> ReplicationResult:
    """Bring every replica up to date with the primary; log each copy made.

    ``object_ids`` limits the work to those objects: ingest calls ``replicate(repo, object_ids=[oid])`` after
    committing a version, and the scheduled ``hsar replicate`` catches up whatever that missed. It holds the
    store-readers lock shared: never while a disposal removes objects (DSP-BUSY), which it would copy back.
    """
    with reading_store(repo.paths.readers_lock):
        return _replicate(repo, object_ids, now)


def _replicate(repo: StoreHome, object_ids: Iterable[str] | None, now: datetime | None) -> ReplicationResult:
    copies = open_copies(repo, create_replicas=True)
    primary, replicas = copies[0], copies[1:]
    assert primary.store is not None
    if not replicas:
        return ReplicationResult((), (), (), 0)
    roots = (primary.store.iter_object_roots() if object_ids is None
             else [primary.store.object_root(oid) for oid in object_ids])  # ingest names just its objects
    copied, errors, checked, records = [], [], 0, []
    for object_root in roots:
        object_id, data, error = _primary_inventory(primary.store, object_root)
        checked += 1
        for replica, store in ((r, r.store) for r in replicas if r.store is not None):
            if data is None or object_id is None:
                errors.append(ObjectReplication(replica.label, object_id or str(object_root), error=error))
                continue
            try:
                versions = sync_object(object_root, data, store, object_id, replica.staging)
            except (PreservationError, OSError) as exc:
                errors.append(ObjectReplication(replica.label, object_id, error=str(exc)))
                continue
            if versions:
                copied.append(ObjectReplication(replica.label, object_id, versions))
                event = _event(replica, object_id, versions, now or datetime.now(UTC))
                records.append(event_record(event, object_id=object_id, copy=replica.label))
    for replica in (r for r in replicas if r.store is not None):
        try:  # tombstones of disposed archives (销毁记录) travel with the objects
            sync_tombstones(primary.root, replica.root, replica.staging)
        except (PreservationError, OSError) as exc:
            errors.append(ObjectReplication(replica.label, "extensions/hsar-tombstones", error=str(exc)))
    AuditLog(repo.paths.audit).append(records)
    return ReplicationResult(tuple(replicas), tuple(copied), tuple(errors), checked)
