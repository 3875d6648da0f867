"""The archival information package (AIP): what one ingested SIP adds to an archive's OCFL object.

A version's logical state holds the payload of every version so far (``data/...``, material is appended,
never replaced), the SIP's own tag files under ``metadata/sip/``, ``metadata/descriptive.xml`` (the archive's
current description, paper references intact), ``metadata/premis/vN.xml`` (PREMIS 3 of this version alone: the
objects of the files it added or changed, its events, the agents they name; the earlier versions' documents,
and an older object's cumulative ``metadata/premis.xml``, are carried by reference: see
:mod:`repository.preservation.premis_history`), ``metadata/checks.json`` (the SIP's four-property report) and the version's
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
from ..model import Archive
from ..preservation.aip_layout import (
    CHECKS,
    DERIVATIVES_PREFIX,
    DESCRIPTIVE,
    SIP_PREFIX,
    is_premis,
    premis_path,
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
    pyhanko_agent,
    render_premis,
    standard_agents,
)
from ..preservation.premis_history import described
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
    archive: Archive | None


#: The size of a file carried from the previous version: the store holds its bytes already and never copies
#: them again, so nobody needs the size (a PREMIS object made for it afresh measures the file).
STORED = -1


def _own_format(path: str) -> tuple[str | None, str]:
    for suffix, fmt in OWN_FORMATS.items():
        if path.endswith(suffix):
            return fmt
    return None, ""


def _write(workdir: Path, logical: str, data: bytes) -> SourceFile:
    target = workdir / "generated" / logical
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return SourceFile(target, hashlib.sha512(data).hexdigest(), len(data))


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


def version_premis(objects: Sequence[PremisObject], events: Sequence[PremisEvent],
                   agents: Sequence[PremisAgent]) -> bytes:
    """A version's own PREMIS document: ``objects`` (of the files it added or changed), its ``events`` and
    those of ``agents`` the events name."""
    named = {link.identifier for event in events for link in event.agents}
    return render_premis(objects, events, [a for a in agents if a.identifier in named])


def _objects(files: Mapping[str, SourceFile], infos: Mapping[str, FileInfo], new_paths: Sequence[str]
             ) -> list[PremisObject]:
    """The objects of the files this version added or changed (``new_paths``); when it changed none (a SIP that repeats the
    head's description), the description's object again, as a PREMIS document needs one."""
    paths = list(new_paths) or [DESCRIPTIVE]
    return [_new_object(path, files[path], infos) for path in paths]


@dataclass(frozen=True)
class BuiltVersion:
    """A new version's files (logical path -> source, ready for ``add_version``)."""

    files: dict[str, SourceFile]


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
            if path.startswith((PAYLOAD_PREFIX, DERIVATIVES_PREFIX)) or is_premis(path):  # by reference
                files[path] = SourceFile(previous.content.location(path), digest, STORED)
    infos: dict[str, FileInfo] = {}
    for path, info in prepared.payload.items():
        files[path] = SourceFile(prepared.bag_dir / path, info.sha512, info.size)
        infos[path] = info
    for path, info in prepared.tag_files.items():
        files[SIP_PREFIX + path] = SourceFile(prepared.bag_dir / path, info.sha512, info.size)
    files[DESCRIPTIVE] = _write(prepared.workdir, DESCRIPTIVE, to_xml(merged))
    files[CHECKS] = _write(prepared.workdir, CHECKS, prepared.checks.to_json())
    new_paths = sorted(p for p in files if described(p) and (not previous or previous.state.get(p) != files[p].sha512))
    events = _events(prepared, version, new_paths, now, institution)
    premis = version_premis(_objects(files, infos, new_paths), events, standard_agents(institution))
    files[premis_path(version)] = _write(prepared.workdir, premis_path(version), premis)
    manifest, p7s = lock_version({p: f.sha512 for p, f in files.items()}, signer, signing_time=now)
    files[SIGNATURE_MANIFEST] = _write(prepared.workdir, SIGNATURE_MANIFEST, manifest)
    files[SIGNATURE_FILE] = _write(prepared.workdir, SIGNATURE_FILE, p7s)
    return BuiltVersion(files)
