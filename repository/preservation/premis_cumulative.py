"""Reading a cumulative PREMIS document (``metadata/premis.xml``, the layout before per-version documents) in
parts, without parsing all of it.

Objects stored before per-version PREMIS documents hold, in every version, one document with every object and
every event so far; the catalogue record of such a version needs its new events (and, for a supplement, its
new objects) alone. A document written by :func:`~.premis.render_premis` has a fixed shape: the declaration and
root tag, then each top-level element (objects, then events, then agents) starting on a line ``"  <premis:…"``
(two spaces; text never holds a raw ``<``, so the marker cannot occur inside a value).

:func:`premis_layout` finds every top-level element of such a document in one pass over its bytes (an offset
per element, nothing copied; an object's identifier and digest read where :func:`render_premis` puts them);
:func:`read_parts` parses only the elements a caller asks for and :func:`event_ids` gives the events'
identifiers. A document of any other shape (another writer) gives ``None``: callers then parse it whole.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from xml.sax.saxutils import unescape

from .premis import PremisAgent, PremisEvent, PremisObject
from .premis_read import parse_premis

HEADER = (b"<?xml version='1.0' encoding='UTF-8'?>\n<premis:premis xmlns:premis=\"http://www.loc.gov/premis/v3\" "
          b"xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" version=\"3.0\">")
FOOTER = b"\n</premis:premis>\n"
EMPTY_ROOT = HEADER[:-1] + b"/>\n"  # what lxml writes for a root without children
MARK = b"\n  <premis:"
_OBJECT, _EVENT, _AGENT = b'object xsi:type="premis:file">', b"event>", b"agent>"

Chunk = bytes | memoryview

#: the start of an object as :func:`~.premis.render_premis` writes it, up to its SHA-512 (identifier, digest)
_OBJECT_HEAD = re.compile(
    rb'\n  <premis:object xsi:type="premis:file">\n    <premis:objectIdentifier>\n'
    rb"      <premis:objectIdentifierType>[^<]*</premis:objectIdentifierType>\n"
    rb"      <premis:objectIdentifierValue>([^<]*)</premis:objectIdentifierValue>\n"
    rb"    </premis:objectIdentifier>\n    <premis:objectCharacteristics>\n      <premis:fixity>\n"
    rb"        <premis:messageDigestAlgorithm [^>]*>SHA-512</premis:messageDigestAlgorithm>\n"
    rb"        <premis:messageDigest>([^<]*)</premis:messageDigest>\n")


@dataclass
class PremisParts:
    """The top-level elements of a document, each as its bytes (starting with :data:`MARK`)."""

    objects: list[tuple[str, str, Chunk]]  # (identifier, SHA-512 as written, element)
    events: list[tuple[str, Chunk]]  # (identifier, element)
    agents: list[tuple[str, Chunk]]

    def to_bytes(self) -> bytes:
        return b"".join([HEADER, *(c for _, _, c in self.objects), *(c for _, c in self.events),
                         *(c for _, c in self.agents), FOOTER])


@dataclass
class PremisLayout:
    """Where each top-level element of a document of :func:`render_premis`'s shape lies in its bytes."""

    data: bytes
    objects: list[tuple[str, str, int, int]]  # (identifier, SHA-512 as written, start, end)
    events: list[tuple[int, int]]  # (start, end)
    agents: list[tuple[str, int, int]]  # (identifier, start, end)

    def chunk(self, start: int, end: int) -> memoryview:
        return memoryview(self.data)[start:end]

    def event_ids(self) -> list[str] | None:
        ids = [_value(self.data[s:min(e, s + 4096)], b"eventIdentifierValue") for s, e in self.events]
        return None if any(i is None for i in ids) else [i for i in ids if i is not None]


def _value(chunk: bytes, tag: bytes) -> str | None:
    start = chunk.find(b"<premis:" + tag + b">")
    if start < 0:
        return None
    start += len(tag) + 9  # "<premis:" tag ">"
    end = chunk.find(b"</premis:" + tag + b">", start)
    if end < 0 or b"<" in chunk[start:end] or b"&#" in chunk[start:end]:
        return None
    try:
        return _text(chunk[start:end])
    except UnicodeDecodeError:
        return None


