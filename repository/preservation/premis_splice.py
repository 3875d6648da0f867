"""PREMIS documents handled as bytes: carrying an earlier version's ``premis.xml`` forward without parsing it.

A supplement's ``premis.xml`` holds every object and every event so far, so it grows with the archive: on an
archive of 20,000 files, parsing the previous version's document into values and rendering all of them again
cost seconds per supplement. A document written by :func:`~.premis.render_premis` has a fixed shape: the
declaration and root tag, then each top-level element (objects, then events, then agents) starting on a line
``"  <premis:…"`` (two spaces; text never holds a raw ``<``, so the marker cannot occur inside a value).
:func:`split_premis` cuts such a document into its top-level elements as bytes; :func:`splice_premis` builds
the next version's document from those bytes and the few new elements, byte for byte what
``render_premis`` gives for the same objects, events and agents; :func:`read_parts` parses only the elements
a caller asks for (the catalogue record of a version needs its new objects and events, not the history).

A document of any other shape (another writer, an older layout) gives ``None``: callers then parse it whole,
as before.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape, unescape

from .premis import PremisAgent, PremisEvent, PremisObject, render_elements
from .premis_read import parse_premis

HEADER = (b"<?xml version='1.0' encoding='UTF-8'?>\n<premis:premis xmlns:premis=\"http://www.loc.gov/premis/v3\" "
          b"xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" version=\"3.0\">")
FOOTER = b"\n</premis:premis>\n"
EMPTY_ROOT = HEADER[:-1] + b"/>\n"  # what lxml writes for a root without children
MARK = b"\n  <premis:"
_OBJECT, _EVENT, _AGENT = b'object xsi:type="premis:file">', b"event>", b"agent>"
_KINDS = (_OBJECT, _EVENT, _AGENT)


@dataclass
class PremisParts:
    """The top-level elements of a document, each as its bytes (starting with :data:`MARK`)."""

    objects: list[tuple[str, str, bytes]]  # (identifier, SHA-512 as written, element)
    events: list[tuple[str, bytes]]  # (identifier, element)
    agents: list[tuple[str, bytes]]

    def to_bytes(self) -> bytes:
        return b"".join([HEADER, *(c for _, _, c in self.objects), *(c for _, c in self.events),
                         *(c for _, c in self.agents), FOOTER])


def _value(chunk: bytes, tag: bytes) -> str | None:
    start = chunk.find(b"<premis:" + tag + b">")
    if start < 0:
        return None
    start += len(tag) + 9  # "<premis:" tag ">"
    end = chunk.find(b"</premis:" + tag + b">", start)
    if end < 0 or b"<" in chunk[start:end] or b"&#" in chunk[start:end]:
        return None
    return _text(chunk[start:end])


def _text(raw: bytes) -> str:
    text = raw.decode("utf-8")
    return unescape(text) if "&" in text else text


_OBJECT_ID = re.compile(rb"<premis:objectIdentifierValue>([^<]*)</premis:objectIdentifierValue>")
_DIGEST = re.compile(rb"<premis:messageDigest>([^<]*)</premis:messageDigest>")


def _regions(data: bytes) -> tuple[bytes, bytes, bytes] | None:
    """The objects, the events and the agents of a document of our shape, each as one run of bytes."""
    if data == EMPTY_ROOT:
        return b"", b"", b""
    if not (data.startswith(HEADER) and data.endswith(FOOTER)) or not data.startswith(MARK, len(HEADER)):
        return None
    body = data[len(HEADER):len(data) - len(FOOTER)]
    events = body.find(MARK + _EVENT)
    agents = body.find(MARK + _AGENT, max(events, 0))
    end_objects = min(i for i in (events, agents, len(body)) if i >= 0)
    end_events = agents if agents >= 0 else len(body)
    regions = body[:end_objects], body[end_objects:end_events], body[end_events:]
    for region, kind in zip(regions, _KINDS, strict=True):  # every element in its run, none of another kind
        if region.count(MARK) != region.count(MARK + kind):
            return None
    return regions


def _objects(region: bytes) -> list[tuple[str, str, bytes]] | None:
    pieces = region.split(MARK)[1:]
    ids, digests = _OBJECT_ID.findall(region), _DIGEST.findall(region)
    if not (len(pieces) == len(ids) == len(digests)) or b"&#" in region:
        return None
    if any(not p.startswith(_OBJECT) for p in pieces):
        return None
    return [(_text(i), d.decode("ascii"), MARK + p) for i, d, p in zip(ids, digests, pieces, strict=True)]


def _named(region: bytes, kind: bytes, tag: bytes) -> list[tuple[str, bytes]] | None:
    out = []
    for piece in region.split(MARK)[1:]:
        chunk = MARK + piece
        ident = _value(chunk[:4096], tag) if piece.startswith(kind) else None
        if ident is None:
            return None
        out.append((ident, chunk))
    return out


def split_premis(data: bytes) -> PremisParts | None:
    """The top-level elements of a document :func:`render_premis` wrote, or ``None`` for any other shape."""
    return _split(data, None)


def _split(data: bytes, objects: Collection[str] | None) -> PremisParts | None:
    """The top-level elements (of the objects named in ``objects``; every one for ``None``) as bytes."""
    regions = _regions(data)
    if regions is None:
        return None
    try:
        found = _objects(regions[0]) if objects is None else _object_chunks(regions[0], objects)
        events = _named(regions[1], _EVENT, b"eventIdentifierValue")
        agents = _named(regions[2], _AGENT, b"agentIdentifierValue")
    except UnicodeDecodeError:
        return None
    if found is None or events is None or agents is None:
        return None
    return PremisParts(found, events, agents)


def rendered_parts(objects: Iterable[PremisObject], events: Iterable[PremisEvent],
                   agents: Iterable[PremisAgent]) -> PremisParts:
    """New elements rendered as :func:`render_premis` renders them, cut into parts."""
    parts = split_premis(render_elements(objects, events, agents))
    assert parts is not None, "render_premis changed its layout: update premis_splice"
    return parts


def splice_premis(previous: PremisParts, objects: Iterable[tuple[str, str, PremisObject | None]],
                  new_events: Iterable[PremisEvent], agents: Iterable[PremisAgent]) -> bytes:
    """The next document: ``objects`` in order as (identifier, SHA-512, object), the element of ``previous``
    kept where it has the identifier and the same digest (``None`` asks for that), else the object rendered;
    the previous events then ``new_events``; the previous agents then those of ``agents`` not among them."""
    carried = {ident: (digest, chunk) for ident, digest, chunk in previous.objects}
    order: list[tuple[str, str, bytes | None]] = []
    fresh: list[PremisObject] = []
    for ident, digest, obj in objects:
        old = carried.get(ident)
        if old is not None and old[0] == digest:
            order.append((ident, digest, old[1]))
        else:
            assert obj is not None, f"no PREMIS object for {ident}"
            order.append((ident, digest, None))
            fresh.append(obj)
    seen: dict[str, bytes] = {}
    for ident, chunk in previous.agents:
        seen.setdefault(ident, chunk)
    new = rendered_parts(fresh, new_events, [a for a in agents if a.identifier not in seen])
    rendered = iter(new.objects)
    out = PremisParts([(i, d, c if c is not None else next(rendered)[2]) for i, d, c in order],
                      previous.events + new.events, [*seen.items(), *new.agents])
    return out.to_bytes()


def event_ids(data: bytes) -> list[str] | None:
    """The identifiers of a document's events, or ``None`` for a document not of :func:`render_premis`'s
    shape (only the events are cut out: the objects before them are not looked at)."""
    regions = _regions(data)
    events = _named(regions[1], _EVENT, b"eventIdentifierValue") if regions is not None else None
    return None if events is None else [ident for ident, _ in events]


def _object_chunks(region: bytes, wanted: Collection[str]) -> list[tuple[str, str, bytes]] | None:
    """The elements of the objects at ``wanted``, found by their identifier (each a search of the bytes)."""
    found = []
    for ident in sorted(wanted):
        at = region.find(b"<premis:objectIdentifierValue>" + escape(ident).encode("utf-8") + b"<")
        if at < 0:
            continue
        start, end = region.rfind(MARK, 0, at), region.find(MARK, at)
        chunk = region[start:end if end >= 0 else len(region)]
        parsed = _objects(chunk) if start >= 0 else None
        if parsed is None or len(parsed) != 1:
            return None
        found.append(parsed[0])
    return found


def read_parts(data: bytes, objects: Collection[str] | None, skip_events: Collection[str]
               ) -> tuple[list[PremisObject], list[PremisEvent], list[PremisAgent]] | None:
    """Objects (those named in ``objects``; every one for ``None``), events (but those in ``skip_events``) and
    agents of a document, parsing those elements alone; ``None`` for a document of another shape."""
    parts = _split(data, objects)
    if parts is None:
        return None
    wanted = PremisParts(parts.objects, [e for e in parts.events if e[0] not in skip_events], parts.agents)
    if not (wanted.objects or wanted.events or wanted.agents):
        return [], [], []
    return parse_premis(wanted.to_bytes())
