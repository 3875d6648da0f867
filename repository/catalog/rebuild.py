"""Rebuilding the catalogue from the OCFL store alone (DESIGN.md principle 1: storage is the truth).

Each version's logical state is self-describing: ``metadata/descriptive.xml`` (the current merged
description), its own PREMIS document ``metadata/premis/vN.xml`` (the objects of the files it added or changed,
its events, the agents they name; the earlier versions' documents are in its state too, see
:mod:`repository.preservation.premis_history`), ``metadata/checks.json`` (the four-property report of that SIP).
From them and the inventory this module makes the same :class:`~repository.catalog.records.VersionRecord`
values ingest records, so a rebuilt catalogue answers exactly as the original did. Ingest builds its record
with :func:`version_record` too: then the two agree by construction.

Which facts come from where:

- files: the ``data/...`` paths of the version's state; digest from the inventory, size and format from the
  current PREMIS object of that logical path (size from the stored bytes when PREMIS lacks it), item number
  from the description, ``version_added`` from the inventory's version history;
- events: those of the version's own document. A version stored before per-version documents has one
  cumulative ``metadata/premis.xml`` (every object and event so far): its events are those the previous
  version's document did not carry;
- SIP name: ``subject.sip`` (or ``sip_name``/``package``/``name``) of ``checks.json``;
- format policy: not kept in the store yet; pass ``policy_of`` (PUID -> policy) to derive it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from lxml import etree

from ..descriptive import parse
from ..errors import CatalogError, HsarError
from ..model import Archive
from ..preservation.aip_layout import CHECKS, DESCRIPTIVE, PREMIS_CUMULATIVE, premis_documents, premis_path
from ..preservation.ocfl_versions import version_infos
from ..preservation.premis_cumulative import event_ids, read_parts
from ..preservation.premis_history import PremisHistory, current_objects
from ..preservation.premis_read import parse_premis, premis_event_ids
from .records import CarriedFiles, EventRecord, FileRecord, VersionRecord, version_seq
from .store import Catalog

if TYPE_CHECKING:
    from ..preservation.ocfl_inventory import VersionInfo
PAYLOAD_PREFIX = "data/"
SIP_NAME_KEYS = ("sip", "sip_name", "package", "name")

PolicyOf = Callable[[str | None], str | None]
Progress = Callable[[str, int, int], None]


class _Store(Protocol):
    """What the rebuild needs of :class:`repository.preservation.ocfl.OcflStore`."""

    def iter_object_ids(self) -> Iterator[str]: ...

    def versions(self, object_id: str) -> list[VersionInfo]: ...

    def inventory(self, object_id: str) -> dict[str, Any]: ...

    def content_paths(self, object_id: str, version: str | None = None, *,
                      inventory: dict[str, Any] | None = None) -> Mapping[str, Path]: ...


def summarize_checks(report: dict[str, Any]) -> dict[str, Any]:
    """The part of a ``checks.json`` report the catalogue keeps: overall and per-property results, counts."""
    summary: dict[str, Any] = {k: report[k] for k in ("standard", "stage", "created", "result", "groups") if k in report}
    counts: dict[str, int] = {}
    for item in report.get("items", []):
        counts[item.get("result", "?")] = counts.get(item.get("result", "?"), 0) + 1
    if counts:
        summary["counts"] = dict(sorted(counts.items()))
    return summary


def sip_name_of(report: dict[str, Any]) -> str:
    subject = report.get("subject") or {}
    for key in SIP_NAME_KEYS:
        if isinstance(subject.get(key), str):
            return subject[key]
    return ""


def _version_name(info: VersionInfo) -> str:
    return getattr(info, "name", None) or f"v{info.number}"


class _ObjectReader:
    """Reads one object's versions in order, carrying what each needs from the one before."""

    def __init__(self, store: _Store, object_id: str, policy_of: PolicyOf | None) -> None:
        self.store, self.object_id, self.policy_of = store, object_id, policy_of
        self.inventory = store.inventory(object_id)  # read once for the object, not once per file
        self.infos = sorted(version_infos(self.inventory), key=lambda i: i.number)
        self._paths: dict[str, Mapping[str, Path]] = {}

    def _where(self, path: str, version: str) -> Path | None:
        if version not in self._paths:
            self._paths = {version: self.store.content_paths(self.object_id, version, inventory=self.inventory)}
        return self._paths[version].get(path)

    def _read(self, path: str, version: str) -> bytes | None:
        where = self._where(path, version)
        return None if where is None else where.read_bytes()

    def _premis(self, version: str, objects: set[str] | None, known: set[str]) -> tuple[list, list, list]:
        """A version stored with a cumulative document: its PREMIS objects (those at ``objects``; all for
        ``None``), agents and the events not in ``known``; only those elements are parsed when the document has
        the shape ingest wrote."""
        data = self._read(PREMIS_CUMULATIVE, version)
        if data is None:
            return [], [], []
        parts = read_parts(data, objects, known)
        return parts if parts is not None else parse_premis(data)

    def _own(self, info: VersionInfo, version: str) -> tuple[list, list, list] | None:
        """The objects, events and agents of the version's own PREMIS document; ``None`` for a version
        stored with a cumulative one."""
        data = self._read(premis_path(version), version) if premis_path(version) in info.state else None
        return None if data is None else parse_premis(data)

    def _current(self, info: VersionInfo, version: str) -> list:
        """The current PREMIS objects of the version's state, from every PREMIS document in it."""
        docs = [self._read(p, version) for p in premis_documents(info.state)]
        return current_objects([d for d in docs if d is not None], info.state)

    def _event_ids(self, version: str) -> list[str]:
        own = self._read(premis_path(version), version)
        data = own if own is not None else self._read(PREMIS_CUMULATIVE, version)
        if data is None:
            return []
        ids = event_ids(data)
        return ids if ids is not None else premis_event_ids(data)

    def records(self, only: str | None = None, *, carry: bool = False) -> Iterator[VersionRecord]:
        """Every version's record, oldest first; with ``only``, that version's alone (the versions before it
        are read just for what it needs: where each file was added, and for a version stored with a
        cumulative PREMIS document which events were recorded already). ``carry`` (with ``only``): the record
        names the payload files unchanged since the version before as carried (:class:`~.records.CarriedFiles`)
        and reads the PREMIS objects of the others alone."""
        added: dict[str, tuple[str, str]] = {}  # path -> (digest, version whose content it is)
        known_events: set[str] = set()
        earlier: list[str] = []  # versions before ``only`` whose events are not read unless needed
        history = PremisHistory()  # every version read in order: the newest PREMIS object of each path so far
        before: VersionInfo | None = None
        for info in self.infos:
            vname = _version_name(info)
            if only is not None and version_seq(vname) != version_seq(only):
                if version_seq(vname) > version_seq(only):
                    return
                if not carry:  # with carry, the record names only files new in ``only``: added there
                    _note_added(added, info, vname)
                earlier.append(vname)
                before = info
                continue
            data = self._read(DESCRIPTIVE, vname)
            if data is None:
                raise CatalogError(f"{self.object_id} {vname}: no {DESCRIPTIVE}")
            archive = _parse_descriptive(data, f"{self.object_id} {vname}")
            carried = _carried(info, before, self.policy_of) if carry and before is not None else None
            wanted = None if carried is None else {p for p in info.state if p.startswith(PAYLOAD_PREFIX)
                                                   and (before.state.get(p) if before else None) != info.state[p]}
            if wanted is None:
                _note_added(added, info, vname)
            else:  # each differs from the version before: its content was added in this one
                added.update((p, (info.state[p], vname)) for p in wanted)
            own = self._own(info, vname)
            if own is not None:
                objects, events, agents = own
                if only is None:  # every version read in order: the objects so far are at hand
                    history.add(objects, (), ())
                    objects = history.objects()
                elif wanted is None or not wanted <= {o.identifier for o in objects}:
                    objects = self._current(info, vname)
            else:  # stored with a cumulative document: the earlier versions' event ids tell the new events
                for earlier_name in earlier:
                    known_events.update(self._event_ids(earlier_name))
                earlier.clear()
                objects, events, agents = self._premis(vname, wanted, known_events)
                history = PremisHistory()  # the cumulative document holds every current object
                history.add(objects, (), ())
            report = _parse_checks(self._read(CHECKS, vname), f"{self.object_id} {vname}")
            yield VersionRecord(
                archive=archive, version=vname, created=info.created, message=info.message,
                sip_name=sip_name_of(report), files=self._files(info, vname, archive, objects, added, wanted),
                events=_events(events, agents, known_events), checks_summary=summarize_checks(report),
                user=_user(info), carried=carried,
            )
            known_events.update(e.identifier for e in events)

    def _files(self, info: VersionInfo, vname: str, archive: Archive, objects: list,
               added: dict[str, tuple[str, str]], only: set[str] | None = None) -> list[FileRecord]:
        by_path = {o.identifier: o for o in objects}
        item_of = {f: item.number for item in archive.items for f in item.files}
        records = []
        for path in sorted(p for p in (info.state if only is None else only) if p.startswith(PAYLOAD_PREFIX)):
            obj = by_path.get(path)
            where = self._where(path, vname) if obj is None else None
            size = obj.size if obj is not None else where.stat().st_size if where is not None else 0
            puid = obj.puid if obj is not None else None
            records.append(FileRecord(
                path=path, size=size, sha512=info.state[path], puid=puid,
                format_name=obj.format_name if obj is not None else None,
                policy=self.policy_of(puid) if self.policy_of else None, item_number=item_of.get(path),
                version_added=added[path][1], format_version=obj.format_version if obj is not None else None))
        return records