def _text(raw: bytes) -> str:
    text = raw.decode("utf-8")
    return unescape(text) if "&" in text else text


def premis_layout(data: bytes) -> PremisLayout | None:
    """The top-level elements of a document :func:`render_premis` wrote, found in one pass (each element from
    its :data:`MARK` to the next; objects, then events, then agents, nothing else), or ``None`` for any other
    shape."""
    if data == EMPTY_ROOT:
        return PremisLayout(data, [], [], [])
    if not (data.startswith(HEADER) and data.endswith(FOOTER)) or not data.startswith(MARK, len(HEADER)):
        return None
    end = len(data) - len(FOOTER)
    layout = PremisLayout(data, [], [], [])
    at = _objects(layout, len(HEADER), end)
    if at is None:
        return None
    kind = 0
    while at < end:  # ``at`` is the start of an element (a MARK): events, then agents
        following = data.find(MARK, at + len(MARK), end)
        stop = following if following >= 0 else end
        if kind == 0 and data.startswith(_EVENT, at + len(MARK)):
            layout.events.append((at, stop))
        elif data.startswith(_AGENT, at + len(MARK)):
            kind = 1
            ident = _value(data[at:min(stop, at + 4096)], b"agentIdentifierValue")
            if ident is None:
                return None
            layout.agents.append((ident, at, stop))
        else:
            return None
        at = stop
    return layout


def _objects(layout: PremisLayout, start: int, end: int) -> int | None:
    """Fill in the objects from ``start`` on (each its identifier, digest and place); where the elements after
    them begin, or ``None`` if an element there is not an object of :func:`render_premis`'s layout."""
    data = layout.data
    stop = data.find(MARK + _EVENT, start, end)
    if stop < 0:
        stop = data.find(MARK + _AGENT, start, end)
    stop = end if stop < 0 else stop  # an agent before the first event is a mark no head matches (below)
    heads = list(_OBJECT_HEAD.finditer(data, start, stop))
    # each head holds one MARK, at its start: as many heads as marks means every element here is an object
    if len(heads) != data.count(MARK, start, stop) or (heads and heads[0].start() != start):
        return None
    if heads and data.find(b"#", start, stop) >= 0 and data.find(b"&#", start, stop) >= 0:  # memchr first
        return None  # a character reference: rendering the parsed values would not give these bytes
    starts = [h.start() for h in heads] + [stop]
    try:
        layout.objects = [(_text(h.group(1)), h.group(2).decode("ascii"), starts[k], starts[k + 1])
                          for k, h in enumerate(heads)]
    except UnicodeDecodeError:
        return None
    return stop


def _parts(layout: PremisLayout, objects: Collection[str] | None) -> PremisParts | None:
    """The elements (the objects at ``objects`` only, every one for ``None``) as views of the document."""
    ids = layout.event_ids()
    if ids is None:
        return None
    chunk = layout.chunk
    return PremisParts([(i, d, chunk(s, e)) for i, d, s, e in layout.objects if objects is None or i in objects],
                       [(i, chunk(s, e)) for i, (s, e) in zip(ids, layout.events, strict=True)],
                       [(i, chunk(s, e)) for i, s, e in layout.agents])


def event_ids(data: bytes) -> list[str] | None:
    """The identifiers of a document's events, or ``None`` for a document not of :func:`render_premis`'s
    shape."""
    layout = premis_layout(data)
    return None if layout is None else layout.event_ids()


def read_parts(data: bytes, objects: Collection[str] | None, skip_events: Collection[str]
               ) -> tuple[list[PremisObject], list[PremisEvent], list[PremisAgent]] | None:
    """Objects (those named in ``objects``; every one for ``None``), events (but those in ``skip_events``) and
    agents of a document, parsing those elements alone; ``None`` for a document of another shape."""
    layout = premis_layout(data)
    parts = None if layout is None else _parts(layout, objects)
    if parts is None:
        return None
    wanted = PremisParts(parts.objects, [e for e in parts.events if e[0] not in skip_events], parts.agents)
    if not (wanted.objects or wanted.events or wanted.agents):
        return [], [], []
    return parse_premis(wanted.to_bytes())
