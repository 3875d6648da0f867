"""The OCR version of an archive: the head's state unchanged plus the OCR derivatives, PREMIS, a new lock.

What it adds (paths in :mod:`repository.preservation.aip_layout`): for each payload file read,
``derivatives/ocr/<path>.p0001.txt`` … (UTF-8 text of each page read) and ``derivatives/ocr/<path>.ocr.json``
(the record: source path and SHA-512, tool, version, model, every page with its text file or why it has
none). A file read again (a newer tool or model) has its old derivatives replaced. The version's own PREMIS
document ``metadata/premis/vN.xml`` holds an object for each new file and one *creation* event per payload file
(the earlier versions' documents are carried by reference), linking the source
(role source) and its derivatives (role outcome), with the tool, its version and the model as outcome
detail; then the version is locked like every other (signed manifest, *digital signature generation*
event). Payload and every other file are carried as they are: the original bytes are never touched.

Committed as ingest commits (DESIGN principle 2): under the home lock, an intent file names the archive
before the store is touched and stays until the catalogue and the index have the new head.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..formats.tesseract import EngineInfo
from ..home import Repository
from ..preservation.aip_layout import (
    OCR_PREFIX,
    SIGNATURE_DIR,
    SIGNATURE_FILE,
    SIGNATURE_MANIFEST,
    ocr_page_path,
    ocr_record_path,
    premis_path,
)
from ..preservation.ids import object_id
from ..preservation.ocfl import SourceFile
from ..preservation.ocfl_inventory import logical_state
from ..preservation.ocfl_layout import replace_atomic
from ..preservation.premis import (
    PremisAgent,
    PremisEvent,
    PremisObject,
    hsar_agent,
    pyhanko_agent,
    software_agent,
    standard_agents,
)
from ..preservation.signing import lock_version
from ..search.ocrtext import stored_path
from .aip import version_premis

TEXT_FORMAT = ("x-fmt/111", "Plain Text File")
JSON_FORMAT = ("fmt/817", "JSON Data Interchange Format")


@dataclass(frozen=True)
class PageResult:
    number: int
    text: str
    error: str | None = None


@dataclass(frozen=True)
class FileText:
    """What OCR read of one payload file (the version's input)."""

    source: str
    sha512: str
    pages: tuple[PageResult, ...]


def tesseract_agent(engine: EngineInfo) -> PremisAgent:
    return software_agent(engine.tool, engine.version, f"OCR (Tesseract), model {engine.model}")


def record_bytes(text: FileText, engine: EngineInfo, when: datetime) -> bytes:
    """The ``.ocr.json`` record of one file."""
    pages = [{"page": p.number, "text": ocr_page_path(text.source, p.number) if p.error is None else None,
              "chars": len(p.text), "error": p.error} for p in text.pages]
    body = {"source": text.source, "source_sha512": text.sha512, "engine": engine.label, "tool": engine.tool,
            "tool_version": engine.version, "model": engine.model, "language": engine.language,
            "created": when.isoformat(), "pages": pages}
    return (json.dumps(body, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def is_current(record: Mapping[str, object] | None, sha512: str, engine: EngineInfo) -> bool:
    """Has the file its text already, from the same source bytes, tool and model?"""
    return bool(record) and record.get("source_sha512") == sha512 and record.get("engine") == engine.label  # type: ignore[union-attr]


def _write(workdir: Path, logical: str, data: bytes) -> SourceFile:
    target = workdir / "generated" / logical
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return SourceFile(target, hashlib.sha512(data).hexdigest(), len(data))


def _derivatives(workdir: Path, texts: Sequence[FileText], engine: EngineInfo, when: datetime
                 ) -> dict[str, dict[str, SourceFile]]:
    """source -> {derivative path: file} written under ``workdir``."""
    out: dict[str, dict[str, SourceFile]] = {}
    for text in texts:
        made = {ocr_page_path(text.source, p.number): _write(workdir, ocr_page_path(text.source, p.number),
                                                              (p.text + "\n").encode("utf-8"))
                for p in text.pages if p.error is None}
        made[ocr_record_path(text.source)] = _write(workdir, ocr_record_path(text.source),
                                                    record_bytes(text, engine, when))
        out[text.source] = made
    return out


def _objects(made: Mapping[str, Mapping[str, SourceFile]]) -> list[PremisObject]:
    """The objects of the files this version adds: the derivatives."""
    files = {path: src for new in made.values() for path, src in new.items()}
    objects = []
    for path in sorted(files):
        puid, name = JSON_FORMAT if path.endswith(".json") else TEXT_FORMAT
        objects.append(PremisObject(path, path.rsplit("/", 1)[-1], files[path].size, files[path].sha512, puid, name))
    return objects


def _events(made: Mapping[str, Mapping[str, SourceFile]], texts: Sequence[FileText], engine: EngineInfo,
            version: str, when: datetime) -> list[PremisEvent]:
    tool, hsar = tesseract_agent(engine).identifier, hsar_agent().identifier
    events = []
    for text in texts:
        failed = [p.number for p in text.pages if p.error is not None]
        outcome = "warning" if failed else "success"
        note = f"; pages not read: {', '.join(map(str, failed))}" if failed else ""
        events.append(PremisEvent.new(
            "creation", when=when, agents=[tool, hsar], outcome=outcome, outcome_detail=engine.label + note,
            objects=[(text.source, "source"), *((p, "outcome") for p in sorted(made[text.source]))],
            detail=f"OCR text of {len(text.pages)} page(s) of {text.source} ({engine.language})"))
    events.append(PremisEvent.new("digital signature generation", when=when, agents=[pyhanko_agent().identifier],
                                  objects=[SIGNATURE_FILE],
                                  detail=f"{version} locked: detached CMS signature over {SIGNATURE_MANIFEST}"))
    return events


def build_ocr_version(repo: Repository, archive_id: str, texts: Sequence[FileText], engine: EngineInfo, *,
                      version: str, when: datetime, workdir: Path) -> dict[str, SourceFile]:
    """Every file of the new version's state: the head's, minus the replaced derivatives, plus the new ones."""
    store, oid = repo.store, object_id(archive_id)
    inventory = store.inventory(oid)  # read once: one lookup per file would be quadratic
    state, root = logical_state(inventory), store.object_root(oid)
    again = tuple(OCR_PREFIX + t.source + suffix for t in texts for suffix in (".p", ".ocr.json"))
    files = {p: SourceFile(path, d, path.stat().st_size) for p, d in state.items()
             if not p.startswith(SIGNATURE_DIR) and not p.startswith(again)
             for path in (stored_path(root, inventory, d),)}
    made = _derivatives(workdir, texts, engine, when)
    for new in made.values():
        files.update(new)
    events = _events(made, texts, engine, version, when)
    agents = [*standard_agents(repo.cfg["repository.institution"]), tesseract_agent(engine)]
    files[premis_path(version)] = _write(workdir, premis_path(version), version_premis(_objects(made), events, agents))
    manifest, p7s = lock_version({p: f.sha512 for p, f in files.items()}, repo.signer, signing_time=when)
    files[SIGNATURE_MANIFEST] = _write(workdir, SIGNATURE_MANIFEST, manifest)
    files[SIGNATURE_FILE] = _write(workdir, SIGNATURE_FILE, p7s)
    return files


def commit_ocr(repo: Repository, archive_id: str, texts: Sequence[FileText], engine: EngineInfo,
               when: datetime) -> str:
    """Store ``texts`` as the archive's next version (call holding the home lock); the version's name.
    The caller calls ``repo.finish_intents()`` once the batch is done."""
    store, oid = repo.store, object_id(archive_id)
    head = store.head(oid)
    assert head is not None, oid
    version = f"v{int(head[1:]) + 1}"
    workdir = repo.staging / f"sip-ocr-{secrets.token_hex(6)}"  # removed by recover() if we are killed
    workdir.mkdir(parents=True)
    try:
        files = build_ocr_version(repo, archive_id, texts, engine, version=version, when=when, workdir=workdir)
        intent = json.dumps({"archive_id": archive_id, "version": version}).encode("utf-8")
        replace_atomic(repo.paths.intent(archive_id), intent, repo.staging)
        pages = sum(len(t.pages) for t in texts)
        user = (repo.cfg["repository.institution"], repo.cfg["repository.contact"] or None)
        result = store.add_version(oid, files, staging=repo.staging, created=when, move=True, expected_head=head,
                                   message=f"ocr {engine.label}: {len(texts)} files, {pages} pages", user=user)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    repo.record_from_store(archive_id)
    return result.version