def _note_added(added: dict[str, tuple[str, str]], info: VersionInfo, vname: str) -> None:
    """Record ``vname`` as where each file's content was added, for the files it changed."""
    for path, digest in info.state.items():
        if added.get(path, ("", ""))[0] != digest:
            added[path] = (digest, vname)


def _carried(info: VersionInfo, before: VersionInfo, policy_of: PolicyOf | None) -> CarriedFiles:
    """The payload files ``info`` shares unchanged with ``before``: carried over in the catalogue."""
    payload = [p for p in info.state if p.startswith(PAYLOAD_PREFIX)]
    same = sum(before.state.get(p) == info.state[p] for p in payload)
    exclude = frozenset(p for p, d in before.state.items() if p.startswith(PAYLOAD_PREFIX) and info.state.get(p) != d)
    return CarriedFiles(_version_name(before), exclude, same, policy_of)


def _parse_descriptive(data: bytes, where: str) -> Archive:
    try:
        return parse(data)
    except (etree.LxmlError, ValueError, AttributeError, TypeError, KeyError) as exc:
        raise CatalogError(f"{where}: {DESCRIPTIVE} cannot be read: {exc}") from None


def _parse_checks(data: bytes | None, where: str) -> dict[str, Any]:
    try:
        report = json.loads(data or b"{}")
    except (ValueError, RecursionError) as exc:
        raise CatalogError(f"{where}: {CHECKS} cannot be read: {exc}") from None
    return report if isinstance(report, dict) else {}


