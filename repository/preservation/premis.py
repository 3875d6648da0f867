"""PREMIS 3.0 preservation metadata, written with lxml (read back by :mod:`.premis_read`).

Follows the PREMIS Data Dictionary for Preservation Metadata, version 3.0, and its XML schema
(``http://www.loc.gov/premis/v3``). Each version of an AIP stores a document of its own,
``metadata/premis/vN.xml`` (:mod:`.aip_layout`): the objects of the files that version added or changed, its
events and the agents they name; the history of a version is the documents in its state merged in version
order (:mod:`.premis_history`; objects stored earlier hold one cumulative ``metadata/premis.xml`` as the history
up to their last version of that layout). A document carries:

* objects (``xsi:type="file"``): identifier of type ``hsar-logical-path`` (the logical path in the OCFL state),
  originalName (the path in the SIP), objectCharacteristics with fixity (SHA-512), size and format
  (formatDesignation and, when identified, formatRegistry PRONOM with the PUID);
* events: UUID identifiers, eventType with labels and URIs from the Library of Congress vocabulary
  ``id.loc.gov/vocabulary/preservation/eventType`` (see :data:`EVENT_TYPES`), outcome from
  ``.../eventOutcome``, linking agents with roles from ``.../eventRelatedAgentRole``, linking objects with
  roles from ``.../eventRelatedObjectRole``;
* agents: software (hsar, FIDO, pyHanko, with versions) and the holding institution, typed from
  ``.../agentType``.

:func:`~.premis_read.parse_premis` reads back what :func:`render_premis` writes, so the catalogue can be
rebuilt from storage alone. Repair from a replica is recorded as
"recovery"; copying to a replica as "replication"; the version lock as "digital signature generation".
"""

from __future__ import annotations

import functools
import importlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from .. import SOFTWARE, __version__
from ..errors import PreservationError

if TYPE_CHECKING:  # lxml is imported where a document is rendered
    from lxml import etree

DateTime = datetime  # for annotations inside PremisEvent, whose field ``datetime`` hides the class

T = TypeVar("T")

PREMIS_NS = "http://www.loc.gov/premis/v3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {"premis": PREMIS_NS, "xsi": XSI_NS}
LOC = "http://id.loc.gov/vocabulary/preservation/"
OBJECT_ID_TYPE = "hsar-logical-path"
AGENT_ID_TYPE = "hsar-agent"
EVENT_ID_TYPE = "UUID"

#: LoC PREMIS event types: label -> code (URI is ``LOC + "eventType/" + code``).
EVENT_TYPES: dict[str, str] = {
    "accession": "acc", "appraisal": "app", "capture": "cap", "compiling": "cop", "compression": "com",
    "creation": "cre", "deaccession": "dea", "decompression": "dec", "decryption": "der", "deletion": "del",
    "digital signature generation": "dsg", "digital signature validation": "dig", "displaying": "dsp",
    "dissemination": "dis", "encryption": "enc", "execution": "exe", "exporting": "exp", "extraction": "ext",
    "filename change": "fil", "fixity check": "fix", "forensic feature analysis": "ffa",
    "format identification": "for", "imaging": "ima", "information package creation": "ipc",
    "information package merging": "ipm", "information package splitting": "ips", "ingestion": "ing",
    "ingestion end": "ine", "ingestion start": "ins", "interpreting": "int", "message digest calculation": "mes",
    "metadata extraction": "mee", "metadata modification": "mem", "migration": "mig", "modification": "mod",
    "normalization": "nor", "packing": "pac", "policy assignment": "poa", "printing": "prt",
    "quarantine": "qua", "recovery": "rec", "redaction": "red", "refreshment": "ref", "rendering": "ren",
    "replication": "rep", "transfer": "tra", "unpacking": "unp", "unquarantine": "unq", "validation": "val",
    "virus check": "vir",
}  # fmt: skip
#: hsar outcome -> (LoC label, code) from ``eventOutcome``.
OUTCOMES: dict[str, tuple[str, str]] = {"success": ("success", "suc"), "failure": ("fail", "fai"),
                                        "warning": ("warning", "war")}  # fmt: skip
AGENT_ROLES: dict[str, str] = {"authorizer": "aut", "executing program": "exe", "implementer": "imp",
                               "validator": "val"}  # fmt: skip
OBJECT_ROLES: dict[str, str] = {"source": "sou", "outcome": "out"}
AGENT_TYPES: dict[str, str] = {"software": "sof", "organization": "org", "person": "per", "hardware": "har"}
_VOCABS = {"eventType": EVENT_TYPES, "eventOutcome": {v[0]: v[1] for v in OUTCOMES.values()},
           "eventRelatedAgentRole": AGENT_ROLES, "eventRelatedObjectRole": OBJECT_ROLES,
           "agentType": AGENT_TYPES}  # fmt: skip


class AgentLink(NamedTuple):
    """An event's linking agent: agent identifier and its role (``AGENT_ROLES`` label)."""

    identifier: str
    role: str = "executing program"


