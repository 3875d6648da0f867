"""PREMIS 3.0 documents: valid against the LoC schema (offline), and read back exactly as written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path

import pytest
from lxml import etree

from repository import __version__
from repository.errors import PreservationError
from repository.preservation.premis import (
    LOC,
    PREMIS_NS,
    AgentLink,
    ObjectLink,
    PremisAgent,
    PremisEvent,
    PremisObject,
    merge_by_identifier,
    render_premis,
    standard_agents,
)
from repository.preservation.premis_read import parse_premis, parse_premis_objects

SCHEMAS = Path(__file__).resolve().parents[2].parent / "shared" / "schemas"
WHEN = datetime(2025, 3, 1, 8, 30, tzinfo=timezone(timedelta(hours=8)))
ORG = "示范市住房保障中心"
NS = {"premis": PREMIS_NS}


class _LocalSchemas(etree.Resolver):
    """Serve xlink.xsd (and any sibling schema) from ../shared/schemas, never from the network."""

    def resolve(self, url, pubid, context):
        name = url.rsplit("/", 1)[-1]
        if (SCHEMAS / name).is_file():
            return self.resolve_filename(str(SCHEMAS / name), context)
        return None


@pytest.fixture(scope="module")
def schema():
    xsd = SCHEMAS / "premis-v3.xsd"
    if not xsd.is_file():
        pytest.skip(f"PREMIS schema not found at {xsd} (the shared reference folder ../shared is absent)")
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_LocalSchemas())
    return etree.XMLSchema(etree.parse(str(xsd), parser))


def _objects():
    return [
        PremisObject("data/application/申请书.pdf", "data/申请书.pdf", 123456, "ab" * 64, "fmt/276",
                     "Acrobat PDF 1.7 - Portable Document Format", "1.7"),
        PremisObject("metadata/archive.xml", "metadata/archive.xml", 2048, "cd" * 64, "fmt/101",
                     "Extensible Markup Language", "1.0"),
        PremisObject("data/review/scan.bin", None, 0, "ef" * 64, None, "unknown"),
    ]  # fmt: skip


def _events(agents):
    hsar, fido, pyhanko, org = (a.identifier for a in agents)
    paths = [o.identifier for o in _objects()]
    return [
        PremisEvent("0b8f6e36-3c71-4c2a-9d1e-6d7f5c1a0001", "ingestion", WHEN, "SIP 住房保障对象档案 bag.zip",
                    "success", "", (AgentLink(hsar), AgentLink(org, "implementer")), tuple(ObjectLink(p) for p in paths)),
        PremisEvent("0b8f6e36-3c71-4c2a-9d1e-6d7f5c1a0002", "format identification", WHEN, "FIDO over every file",
                    "warning", "data/review/scan.bin: no PRONOM match", (AgentLink(fido),),
                    (ObjectLink(paths[2]),)),
        PremisEvent("0b8f6e36-3c71-4c2a-9d1e-6d7f5c1a0003", "fixity check", WHEN + timedelta(days=90), "",
                    "failure", "digest differs\nexpected ab…, found 00…", (AgentLink(hsar, "validator"),),
                    (ObjectLink(paths[0]),)),
        PremisEvent("0b8f6e36-3c71-4c2a-9d1e-6d7f5c1a0004", "digital signature validation", WHEN, "",
                    "success", "", (AgentLink(pyhanko),), ()),
    ]  # fmt: skip


def _document():
    agents = standard_agents(ORG)
    return _objects(), _events(agents), agents


def test_valid_against_premis_schema(schema):
    data = render_premis(*_document())
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    doc = etree.fromstring(data)
    assert schema.validate(doc), schema.error_log


def test_round_trip():
    objects, events, agents = _document()
    assert parse_premis(render_premis(objects, events, agents)) == (objects, events, agents)
    assert parse_premis_objects(render_premis(objects, events, agents)) == objects  # the audit's shortcut


def test_vocabulary_labels_and_uris():
    root = etree.fromstring(render_premis(*_document()))
    types = root.findall("premis:event/premis:eventType", NS)
    assert [t.text for t in types] == ["ingestion", "format identification", "fixity check",
                                       "digital signature validation"]  # fmt: skip
    assert [t.get("valueURI").rsplit("/", 1)[1] for t in types] == ["ing", "for", "fix", "dig"]
    assert types[0].get("authorityURI") == LOC + "eventType"
    outcome = root.findall("premis:event/premis:eventOutcomeInformation/premis:eventOutcome", NS)[2]
    assert (outcome.text, outcome.get("valueURI")) == ("fail", LOC + "eventOutcome/fai")
    role = root.find("premis:event/premis:linkingAgentIdentifier/premis:linkingAgentRole", NS)
    assert (role.text, role.get("valueURI")) == ("executing program", LOC + "eventRelatedAgentRole/exe")
    algorithm = root.find(".//premis:fixity/premis:messageDigestAlgorithm", NS)
    assert algorithm.text == "SHA-512"
    registry = root.find(".//premis:formatRegistry", NS)
    assert [e.text for e in registry] == ["PRONOM", "fmt/276"]


def test_standard_agents_name_software_versions():
    hsar, fido, pyhanko, org = standard_agents(ORG)
    assert (hsar.name, hsar.version, hsar.type) == ("hsar", __version__, "software")
    assert pyhanko.version == metadata.version("pyHanko") and pyhanko.identifier == f"pyHanko/{pyhanko.version}"
    assert fido.name == "FIDO" and fido.version == metadata.version("opf-fido")
    assert (org.name, org.type) == (ORG, "organization")
    root = etree.fromstring(render_premis(_objects(), [], [hsar]))
    assert root.findtext("premis:agent/premis:agentVersion", namespaces=NS) == __version__


def test_carry_events_forward(schema):
    objects, events, agents = _document()
    earlier = render_premis(objects, events, agents)
    _, old_events, old_agents = parse_premis(earlier)
    newer_hsar = PremisAgent("hsar/9.9.9", "hsar", "software", "9.9.9")
    event = PremisEvent.new("replication", agents=[(newer_hsar.identifier, "executing program")],
                            objects=["metadata/archive.xml"], when=WHEN + timedelta(days=1))  # fmt: skip
    data = render_premis(objects, [*old_events, event], merge_by_identifier([newer_hsar], old_agents, agents))
    assert schema.validate(etree.fromstring(data)), schema.error_log
    _, all_events, all_agents = parse_premis(data)
    assert all_events == [*events, event]
    assert [a.identifier for a in all_agents][0] == "hsar/9.9.9" and len(all_agents) == 5


def test_new_event_defaults():
    event = PremisEvent.new("message digest calculation", objects=["a", ("b", "outcome")], agents=["hsar/0.1.0"])
    assert len(event.identifier) == 36 and event.datetime.tzinfo is not None
    assert event.objects == (ObjectLink("a", "source"), ObjectLink("b", "outcome"))
    assert event.agents == (AgentLink("hsar/0.1.0", "executing program"),)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"type": "repair"}, "event type"),
        ({"outcome": "ok"}, "outcome"),
        ({"datetime": datetime(2025, 1, 1)}, "time zone"),
        ({"agents": (("hsar", "boss"),)}, "role"),
        ({"objects": (42,)}, "linking identifier"),
    ],
)
def test_event_refuses_bad_values(kwargs, message):
    base = {"identifier": "x", "type": "ingestion", "datetime": WHEN}
    with pytest.raises(PreservationError, match=message):
        PremisEvent(**{**base, **kwargs})


def test_agent_refuses_unknown_type():
    with pytest.raises(PreservationError, match="agent type"):
        PremisAgent("x", "x", "robot")


def test_render_refuses_no_objects_and_control_characters():
    with pytest.raises(PreservationError, match="at least one object"):
        render_premis([], [], [])
    bad = PremisObject("data/\x01.pdf", None, 1, "ab" * 64, None, "PDF")
    with pytest.raises(PreservationError, match="cannot be written"):
        render_premis([bad], [], [])


@pytest.mark.parametrize(
    "data, message",
    [
        (b"<premis", "well-formed"),
        (b"<mets xmlns='http://www.loc.gov/METS/'/>", "not a PREMIS 3"),
        (f"<premis xmlns='{PREMIS_NS}' version='3.0'><object><objectIdentifier/></object></premis>".encode(),
         "lacks"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("parse", [parse_premis, parse_premis_objects])
def test_parse_refuses_bad_documents(data, message, parse):
    with pytest.raises(PreservationError, match=message):
        parse(data)


def test_parse_does_not_expand_external_entities(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", "utf-8")
    objects, events, agents = _document()
    data = render_premis(objects[:1], [], agents[:1]).decode("utf-8")
    data = data.replace("<premis:premis", f'<!DOCTYPE x [<!ENTITY s SYSTEM "file://{secret}">]>\n<premis:premis', 1)
    data = data.replace("<premis:agentName>hsar<", "<premis:agentName>&s;hsar<", 1).encode("utf-8")
    expanding = etree.XMLParser(resolve_entities=True, load_dtd=True)
    assert b"TOP-SECRET" in etree.tostring(etree.fromstring(data, expanding))  # the trap is armed
    assert "TOP-SECRET" not in repr(parse_premis(data))


def test_event_times_keep_their_offset():
    objects, events, agents = _document()
    _, parsed, _ = parse_premis(render_premis(objects, events, agents))
    assert parsed[0].datetime.utcoffset() == timedelta(hours=8)
    assert parsed[0].datetime == WHEN.astimezone(UTC)


def test_the_pyhanko_agent_names_the_installed_version_without_reading_metadata(monkeypatch):
    from repository.preservation import premis

    premis._package_version.cache_clear()
    monkeypatch.setattr(metadata, "version", lambda name: pytest.fail(f"metadata read for {name}"))
    try:
        agent = premis.pyhanko_agent()
    finally:
        monkeypatch.undo()
        premis._package_version.cache_clear()
    assert agent.version == metadata.version("pyHanko") and agent.identifier == f"pyHanko/{agent.version}"