def _user(info: VersionInfo) -> str | None:
    user = getattr(info, "user", None)
    if isinstance(user, tuple | list):
        return user[0] or None
    return user or None


def _events(events: list, agents: list, known: set[str]) -> list[EventRecord]:
    names = {a.identifier: a.name for a in agents}
    records = []
    for e in events:
        if e.identifier in known:
            continue
        linked = [names.get(a.identifier, a.identifier) for a in e.agents]
        objects = [o.identifier for o in e.objects]
        records.append(EventRecord(
            identifier=e.identifier, type=e.type, datetime=e.datetime, outcome=e.outcome or None,
            detail=e.detail or None, agent="; ".join(linked) or None,
            object_path=objects[0] if len(objects) == 1 else None, outcome_detail=e.outcome_detail or None))
    return records


def object_records(store: _Store, object_id: str, policy_of: PolicyOf | None = None) -> list[VersionRecord]:
    """The version records of one stored object, oldest first."""
    return list(_ObjectReader(store, object_id, policy_of).records())


def version_record(store: _Store, object_id: str, version: str | None = None,
                   policy_of: PolicyOf | None = None, *, carry: bool = False) -> VersionRecord:
    """The record of one version (default the head): what ingest passes to ``Catalog.record_version``; with
    ``carry``, the files unchanged since the version before are carried over (see :class:`~.records.CarriedFiles`;
    the catalogue raises :class:`~.records.CarryUnavailable` when it does not hold that version as expected)."""
    reader = _ObjectReader(store, object_id, policy_of)
    if not reader.infos:
        raise CatalogError(f"{object_id} has no versions")
    wanted = version or _version_name(reader.infos[-1])
    for rec in reader.records(only=wanted, carry=carry):  # the others are not parsed
        return rec
    raise CatalogError(f"{object_id} has no version {version}")


def records_from_store(store: _Store, policy_of: PolicyOf | None = None) -> Iterator[VersionRecord]:
    """Every version of every object in the store, each object's versions oldest first."""
    for object_id in sorted(store.iter_object_ids()):
        yield from object_records(store, object_id, policy_of)


def rebuild(catalog: Catalog, store: _Store, progress: Progress | None = None,
            policy_of: PolicyOf | None = None) -> int:
    """Refill ``catalog`` from ``store``, one transaction per archive; the number of archives rebuilt.

    Archives no longer in the store are removed at the end. Objects that cannot be read are skipped and
    reported together in one :class:`CatalogError` (``failures``) after the others are done; then nothing is
    removed, since an unreadable object's archive id is unknown. ``progress(object_id, done, total)``
    is called after each object. Audits are not touched (accounts and the access register live in the state database).
    """
    catalog.create()
    object_ids = sorted(store.iter_object_ids())
    seen: set[str] = set()
    failures: dict[str, str] = {}
    for done, object_id in enumerate(object_ids, 1):
        try:
            records = object_records(store, object_id, policy_of)
            if records:
                archive_id = records[-1].archive_id
                catalog.replace_archive(archive_id, records)
                seen.add(archive_id)
        except (HsarError, OSError) as exc:
            failures[object_id] = f"{type(exc).__name__}: {exc}"
        if progress is not None:
            progress(object_id, done, len(object_ids))
    if failures:
        error = CatalogError(f"{len(failures)} of {len(object_ids)} objects could not be catalogued: "
                             + "; ".join(f"{k}: {v}" for k, v in sorted(failures.items())))
        error.failures = failures  # type: ignore[attr-defined]
        raise error
    catalog.delete_archives_except(seen)
    _rebuild_disposals(catalog, store)
    return len(seen)


def _rebuild_disposals(catalog: Catalog, store: _Store) -> None:
    """The archives disposed of, from the tombstones of the storage root (a disposed archive stays one)."""
    from ..preservation.tombstone import read_tombstones
    from .disposals import replace_disposals

    root = getattr(store, "root", None)
    if root is not None:
        replace_disposals(catalog, [ts.data for ts in read_tombstones(root) if ts.data is not None])
