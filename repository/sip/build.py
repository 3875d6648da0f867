"""``hsar sip build``: make a profile-conformant SIP (BagIt bag) from documents plus a metadata file.

The metadata file is one of

- the descriptive XML (``metadata/hsar-archive-1.0.xsd``), recognised by a leading ``<``;
- a **JSON export** (``*.json``) or a **CSV export** (``*.csv``) of the kind a housing-security management
  system (住房保障管理信息系统) produces; both are read by :mod:`repository.description.exports`, which documents the
  two formats (examples: ``metadata/examples/export-household.json`` and ``export-household.csv``).

Every file an item names is copied (never moved) from ``documents`` to its ``data/...`` path in the bag; for
descriptive XML the document is looked up as ``documents/<path below data/>``, ``documents/data/...`` or
``documents/<file name>``, for an export as the path the export gives (relative to ``documents``). The
bag-info tags that repeat descriptive facts (External-Identifier, Archive-Type, Package-Type, Division-Code,
Fonds-Number, Original-Volume) are derived from the archive, and BagIt-Profile-Identifier from
``profiles/<package type>.json``. The bag is assembled in a hidden staging directory beside ``out`` and
renamed into place, so ``out`` is either complete or absent.

Refusals raise :class:`~repository.errors.IngestError` with a stable ``code``: ``BUILD-EXISTS`` (out exists),
``BUILD-DOCUMENT`` (documents named by the metadata that are missing, and documents in the folder the metadata
does not describe, all of them in one message; or a path escaping ``documents``), ``BUILD-METADATA`` (the
metadata cannot be read or converted, or the result would fail validation: XSD, Schematron, rules; every
problem at once). Their texts are messages of the catalogue, shown in the reader's language.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path, PurePosixPath

from .. import SOFTWARE, descriptive
from ..bags.profile import load_profile
from ..bags.write import write_bag
from ..codes import Severity
from ..description.exports import Converted, ExportError, archive_from_csv, archive_from_json
from ..description.validate import validate_descriptive
from ..errors import IngestError
from ..messages import Text
from ..model import Archive
from ..preservation.aip_layout import DESCRIPTIVE as DESCRIPTIVE_PATH


def _refuse(code: str, msgid: str, **params: object) -> IngestError:
    return IngestError("", code, msgid=msgid, **params)


def profile_identifier(package_type: str) -> str:
    """The BagIt-Profile-Identifier (profile URI) of ``profiles/<package type>.json``."""
    return load_profile(package_type)["BagIt-Profile-Info"]["BagIt-Profile-Identifier"]


def bag_info_for(archive: Archive, *, source_organization: str, bagging_date: date) -> dict[str, str]:
    """The bag-info tags a SIP of ``archive`` needs (Payload-Oxum is added by the bag writer)."""
    info = {
        "Source-Organization": source_organization,
        "External-Identifier": archive.identifier,
        "External-Description": archive.title,
        "Archive-Type": archive.type.value,
        "Package-Type": archive.package_type.value,
        "Division-Code": archive.division,
        "Fonds-Number": archive.fonds,
    }
    if archive.supplement_of is not None:
        info["Original-Volume"] = archive.supplement_of.original_volume
    info["BagIt-Profile-Identifier"] = profile_identifier(archive.package_type.value)
    info["Bagging-Date"] = bagging_date.isoformat()
    info["Bag-Software-Agent"] = SOFTWARE
    return info


def metadata_errors(xml: bytes) -> list[Text]:
    """The errors validation would report for ``xml`` (XSD, Schematron, domain rules), as ``CODE: message``
    in any language.

    RUL003 (division not in the tree) is left to ingest: it depends on the receiving repository's tree.
    """
    result = validate_descriptive(xml)
    return [Text.of("build.issue", code=i.code, issue=i)
            for i in result.issues if i.severity is Severity.ERROR and i.code != "RUL003"]


def write_sip(
    archive: Archive,
    payload: Mapping[str, Path | bytes],
    out: Path,
    *,
    source_organization: str,
    algorithms: Sequence[str] = ("sha512",),
    bagging_date: date,
    xml: bytes | None = None,
    bag_info: Mapping[str, str] | None = None,
) -> Path:
    """Write the bag for ``archive`` at ``out`` atomically.

    ``payload`` maps each bag path (``data/...``) to a source file (copied) or to bytes. ``xml`` overrides
    the descriptive XML (default ``descriptive.to_xml(archive)``); ``bag_info`` overrides derived tags.
    No check is made here that the payload matches the items: :func:`build_sip` does that.
    """
    out = Path(out)
    if out.exists() or out.is_symlink():
        raise _refuse("BUILD-EXISTS", "build.exists", out=str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.{secrets.token_hex(4)}.building"
    staging.mkdir()  # not mkdtemp: the finished bag gets the caller's usual permissions, not 0700
    try:
        for bag_path, source in sorted(payload.items()):
            target = staging / bag_path
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(source, bytes):
                target.write_bytes(source)
            else:
                shutil.copyfile(source, target)
        (staging / "metadata").mkdir(exist_ok=True)
        (staging / DESCRIPTIVE_PATH).write_bytes(xml if xml is not None else descriptive.to_xml(archive))
        info = bag_info_for(archive, source_organization=source_organization, bagging_date=bagging_date)
        info.update(bag_info or {})
        write_bag(staging, info, algorithms=tuple(algorithms))
        os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def load_metadata(metadata: Path) -> Converted:
    """Read descriptive XML, a JSON export or a CSV export (BUILD-METADATA if it cannot be converted).

    Returns the archive and, per bag path, the document it is copied from (relative to the documents folder).
    """
    try:
        raw = Path(metadata).read_bytes()
    except OSError as exc:
        raise _refuse("BUILD-METADATA", "build.metadata_unreadable", metadata=str(metadata), detail=exc.strerror) from None
    head = raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    try:
        if head == b"<":
            return _from_xml(raw)
        text = _decode(raw, metadata)
        if head in (b"{", b"["):
            return archive_from_json(text)
        return archive_from_csv(text)
    except ExportError as exc:
        raise _refuse("BUILD-METADATA", "build.metadata_invalid", metadata=str(metadata), detail=exc.args[0]) from None


def _from_xml(raw: bytes) -> Converted:
    result = validate_descriptive(raw)
    if result.archive is None:
        detail = tuple(Text.of("build.issue", code=i.code, issue=i)
                       for i in result.issues[:3])
        raise ExportError(Text.of("export.xml_unreadable", detail=detail))
    archive = result.archive
    return Converted(archive, {p: p.removeprefix("data/") for p in archive.files()})


def _decode(raw: bytes, path: Path) -> str:
    for encoding in ("utf-8-sig", "gb18030"):  # exports from Chinese systems are often GB18030 (GBK)
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ExportError(Text.of("export.encoding", path=str(path)))


def _source_of(documents: Path, bag_path: str, given: str) -> Path:
    """The document for ``bag_path``: ``documents/<given>``, ``documents/<bag path>`` or ``documents/<file name>``."""
    bag, rel = PurePosixPath(bag_path), PurePosixPath(given)
    for path in (bag, rel):
        if path.is_absolute() or ".." in path.parts or not path.parts:
            raise _refuse("BUILD-DOCUMENT", "build.path_not_relative", path=repr(str(path)))
    if bag.parts[0] != "data" or len(bag.parts) < 2:
        raise _refuse("BUILD-DOCUMENT", "build.path_outside_data", path=repr(bag_path))
    candidates = (documents.joinpath(*rel.parts), documents.joinpath(*bag.parts), documents / bag.name)
    for candidate in candidates:
        if candidate.is_file() and not candidate.is_symlink():
            return candidate
    raise _Missing(Text.of("build.document_missing", document=str(candidates[0]), path=bag_path))


class _Missing(Exception):
    """A document the metadata names is not in the folder (gathered: every one is reported)."""


def _in_folder(documents: Path) -> set[Path]:
    """Every file under ``documents`` (hidden files and folders left out), walked without recursion."""
    found: set[Path] = set()
    for folder, dirs, files in os.walk(documents):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.update(Path(folder, f) for f in files if not f.startswith("."))
    return found


def _payload(documents: Path, archive: Archive, sources: Mapping[str, str]) -> dict[str, Path | bytes]:
    """Each bag path's document; BUILD-DOCUMENT naming every described document that is missing and every
    document in the folder that the metadata does not describe."""
    payload: dict[str, Path | bytes] = {}
    problems: list[Text] = []
    for bag_path in archive.files():
        try:
            payload[bag_path] = _source_of(documents, bag_path, sources.get(bag_path, bag_path))
        except _Missing as exc:
            problems.append(exc.args[0])
    used = {Path(p) for p in payload.values() if isinstance(p, Path)}
    problems += [Text.of("build.document_undescribed", document=str(p.relative_to(documents)))
                 for p in sorted(_in_folder(documents) - used)]
    if problems:
        raise _refuse("BUILD-DOCUMENT", "build.documents_mismatch", documents=str(documents),
                      problems=tuple(problems))
    return payload


def build_sip(
    documents: Path,
    metadata: Path,
    out: Path,
    *,
    source_organization: str,
    algorithms: Sequence[str] = ("sha512",),
    bagging_date: date | None = None,
) -> Path:
    """Build a SIP at ``out`` from ``documents`` (a folder) and ``metadata`` (XML, JSON or CSV); return ``out``.

    ``bagging_date`` defaults to today. Raises :class:`IngestError` (BUILD-EXISTS, BUILD-DOCUMENT,
    BUILD-METADATA) and writes nothing when the SIP cannot be built.
    """
    out, documents = Path(out), Path(documents)
    if out.exists() or out.is_symlink():
        raise _refuse("BUILD-EXISTS", "build.exists", out=str(out))
    if not documents.is_dir():
        raise _refuse("BUILD-DOCUMENT", "build.documents_not_folder", documents=str(documents))
    converted = load_metadata(metadata)
    archive = converted.archive
    try:
        xml = descriptive.to_xml(archive)
    except ValueError as exc:  # lxml refuses text XML cannot hold; the export reader names the field first
        raise _refuse("BUILD-METADATA", "build.not_xml", metadata=str(metadata), detail=str(exc)) from None
    errors = metadata_errors(xml)
    if errors:
        raise _refuse("BUILD-METADATA", "build.would_not_validate", metadata=str(metadata), detail=tuple(errors))
    payload = _payload(documents, archive, converted.sources)
    return write_sip(archive, payload, out, source_organization=source_organization, algorithms=algorithms,
                     bagging_date=bagging_date or date.today(), xml=xml)
