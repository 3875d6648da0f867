"""PREMIS carried forward as bytes: the same document the full rendering gives, or no shortcut at all."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from lxml import etree

from repository.ingest.aip import _premis
from repository.preservation.ocfl import SourceFile
from repository.preservation.premis import (
    PremisAgent,
    PremisEvent,
    PremisObject,
    merge_by_identifier,
    render_premis,
    standard_agents,
)
from repository.preservation.premis_read import parse_premis, premis_event_ids
from repository.preservation.premis_splice import (
    FOOTER,
    HEADER,
    event_ids,
    premis_layout,
    read_parts,
    splice,
    splice_premis,
    split_premis,
)

WHEN = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
ORG = "示范市住房保障中心"


def _obj(path: str, digest: str, puid: str | None = "fmt/353") -> PremisObject:
    return PremisObject(path, path.rsplit("/", 1)[-1], 10, digest, puid, "Tagged Image File Format" if puid else "unknown")


def _history() -> tuple[list[PremisObject], list[PremisEvent], list[PremisAgent]]:
    objects = [_obj("data/a&b <1>.tif", "aa" * 64), _obj("data/档案/页.tif", "bb" * 64),
               _obj("metadata/checks.json", "cc" * 64, None), _obj("metadata/sip/fetch.txt", "dd" * 64, None)]
    events = [PremisEvent.new("ingestion", when=WHEN, agents=["hsar/1"], objects=[o.identifier for o in objects],
                              detail="SIP <x> & y ingested as v1"),
              PremisEvent.new("validation", when=WHEN, outcome="warning", outcome_detail="W1 & W2", agents=["hsar/1"])]
    agents = [PremisAgent("hsar/1", "hsar", "software", "1"), PremisAgent(f"organization/{ORG}", ORG, "organization")]
    return objects, events, agents


def test_splice_gives_the_bytes_of_the_full_rendering(tmp_path):
    objects, events, agents = _history()
    before = render_premis(objects, events, agents)
    parts = split_premis(before)
    assert parts is not None and parts.to_bytes() == before
    assert [o[0] for o in parts.objects] == [o.identifier for o in objects]  # escaped paths read back
    changed = dataclasses.replace(objects[2], sha512="ee" * 64, size=11)
    added = _obj("data/档案/新.tif", "ff" * 64)
    now = [objects[0], added, objects[1], changed]  # fetch.txt removed, checks.json changed, a page added
    new_events = [PremisEvent.new("ingestion", when=WHEN, agents=["hsar/2"], objects=[added.identifier])]
    new_agents = [PremisAgent("hsar/2", "hsar", "software", "2"), agents[1]]
    listed = [(o.identifier, o.sha512, None if o in objects else o) for o in now]
    spliced = splice_premis(parts, listed, new_events, new_agents)
    assert spliced == render_premis(now, events + new_events, merge_by_identifier(agents, new_agents))
    assert parse_premis(spliced) == (now, events + new_events, [*agents, new_agents[0]])


def test_a_supplement_premis_from_the_previous_bytes_equals_the_one_from_parsed_values(tmp_path, monkeypatch):
    objects, events, agents = _history()
    previous = render_premis(objects, events, agents)
    page = tmp_path / "page.tif"
    page.write_bytes(b"II*\x00" + bytes(6))
    files = {o.identifier: SourceFile(page, o.sha512, o.size) for o in objects if o.identifier != "metadata/sip/fetch.txt"}
    files["data/档案/新.tif"] = SourceFile(page, "ff" * 64, 10)
    new = [PremisEvent.new("ingestion", when=WHEN, agents=["hsar/2"], objects=["data/档案/新.tif"])]
    segments, added = _premis(files, {}, previous, new, standard_agents(ORG))
    fast = b"".join(segments)
    assert added is not None
    monkeypatch.setattr("repository.ingest.aip.premis_layout", lambda data: None)  # the old way: parse, render all
    assert _premis(files, {}, previous, new, standard_agents(ORG)) == ([fast], None)
    compact = etree.tostring(etree.fromstring(previous), xml_declaration=True, encoding="UTF-8")
    monkeypatch.undo()
    assert split_premis(compact) is None  # not our layout (an older or another writer): parsed as before
    assert parse_premis(b"".join(_premis(files, {}, compact, new, standard_agents(ORG))[0])) == parse_premis(fast)


@pytest.mark.parametrize("change", [
    lambda d: d.replace(b"premis:", b"p:").replace(b"xmlns:premis", b"xmlns:p"),  # another prefix
    lambda d: d.replace(b"  <premis:event>", b"  <premis:event >", 1),  # an unexpected element start
    lambda d: d.replace(b"data/a&amp;b", b"data/a&#38;b", 1),  # a character reference in an identifier
    lambda d: d[:-1],  # no final newline
])
def test_documents_of_another_shape_get_no_shortcut(change):
    data = change(render_premis(*_history()))
    assert split_premis(data) is None
    assert read_parts(data, None, ()) is None
    assert event_ids(data) in (None, premis_event_ids(data))  # never a wrong list
    if change(b"data/a&amp;b") == b"data/a&amp;b":  # the events themselves are of another shape
        assert event_ids(data) is None


def test_read_parts_parses_only_the_named_objects_and_the_new_events():
    objects, events, agents = _history()
    data = render_premis(objects, events, agents)
    assert event_ids(data) == premis_event_ids(data) == [e.identifier for e in events]
    assert read_parts(data, None, ()) == parse_premis(data)
    found = read_parts(data, {"data/a&b <1>.tif", "data/none.tif"}, {events[0].identifier})
    assert found == ([objects[0]], [events[1]], agents)


def test_splice_carries_runs_of_the_previous_bytes_and_gives_a_document_of_what_it_added():
    objects, events, agents = _history()
    before = render_premis(objects, events, agents)
    layout = premis_layout(before)
    assert layout is not None and [o[0] for o in layout.objects] == [o.identifier for o in objects]
    added = _obj("data/档案/新.tif", "ff" * 64)
    now = [objects[0], objects[1], added, objects[2], objects[3]]
    new_events = [PremisEvent.new("ingestion", when=WHEN, agents=["hsar/2"], objects=[added.identifier])]
    new_agents = [PremisAgent("hsar/2", "hsar", "software", "2"), agents[1]]
    spliced = splice(layout, [(o.identifier, o.sha512, None if o in objects else o) for o in now], new_events,
                     new_agents)
    assert spliced.to_bytes() == render_premis(now, events + new_events, merge_by_identifier(agents, new_agents))
    carried = [s for s in spliced.segments if isinstance(s, memoryview) and s.obj is before]  # nothing copied
    assert len(carried) == 5  # two runs of objects (around the new one), the events as one, each old agent
    assert sum(map(len, carried)) == len(before) - len(HEADER) - len(FOOTER)  # every earlier element
    assert parse_premis(spliced.added) == ([added], new_events, [*agents, new_agents[0]])


def _agent_first(data: bytes) -> bytes:
    """The first agent moved before the first event (a document of another order)."""
    at, event = data.index(b"\n  <premis:agent>"), data.index(b"\n  <premis:event>")
    end = data.index(b"\n  <premis:", at + 1)
    return data[:event] + data[at:end] + data[event:at] + data[end:]


@pytest.mark.parametrize("change", [
    _agent_first,
    lambda d: d.replace(b">SHA-512</premis:messageDigestAlgorithm>", b">MD5</premis:messageDigestAlgorithm>", 1),
    lambda d: d.replace(b"Tagged Image File Format", b"Tagged Image File Format &#38;", 1),  # a reference
    lambda d: d.replace(b"\n  <premis:event>", b"\n  <premis:rights>", 1),  # another kind of element
    lambda d: d.replace(b"<premis:agentIdentifierValue>", b"<premis:agentIdentifierValue><x/>", 1),
])
def test_a_layout_of_another_shape_is_refused(change):
    data = change(render_premis(*_history()))
    assert data != render_premis(*_history())
    assert premis_layout(data) is None
    assert split_premis(data) is None and read_parts(data, None, ()) is None