class ObjectLink(NamedTuple):
    """An event's linking object: logical path and its role (``OBJECT_ROLES`` label)."""

    identifier: str
    role: str = "source"


@dataclass(frozen=True)
class PremisObject:
    identifier: str  # logical path in the version's state
    original_name: str | None
    size: int
    sha512: str
    puid: str | None  # PRONOM unique identifier, e.g. "fmt/276"; None when unidentified
    format_name: str
    format_version: str | None = None


@dataclass(frozen=True)
class PremisEvent:
    """One preservation event. ``agents``/``objects`` also accept plain ids or (id, role) pairs."""

    identifier: str
    type: str
    datetime: datetime
    detail: str = ""
    outcome: str = "success"
    outcome_detail: str = ""
    agents: tuple[AgentLink, ...] = ()
    objects: tuple[ObjectLink, ...] = ()

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise PreservationError(f"unknown PREMIS event type {self.type!r} (use a LoC eventType label)")
        if self.outcome not in OUTCOMES:
            raise PreservationError(f"unknown event outcome {self.outcome!r} (success, failure or warning)")
        if self.datetime.tzinfo is None:
            raise PreservationError(f"event {self.identifier}: datetime must carry a time zone")
        object.__setattr__(self, "agents", tuple(_link(AgentLink, a, AGENT_ROLES) for a in self.agents))
        object.__setattr__(self, "objects", tuple(_link(ObjectLink, o, OBJECT_ROLES) for o in self.objects))

    @classmethod
    def new(
        cls,
        type: str,
        *,
        detail: str = "",
        outcome: str = "success",
        outcome_detail: str = "",
        agents: Iterable[AgentLink | tuple[str, str] | str] = (),
        objects: Iterable[ObjectLink | tuple[str, str] | str] = (),
        when: DateTime | None = None,
    ) -> PremisEvent:
        """An event with a fresh UUID, happening ``when`` (default now, UTC)."""
        return cls(
            str(uuid.uuid4()), type, when or datetime.now(UTC), detail, outcome, outcome_detail,
            tuple(agents), tuple(objects),  # type: ignore[arg-type]  # normalised to links by __post_init__
        )  # fmt: skip


def _link(kind: type[AgentLink] | type[ObjectLink], value: object, roles: dict[str, str]) -> AgentLink | ObjectLink:
    if isinstance(value, str):
        link = kind(value)
    elif isinstance(value, tuple | list):
        link = kind(*value)
    else:
        raise PreservationError(f"linking identifier must be a string or an (identifier, role) pair: {value!r}")
    if link.role not in roles:
        raise PreservationError(f"unknown PREMIS role {link.role!r} (one of {', '.join(roles)})")
    return link


@dataclass(frozen=True)
class PremisAgent:
    identifier: str
    name: str
    type: str  # "software", "organization", "person" or "hardware"
    version: str | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        if self.type not in AGENT_TYPES:
            raise PreservationError(f"unknown PREMIS agent type {self.type!r} (one of {', '.join(AGENT_TYPES)})")


# --------------------------------------------------------------------------------------------- agents


#: Distributions that state their version in a module (read there: no metadata lookup, and ``hsar audit``, which
#: names pyHanko in every signature event, never imports ``importlib.metadata``).
_VERSION_MODULES = {"pyHanko": "pyhanko.version"}


@functools.cache  # every audited archive names its agents: reading the installed metadata cost 5 ms each
def _package_version(distribution: str) -> str | None:
    module = _VERSION_MODULES.get(distribution)
    if module is not None:
        try:
            return str(importlib.import_module(module).__version__)
        except (ImportError, AttributeError):
            pass
    from importlib import metadata  # here: importing it cost every `hsar audit` start a few hundredths

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def software_agent(name: str, version: str | None, note: str | None = None) -> PremisAgent:
    """A software agent whose identifier names the version (``hsar-agent`` ``pyHanko/0.38.0``)."""
    return PremisAgent(f"{name}/{version or 'unknown'}", name, "software", version, note)


def hsar_agent() -> PremisAgent:
    return software_agent("hsar", __version__, f"{SOFTWARE}: housing-security archive repository")


def fido_agent() -> PremisAgent:
    return software_agent("FIDO", _package_version("opf-fido"), "Format Identification for Digital Objects (PRONOM)")


def pyhanko_agent() -> PremisAgent:
    return software_agent("pyHanko", _package_version("pyHanko"), "CMS signing and validation")


def institution_agent(name: str) -> PremisAgent:
    return PremisAgent(f"organization/{name}", name, "organization", None, "保管机构 holding institution")


def standard_agents(institution: str) -> list[PremisAgent]:
    """The agents every version names: hsar, FIDO, pyHanko and the holding institution."""
    return [hsar_agent(), fido_agent(), pyhanko_agent(), institution_agent(institution)]


def merge_by_identifier(*groups: Iterable[PremisAgent | PremisEvent]) -> list:
    """Concatenate, keeping the first item of each identifier (to carry earlier agents/events forward)."""
    seen: dict[str, PremisAgent | PremisEvent] = {}
    for group in groups:
        for item in group:
            seen.setdefault(item.identifier, item)
    return list(seen.values())


