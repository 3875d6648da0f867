"""The archival information package (AIP): what one ingested SIP adds to an archive's OCFL object.

A version's logical state holds the payload of every version so far (``data/...``, material is appended,
never replaced), the SIP's own tag files under ``metadata/sip/``, ``metadata/descriptive.xml`` (the archive's
current description, paper references intact), ``metadata/premis.xml`` (PREMIS 3: every object of the state,
every event so far, the agents), ``metadata/checks.json`` (the SIP's four-property report) and the version's
lock: ``signature/manifest-sha512.txt`` over every other file and its detached CMS signature
``signature/manifest-sha512.txt.p7s``. Everything is written to a work directory first; the OCFL store then
moves it into place atomically.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..descriptive import to_xml
from ..errors import PreservationError
from ..model import Archive
from ..preservation.aip_layout import (
    CHECKS,
    DERIVATIVES_PREFIX,
    DESCRIPTIVE,
    PREMIS,
    SIGNATURE_DIR,
    SIP_PREFIX,
)
from ..preservation.ocfl import SourceFile
from ..preservation.ocfl_versions import ContentPaths
from ..preservation.premis import (
    PremisAgent,
    PremisEvent,
    PremisObject,
    fido_agent,
    hsar_agent,
    institution_agent,
    merge_by_identifier,
    pyhanko_agent,
    render_premis,
    standard_agents,
)
from ..preservation.premis_read import parse_premis
from ..preservation.premis_splice import Chunk, premis_layout, splice
from ..preservation.signing import SIGNATURE_FILE, SIGNATURE_MANIFEST, Signer, lock_version
from .formats import FileInfo
from .prepare import Prepared

PAYLOAD_PREFIX = "data/"
OWN_FORMATS = {".xml": ("fmt/101", "Extensible Markup Language"), ".json": ("fmt/817", "JSON Data Interchange Format"),
               ".txt": ("x-fmt/111", "Plain Text File")}


@dataclass(frozen=True)
class PreviousVersion:
    """What the new version carries forward from the head."""

    state: Mapping[str, str]  # logical path -> sha512
    content: ContentPaths  # logical path -> a stored copy of its bytes (at least the payload, derivatives)
    premis: bytes | None
    archive: Archive | None


#: The size of a file carried from the previous version: the store holds its bytes already and never copies
#: them again, so nobody needs the size (a PREMIS object made for it afresh measures the file).
STORED = -1


def _own_format(path: str) -> tuple[str | None, str]:
    for suffix, fmt in OWN_FORMATS.items():
        if path.endswith(suffix):
            return fmt
    return None, ""


def _write(workdir: Path, logical: str, data: bytes | Sequence[Chunk]) -> SourceFile:
    """Write ``data`` (bytes, or segments written one after the other) and hash it on the way."""
    target = workdir / "generated" / logical
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha512(), 0
    with target.open("wb") as out:
        for segment in [data] if isinstance(data, bytes) else data:
            out.write(segment)
            digest.update(segment)
            size += len(segment)
    return SourceFile(target, digest.hexdigest(), size)


def _events(prepared: Prepared, version: str, new_paths: Sequence[str], when: datetime, institution: str
            ) -> list[PremisEvent]:
    hsar, fido, hanko = hsar_agent().identifier, fido_agent().identifier, pyhanko_agent().identifier
    warnings = sorted({i.code for i in prepared.report.warnings})
    objs = list(new_paths)
    signed = [p for p, f in prepared.payload.items() if f.signatures]
    ambiguous = [p for p, f in prepared.payload.items() if f.method in ("extension", "none")]
    events = [
        PremisEvent.new("message digest calculation", when=when, agents=[hsar], objects=objs,
                        detail=f"SHA-512 of {len(objs)} files computed while receiving SIP {prepared.sip_name}"),
        PremisEvent.new("fixity check", when=when, agents=[hsar], objects=objs,
                        detail="BagIt payload and tag manifests verified (RFC 8493)"),
        PremisEvent.new("validation", when=when, agents=[hsar], objects=objs,
                        outcome="warning" if warnings else "success", outcome_detail=", ".join(warnings),
                        detail="BagIt RFC 8493, BagIt profile, XSD hsar-archive-1.0, Schematron, domain rules"),
        PremisEvent.new("format identification", when=when, agents=[fido, hsar],
                        objects=[p for p in objs if p.startswith(PAYLOAD_PREFIX)],
                        outcome="warning" if ambiguous else "success", outcome_detail=", ".join(ambiguous),
                        detail="FIDO (PRONOM) with container signatures; format policy applied"),
    ]
    if signed:
        events.append(PremisEvent.new("digital signature validation", when=when, agents=[hanko], objects=signed,
                                      detail=f"{len(signed)} PDF files with embedded signatures verified"))
    events.append(PremisEvent.new("ingestion", when=when, agents=[hsar, (institution_agent(institution).identifier, "authorizer")], objects=objs,
                                  detail=f"SIP {prepared.sip_name} ingested as {version}"))
    events.append(PremisEvent.new("digital signature generation", when=when, agents=[hanko], objects=[SIGNATURE_FILE],
                                  detail=f"{version} locked: detached CMS signature over {SIGNATURE_MANIFEST}"))
    return events


def _new_object(path: str, src: SourceFile, infos: Mapping[str, FileInfo]) -> PremisObject:
    info = infos.get(path)
    puid, name = (info.puid, info.format_name) if info and info.puid else _own_format(path)
    size = src.size if src.size != STORED else os.stat(src.path).st_size
    return PremisObject(path, path.rsplit("/", 1)[-1], size, src.sha512, puid, name or "",
                        info.format_version if info else None)


def _described(files: Mapping[str, SourceFile]) -> list[str]:
    """The paths PREMIS describes: every file of the state but the PREMIS file itself and the lock."""
    return [p for p in sorted(files) if p != PREMIS and not p.startswith(SIGNATURE_DIR)]


def _objects(files: Mapping[str, SourceFile], infos: Mapping[str, FileInfo], carried: Mapping[str, PremisObject]
             ) -> list[PremisObject]:
    objects = []
    for path in _described(files):
        src = files[path]
        if path in carried and carried[path].sha512 == src.sha512:
            objects.append(carried[path])
        else:
            objects.append(_new_object(path, src, infos))
    return objects


def _premis(files: Mapping[str, SourceFile], infos: Mapping[str, FileInfo], previous: bytes | None,
            new_events: list[PremisEvent], agents: list[PremisAgent]) -> tuple[list[Chunk], bytes | None]:
    """The version's cumulative PREMIS as segments to write in order, and a document of what this version added
    (its new objects and events, every agent; ``None`` when the whole document was rendered). The previous
    document, when :func:`render_premis` wrote it, is carried forward as bytes, only the new objects and events
    rendered (:mod:`~repository.preservation.premis_splice`: the same bytes, without parsing and rendering
    every object of a large archive again); else it is parsed and the whole document rendered."""
    layout = premis_layout(previous) if previous else None
    if layout is None:
        old_objects, old_events, old_agents = parse_premis(previous) if previous else ([], [], [])
        objects = _objects(files, infos, {o.identifier: o for o in old_objects})
        return [render_premis(objects, old_events + new_events, merge_by_identifier(old_agents, agents))], None
    digests = {ident: digest for ident, digest, _, _ in layout.objects}
    listed = [(p, files[p].sha512, None if digests.get(p) == files[p].sha512 else _new_object(p, files[p], infos))
              for p in _described(files)]
    if not listed:
        raise PreservationError("a PREMIS document needs at least one object")
    spliced = splice(layout, listed, new_events, agents)
    return spliced.segments, spliced.added


@dataclass(frozen=True)
class BuiltVersion:
    """A new version's files (logical path -> source, ready for ``add_version``) and, when its PREMIS was
    carried forward from the previous version's, a PREMIS document of what it added: its new objects, its new
    events and every agent (what the catalogue record needs; ``None`` when the whole document was rendered)."""

    files: dict[str, SourceFile]
    premis_added: bytes | None = None


def build_version(
    prepared: Prepared,
    merged: Archive,
    previous: PreviousVersion | None,
    *,
    version: str,
    now: datetime,
    institution: str,
    signer: Signer,
) -> BuiltVersion:
    """Every file of the new version's state, written under ``prepared.workdir``."""
    assert prepared.bag_dir is not None and prepared.checks is not None
    files: dict[str, SourceFile] = {}
    if previous:
        for path, digest in previous.state.items():
            if path.startswith((PAYLOAD_PREFIX, DERIVATIVES_PREFIX)):  # OCR text stays with its pages
                files[path] = SourceFile(previous.content.location(path), digest, STORED)
    infos: dict[str, FileInfo] = {}
    for path, info in prepared.payload.items():
        files[path] = SourceFile(prepared.bag_dir / path, info.sha512, info.size)
        infos[path] = info
    for path, info in prepared.tag_files.items():
        files[SIP_PREFIX + path] = SourceFile(prepared.bag_dir / path, info.sha512, info.size)
    files[DESCRIPTIVE] = _write(prepared.workdir, DESCRIPTIVE, to_xml(merged))
    files[CHECKS] = _write(prepared.workdir, CHECKS, prepared.checks.to_json())
    new_paths = sorted(p for p in files if not previous or previous.state.get(p) != files[p].sha512)
    events = _events(prepared, version, new_paths, now, institution)
    premis, added = _premis(files, infos, previous.premis if previous else None, events,
                            standard_agents(institution))
    files[PREMIS] = _write(prepared.workdir, PREMIS, premis)
    manifest, p7s = lock_version({p: f.sha512 for p, f in files.items()}, signer, signing_time=now)
    files[SIGNATURE_MANIFEST] = _write(prepared.workdir, SIGNATURE_MANIFEST, manifest)
    files[SIGNATURE_FILE] = _write(prepared.workdir, SIGNATURE_FILE, p7s)
    return BuiltVersion(files, added)
