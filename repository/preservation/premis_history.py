"""The PREMIS history of a stored version: the PREMIS documents in its state, merged in version order.

Each version stores a document of its own (``metadata/premis/vN.xml``, see :mod:`.aip_layout`): the objects of
the files new or changed in that version, its events and the agents they name; the earlier versions'
documents stay in its state by reference. An object stored before that layout also holds, in the state of
each later version, its last cumulative ``metadata/premis.xml`` (every object and event up to then), which is
read as the first document. Merged:

- objects: for each file of the version's state (but the PREMIS documents and the signature), the object
  of the newest document that describes it (a file replaced later has the newer object; a file no longer in
  the state has none), sorted by logical path, as the cumulative document listed them;
- events: every document's, oldest first (an identifier seen twice counts once);
- agents: every document's, the first of each identifier.

Every reader of PREMIS in the store goes through here: the catalogue (:mod:`repository.catalog.rebuild`), the
audit's format check, the transfer export (the OCR version and ingest write their own document and read none).
Documents are read as bytes by the caller (:func:`merge_documents`, :func:`current_objects`) or from the store
(:func:`read_history`); the catalogue merges version after version with :class:`PremisHistory` as it reads them,
and reads a version stored with a cumulative document (its whole history) in parts (:mod:`.premis_cumulative`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .aip_layout import SIGNATURE_DIR, is_premis, premis_documents
from .premis import PremisAgent, PremisEvent, PremisObject, merge_by_identifier, render_premis
from .premis_read import parse_premis, parse_premis_objects


class _Store(Protocol):
    def inventory(self, object_id: str) -> dict[str, Any]: ...

    def content_paths(self, object_id: str, version: str | None = None, *,
                      inventory: dict[str, Any] | None = None) -> Mapping[str, Path]: ...


def described(path: str) -> bool:
    """Does PREMIS describe the file at ``path`` with an object? Every file but the PREMIS documents
    themselves and the version lock."""
    return not is_premis(path) and not path.startswith(SIGNATURE_DIR)


@dataclass
class PremisHistory:
    """A merged history, built document by document (:meth:`add`, oldest first)."""

    latest: dict[str, PremisObject] = field(default_factory=dict)  # identifier -> newest object
    events: list[PremisEvent] = field(default_factory=list)
    agents: list[PremisAgent] = field(default_factory=list)
    _event_ids: set[str] = field(default_factory=set)

    def add(self, objects: Iterable[PremisObject], events: Iterable[PremisEvent],
            agents: Iterable[PremisAgent]) -> None:
        """Merge the next document's values (newer than every one added before)."""
        self.latest.update((o.identifier, o) for o in objects)
        for event in events:
            if event.identifier not in self._event_ids:
                self._event_ids.add(event.identifier)
                self.events.append(event)
        self.agents = merge_by_identifier(self.agents, agents)

    def objects(self, state: Collection[str] | None = None) -> list[PremisObject]:
        """The current objects of the files in ``state`` (every object for ``None``), by logical path."""
        if state is None:
            return [self.latest[p] for p in sorted(self.latest)]
        return [self.latest[p] for p in sorted(state) if p in self.latest and described(p)]

    def to_xml(self, state: Collection[str] | None = None, extra_events: Iterable[PremisEvent] = (),
               extra_agents: Iterable[PremisAgent] = ()) -> bytes:
        """One PREMIS 3 document of the history (and ``extra_events``/``extra_agents`` after it)."""
        return render_premis(self.objects(state), merge_by_identifier(self.events, extra_events),
                             merge_by_identifier(self.agents, extra_agents))


def merge_documents(documents: Iterable[bytes]) -> PremisHistory:
    """The history of ``documents`` (their bytes, oldest first)."""
    history = PremisHistory()
    for data in documents:
        history.add(*parse_premis(data))
    return history


def current_objects(documents: Iterable[bytes], state: Collection[str]) -> list[PremisObject]:
    """The current objects of the files in ``state`` from ``documents`` (oldest first), without the events
    (what the audit's format check needs; a long history is mostly events)."""
    history = PremisHistory()
    for data in documents:
        history.add(parse_premis_objects(data), (), ())
    return history.objects(state)


def read_history(store: _Store, object_id: str, version: str | None = None, *,
                 inventory: dict[str, Any] | None = None) -> tuple[PremisHistory, list[str]]:
    """The merged PREMIS history of ``version`` (default the head) of a stored object, and that version's
    state (its logical paths), to pass to :meth:`PremisHistory.objects`."""
    paths = store.content_paths(object_id, version, inventory=inventory or store.inventory(object_id))
    state = list(paths)
    return merge_documents(paths[p].read_bytes() for p in premis_documents(state)), state
