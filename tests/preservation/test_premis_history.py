"""The PREMIS history of a version: its documents merged in version order (``premis_history``)."""

from __future__ import annotations

from datetime import UTC, datetime

from repository.preservation.aip_layout import (
    PREMIS_CUMULATIVE,
    is_premis,
    premis_documents,
    premis_path,
    premis_version,
)
from repository.preservation.premis import PremisAgent, PremisEvent, PremisObject, render_premis
from repository.preservation.premis_history import current_objects, merge_documents
from repository.preservation.premis_read import parse_premis

WHEN = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
HSAR = PremisAgent("hsar/1", "hsar", "software", "1")
TOOL = PremisAgent("tool/2", "tool", "software", "2")


def _obj(path: str, digest: str, puid: str | None = "fmt/354") -> PremisObject:
    return PremisObject(path, path.rsplit("/", 1)[-1], 10, digest, puid, "PDF/A-1b" if puid else "unknown")


def _event(kind: str, agent: PremisAgent, *objects: str) -> PremisEvent:
    return PremisEvent.new(kind, when=WHEN, agents=[agent.identifier], objects=objects)


def test_paths_of_the_documents_in_version_order():
    assert premis_path("v12") == "metadata/premis/v12.xml" and premis_version("metadata/premis/v12.xml") == 12
    assert premis_version(PREMIS_CUMULATIVE) == 0 and is_premis(PREMIS_CUMULATIVE)
    for other in ("metadata/premis/x.xml", "metadata/premis/v1.json", "data/premis/v1.xml", "metadata/premis/v.xml"):
        assert not is_premis(other), other
    state = ["data/a.pdf", premis_path("v10"), premis_path("v2"), PREMIS_CUMULATIVE, "metadata/descriptive.xml"]
    assert premis_documents(state) == [PREMIS_CUMULATIVE, premis_path("v2"), premis_path("v10")]


def test_a_replaced_or_removed_file_keeps_no_old_object_as_current():
    a1, b1, c1 = _obj("data/a.pdf", "a1" * 64), _obj("data/b.pdf", "b1" * 64), _obj("data/c.exe", "c1" * 64, "x-fmt/411")
    v1 = [_event("ingestion", HSAR, "data/a.pdf", "data/b.pdf", "data/c.exe")]
    a2 = _obj("data/a.pdf", "a2" * 64, None)  # replaced, and the newer object records no PUID
    v2 = [_event("ingestion", HSAR, "data/a.pdf"), _event("creation", TOOL, "data/a.pdf")]
    docs = [render_premis([a1, b1, c1], v1, [HSAR]), render_premis([a2], v2, [HSAR, TOOL])]
    state = ["data/a.pdf", "data/b.pdf", premis_path("v1"), premis_path("v2"), "signature/manifest-sha512.txt"]
    history = merge_documents(docs)
    assert history.objects(state) == [a2, b1]  # c.exe was removed, a.pdf has its newer object
    assert current_objects(docs, state) == [a2, b1]
    assert history.events == v1 + v2 and history.agents == [HSAR, TOOL]
    assert parse_premis(history.to_xml(state)) == ([a2, b1], v1 + v2, [HSAR, TOOL])


def test_a_cumulative_document_followed_by_own_documents_is_the_cumulative_form():
    """The merged history equals the one cumulative document hsar wrote before: every object of the state,
    every event, the agents."""
    a, b = _obj("data/a.pdf", "aa" * 64), _obj("data/b.pdf", "bb" * 64)
    desc1, desc2 = _obj("metadata/descriptive.xml", "d1" * 64, "fmt/101"), _obj("metadata/descriptive.xml", "d2" * 64, "fmt/101")
    v1, v2 = [_event("ingestion", HSAR, "data/a.pdf")], [_event("ingestion", HSAR, "data/b.pdf")]
    cumulative_v1 = render_premis([a, desc1], v1, [HSAR])
    own_v2 = render_premis([b, desc2], v2, [HSAR])
    state = ["data/a.pdf", "data/b.pdf", "metadata/descriptive.xml", PREMIS_CUMULATIVE, premis_path("v2")]
    cumulative_v2 = render_premis([a, b, desc2], v1 + v2, [HSAR])  # what the old writer gave for v2
    assert merge_documents([cumulative_v1, own_v2]).to_xml(state) == cumulative_v2
    assert merge_documents([cumulative_v2]).to_xml(state) == cumulative_v2
    assert merge_documents([cumulative_v1, cumulative_v1]).events == v1  # an event seen twice counts once