# --------------------------------------------------------------------------------------------- writing


def qname(name: str) -> str:
    return f"{{{PREMIS_NS}}}{name}"


def _sub(parent: etree._Element, name: str, text: str | None = None, **attrib: str) -> etree._Element:
    from lxml import etree

    element = etree.SubElement(parent, qname(name), attrib)
    if text is not None:
        element.text = text
    return element


def _vocab(parent: etree._Element, name: str, scheme: str, label: str, code: str) -> etree._Element:
    return _sub(parent, name, label, authority=scheme, authorityURI=LOC + scheme, valueURI=f"{LOC}{scheme}/{code}")


def _object_xml(root: etree._Element, obj: PremisObject) -> None:
    element = _sub(root, "object")
    element.set(f"{{{XSI_NS}}}type", "premis:file")
    ident = _sub(element, "objectIdentifier")
    _sub(ident, "objectIdentifierType", OBJECT_ID_TYPE)
    _sub(ident, "objectIdentifierValue", obj.identifier)
    chars = _sub(element, "objectCharacteristics")
    fixity = _sub(chars, "fixity")
    _vocab(fixity, "messageDigestAlgorithm", "cryptographicHashFunctions", "SHA-512", "sha512")
    _sub(fixity, "messageDigest", obj.sha512.lower())
    _sub(fixity, "messageDigestOriginator", "hsar")
    _sub(chars, "size", str(obj.size))
    fmt = _sub(chars, "format")
    designation = _sub(fmt, "formatDesignation")
    _sub(designation, "formatName", obj.format_name or "unknown")
    if obj.format_version:
        _sub(designation, "formatVersion", obj.format_version)
    if obj.puid:
        registry = _sub(fmt, "formatRegistry")
        _sub(registry, "formatRegistryName", "PRONOM")
        _sub(registry, "formatRegistryKey", obj.puid)
    if obj.original_name is not None:
        _sub(element, "originalName", obj.original_name)


def _event_xml(root: etree._Element, event: PremisEvent) -> None:
    element = _sub(root, "event")
    ident = _sub(element, "eventIdentifier")
    _sub(ident, "eventIdentifierType", EVENT_ID_TYPE)
    _sub(ident, "eventIdentifierValue", event.identifier)
    _vocab(element, "eventType", "eventType", event.type, EVENT_TYPES[event.type])
    _sub(element, "eventDateTime", event.datetime.isoformat())
    if event.detail:
        _sub(_sub(element, "eventDetailInformation"), "eventDetail", event.detail)
    outcome = _sub(element, "eventOutcomeInformation")
    _vocab(outcome, "eventOutcome", "eventOutcome", *OUTCOMES[event.outcome])
    if event.outcome_detail:
        _sub(_sub(outcome, "eventOutcomeDetail"), "eventOutcomeDetailNote", event.outcome_detail)
    for agent in event.agents:
        link = _sub(element, "linkingAgentIdentifier")
        _sub(link, "linkingAgentIdentifierType", AGENT_ID_TYPE)
        _sub(link, "linkingAgentIdentifierValue", agent.identifier)
        _vocab(link, "linkingAgentRole", "eventRelatedAgentRole", agent.role, AGENT_ROLES[agent.role])
    for obj in event.objects:
        link = _sub(element, "linkingObjectIdentifier")
        _sub(link, "linkingObjectIdentifierType", OBJECT_ID_TYPE)
        _sub(link, "linkingObjectIdentifierValue", obj.identifier)
        _vocab(link, "linkingObjectRole", "eventRelatedObjectRole", obj.role, OBJECT_ROLES[obj.role])


def _agent_xml(root: etree._Element, agent: PremisAgent) -> None:
    element = _sub(root, "agent")
    ident = _sub(element, "agentIdentifier")
    _sub(ident, "agentIdentifierType", AGENT_ID_TYPE)
    _sub(ident, "agentIdentifierValue", agent.identifier)
    _sub(element, "agentName", agent.name)
    _vocab(element, "agentType", "agentType", agent.type, AGENT_TYPES[agent.type])
    if agent.version:
        _sub(element, "agentVersion", agent.version)
    if agent.note:
        _sub(element, "agentNote", agent.note)


def render_premis(
    objects: Iterable[PremisObject], events: Iterable[PremisEvent], agents: Iterable[PremisAgent]
) -> bytes:
    """A ``<premis version="3.0">`` document (UTF-8, with declaration): objects, then events, then agents."""
    from lxml import etree  # here: the audit names events and agents without rendering a document

    objects = list(objects)
    if not objects:
        raise PreservationError("a PREMIS document needs at least one object")
    root = etree.Element(qname("premis"), nsmap=NSMAP, version="3.0")
    try:
        for obj in objects:
            _object_xml(root, obj)
        for event in events:
            _event_xml(root, event)
        for agent in agents:
            _agent_xml(root, agent)
    except ValueError as exc:  # lxml refuses control characters and other non-XML text
        raise PreservationError(f"value cannot be written to PREMIS XML: {exc}") from None
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
