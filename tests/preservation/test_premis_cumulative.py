"""A cumulative PREMIS document (the layout before per-version documents) read in parts: the same values the full
parse gives, or no shortcut at all."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from repository.preservation.premis import PremisAgent, PremisEvent, PremisObject, render_premis
from repository.preservation.premis_cumulative import event_ids, premis_layout, read_parts
from repository.preservation.premis_read import parse_premis, premis_event_ids

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


@pytest.mark.parametrize("change", [
    lambda d: d.replace(b"premis:", b"p:").replace(b"xmlns:premis", b"xmlns:p"),  # another prefix
    lambda d: d.replace(b"  <premis:event>", b"  <premis:event >", 1),  # an unexpected element start
    lambda d: d.replace(b"data/a&amp;b", b"data/a&#38;b", 1),  # a character reference in an identifier
    lambda d: d[:-1],  # no final newline
])
def test_documents_of_another_shape_get_no_shortcut(change):
    data = change(render_premis(*_history()))
    assert premis_layout(data) is None
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
    assert read_parts(data, None, ()) is None
