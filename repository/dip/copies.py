"""An access copy (利用副本, OAIS DIP) for a researcher: one zip with the chosen documents in
readable form, the description (masked when asked, always for those who may not see personal data) and a
README naming the contents and the purpose of use (利用目的). Every copy is one entry in the access register.

Safety and reproducibility: every name inside the zip is made here (``documents/0003-01.pdf``), never taken
from user input or from the stored path; entries are written in a fixed order with a fixed time stamp
(1980-01-01) and PDFs made from TIFF pages carry a fixed creation date, so two copies of the same
selection differ only in the README's line saying when and for whom the copy was made. The zip is
streamed to a binary file object; :func:`access_copy_to` writes a file through a temporary name. A stored
document goes into the zip from its file, read in blocks (hashed once, then copied), never whole in memory: a
copy of an archive of large scans costs no more memory than a small one. The web makes copies as jobs
(``access-copy``, :func:`repository.jobs.tasks.run_access_copy`): :func:`check_request` refuses a bad request
before a job is queued, and ``progress`` reports each document done.

Who may have a copy of what is decided by :mod:`repository.access`: an archive outside the user's scope is
"not found"; documents the user may not open (a researcher and a restricted archive) are refused. A masked copy
(always a researcher's) holds researchers' copies of the documents (:mod:`.research`): each PDF's pages painted
over, and each scan whose copy an archivist approved (:mod:`.scans`) as a PDF of its pages painted as approved;
scans not approved (yet) and other formats are left out, and the README names them and why; the job making a
researcher's copy asks for the review of the scans it leaves out that have no proposal yet (``ask_review``: their
``scan-proposal`` jobs queued), and the README says so.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from .. import access, messages
from ..accounts.register import record_use
from ..catalog.views import ArchiveView
from ..errors import AccessCopyError, HsarError
from ..formats.pages import TIFF_SUFFIXES
from ..home import Repository
from ..preservation.ids import object_id
from ..state.db import open_state
from .people import masked as masked_for_researchers
from .people import masked_with, people
from .research import RedactError, copy_kind, research_copy
from .scans import ScanCopyError, ScanState, approved_copy, scan_state

#: called with (documents done, documents in all) while a copy is made
Progress = Callable[[int, int], None]
#: called with the scans a masked copy leaves out for want of an approved copy: asks for their review (queues their
#: proposals, :func:`repository.jobs.proposals.proposal_asker`) and gives the paths whose review is asked for
AskReview = Callable[[Sequence[ScanState]], set[str]]

FORMATS = ("pdf", "jpeg")  # what TIFF pages become
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
PDF_TIME = time.gmtime(315532800)  # 1980-01-01, as Pillow writes a PDF date (a struct_time)
MAX_PURPOSE = 500
BLOCK = 1024 * 1024  # a stored document is hashed and copied into the zip this many bytes at a time


@dataclass(frozen=True)
class CopyRequest:
    archive_id: str
    purpose: str  # 利用目的, required
    items: tuple[int, ...] | None = None  # item numbers (件号); None: every item
    mask: bool = False  # masked anyway for a user who may not see personal data
    image_format: str = "pdf"  # TIFF pages as one PDF, or as JPEG images page by page


@dataclass(frozen=True)
class CopyEntry:
    name: str  # the name inside the zip
    item: int | None
    source: str | None  # the stored document it was made from ('data/...')
    size: int
    sha256: str


@dataclass(frozen=True)
class AccessCopy:
    archive_id: str
    masked: bool
    items: tuple[int, ...]
    entries: tuple[CopyEntry, ...]
    register_seq: int  # the access-register entry recording it
    reviews_asked: tuple[str, ...] = ()  # scans left out whose review (their proposal) was asked for

    def to_dict(self) -> dict[str, Any]:
        return {"archive_id": self.archive_id, "masked": self.masked, "items": list(self.items),
                "register_seq": self.register_seq, "entries": [e.__dict__ for e in self.entries],
                "reviews_asked": list(self.reviews_asked)}


def _view(repo: Repository, principal: access.Principal, archive_id: str) -> ArchiveView:
    view = repo.catalog.show(archive_id)
    if view is None or not access.may_see(principal, view.archive.division):
        raise HsarError(msgid="services.not_found", code="NOT-FOUND", archive=archive_id)
    if not access.may_open_documents(principal, view.archive.access.value):
        raise AccessCopyError(msgid="dip.withheld", code="DIP-WITHHELD", archive=archive_id)
    return view


def _check(req: CopyRequest, view: ArchiveView) -> tuple[int, ...]:
    purpose = req.purpose.strip() if isinstance(req.purpose, str) else ""
    if not purpose or len(purpose) > MAX_PURPOSE:
        raise AccessCopyError(msgid="dip.no_purpose", code="DIP-PURPOSE", limit=MAX_PURPOSE)
    if req.image_format not in FORMATS:
        raise AccessCopyError(msgid="dip.bad_format", code="DIP-FORMAT", value=req.image_format,
                              choices=", ".join(FORMATS))
    numbers = tuple(i.number for i in view.archive.items)
    if req.items is None:
        return numbers
    unknown = sorted(set(req.items) - set(numbers))
    if unknown or not req.items:
        raise AccessCopyError(msgid="dip.unknown_items", code="DIP-ITEMS", archive=view.archive.identifier,
                              items=", ".join(map(str, unknown)) or "-")
    return tuple(sorted(set(req.items)))


def _description(repo: Repository, principal: access.Principal, view: ArchiveView, items: Sequence[int],
                 masked: bool) -> bytes:
    """The archive's record as the archive page gives it to ``principal``: a linked archive outside the scope
    not named (:func:`repository.access.linked_in_scope`), no PREMIS events, the files of ``items`` only."""
    divisions = repo.catalog.divisions_of(r.other for r in view.relations)
    data = access.linked_in_scope(principal, view.to_dict(), divisions)
    data.pop("events", None)  # preservation history is not part of an access copy
    data["files"] = [f for f in data["files"] if f.get("item_number") in items]
    if masked:
        data = masked_for_researchers(repo, view, data)
    return (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n").encode("utf-8")


def _tiff(path: Path, fmt: str) -> list[tuple[str, bytes]]:
    """A TIFF's pages as one PDF (``("", bytes)``) or as JPEGs (``("-p001", bytes)`` …)."""
    from PIL import Image, ImageSequence

    with Image.open(path) as img:
        pages = [p.convert("RGB") if p.mode not in ("L", "RGB") else p.copy() for p in ImageSequence.Iterator(img)]
    if fmt == "pdf":
        out = io.BytesIO()
        pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=200.0,
                      creationDate=PDF_TIME, modDate=PDF_TIME)
        return [(".pdf", out.getvalue())]
    found = []
    for n, page in enumerate(pages, start=1):
        out = io.BytesIO()
        page.save(out, "JPEG", quality=85)
        found.append((f"-p{n:03d}.jpg", out.getvalue()))
    return found


@dataclass(frozen=True)
class _Part:
    """One entry of the zip: made in memory (``data``: a TIFF's pages, the description) or a file copied in
    blocks (``path``: a stored document, a researcher's copy)."""

    name: str
    item: int | None
    source: str | None
    data: bytes | None = None
    path: Path | None = None

    def entry(self) -> CopyEntry:
        if self.data is not None:
            return CopyEntry(self.name, self.item, self.source, len(self.data), hashlib.sha256(self.data).hexdigest())
        assert self.path is not None
        digest, size = hashlib.sha256(), 0
        with open(self.path, "rb") as handle:
            while block := handle.read(BLOCK):
                digest.update(block)
                size += len(block)
        return CopyEntry(self.name, self.item, self.source, size, digest.hexdigest())


def _document_count(view: ArchiveView, items: Sequence[int]) -> int:
    return sum(len(item.files) for item in view.archive.items if item.number in items)


def _documents(repo: Repository, view: ArchiveView, items: Sequence[int], fmt: str, copies: bool,
               progress: Progress | None = None) -> tuple[list[_Part], list[tuple[str, str]], list[ScanState]]:
    """The parts of every document of ``items``, readable form; with ``copies`` (a masked copy), researchers'
    copies (:mod:`.research`): a PDF painted over, and every other document left out, named in the second list
    with why (a message key), the scans among them (no approved copy) in the third. ``progress`` is told each
    document done."""
    oid, found, left, scans = object_id(view.archive.identifier), [], [], []
    known = people(repo, view) if copies else None  # the names every copy is masked with, looked up once
    total, done = _document_count(view, items), 0
    for item in view.archive.items:
        if item.number not in items:
            continue
        for k, source in enumerate(item.files, start=1):
            stored = repo.store.content_path(oid, source)
            stem = f"documents/{item.number:04d}-{k:02d}"
            suffix = Path(source).suffix.lower()
            if copies:
                kind = copy_kind(source)
                if kind == "text":  # a scan: its copy once an archivist approved it (.scans)
                    scan, where = _approved_scan(repo, view, source, known or [])
                    if scan is None:
                        left.append((source, "dip.readme.left_review"))
                        scans.append(where)
                    else:
                        found.append(_Part(stem + ".pdf", item.number, source, path=scan))
                elif kind != "copy":
                    left.append((source, f"dip.readme.left_{kind}"))
                else:
                    try:
                        copy = research_copy(repo, view, source, known=known)
                        found.append(_Part(stem + ".pdf", item.number, source, path=copy))
                    except RedactError:
                        left.append((source, "dip.readme.left_failed"))
            elif suffix in TIFF_SUFFIXES:
                found += [_Part(stem + tail, item.number, source, data=data) for tail, data in _tiff(stored, fmt)]
            else:
                safe = suffix if suffix[1:].isalnum() and len(suffix) <= 6 else ".bin"
                found.append(_Part(stem + safe, item.number, source, path=stored))
            done += 1
            if progress is not None:
                progress(done, total)
    return found, left, scans


def _approved_scan(repo: Repository, view: ArchiveView, source: str,
                   known: list[Any]) -> tuple[Path | None, ScanState]:
    """The PDF of the approved researcher's copy of the scan ``source`` (:mod:`.scans`), or None (none approved
    under the archive's names as they are now, or one that cannot be painted); and where the scan stands."""
    with open_state(repo.cfg.state_url) as state:
        found = scan_state(repo, state, view, source, known=known)
    if found.review is None or found.state != "approved":
        return None, found
    try:
        return approved_copy(repo, found.review).pdf, found
    except ScanCopyError:
        return None, found


def _ask_review(ask: AskReview | None, scans: list[ScanState],
                left: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], tuple[str, ...]]:
    """``left`` with the scans whose review ``ask`` asked for said so (``dip.readme.left_asked``), and their paths."""
    asked = ask(scans) if ask is not None and scans else set()
    return [(source, "dip.readme.left_asked" if source in asked else why) for source, why in left], \
        tuple(sorted(asked))


def _paths_masked(known: list[Any], entries: tuple[CopyEntry, ...], left: list[tuple[str, str]],
                  asked: tuple[str, ...]) -> tuple[tuple[CopyEntry, ...], list[tuple[str, str]], tuple[str, ...]]:
    """The stored paths a masked copy names (its entries' sources, what it leaves out, the scans whose review it
    asked for) masked with the archive's people ``known``."""
    def mask(path: str) -> str:
        return str(masked_with(known, path))

    return (tuple(replace(e, source=mask(e.source)) if e.source else e for e in entries),
            [(mask(source), why) for source, why in left], tuple(mask(path) for path in asked))


def _readme(view: ArchiveView, title: str, principal: access.Principal, req: CopyRequest, masked: bool,
            entries: Sequence[CopyEntry], left: Sequence[tuple[str, str]], when: datetime, lang: str) -> bytes:
    def line(key: str, **params: object) -> str:
        return messages.text(key, lang, **params)

    a = view.archive
    lines = [line("dip.readme.heading"), "",
             line("dip.readme.archive", archive=a.identifier, title=title, reference=a.reference_code),
             line("dip.readme.purpose", purpose=req.purpose.strip()),
             line("dip.readme.made", user=principal.username, when=when.astimezone(messages.LOCAL_ZONE).isoformat(timespec="seconds")),
             line("dip.readme.masked" if masked else "dip.readme.unmasked")]
    if masked and any(e.source and copy_kind(e.source) == "text" for e in entries):
        lines.append(line("dip.readme.scans"))  # scans' copies, painted as an archivist approved
    lines += ["", line("dip.readme.contents")]
    for e in entries:
        origin = f" <- {e.source}" if e.source else ""
        lines.append(f"  {e.name}  {e.size}  sha256:{e.sha256}{origin}")
    if left:
        lines += ["", line("dip.readme.left")]
        lines += [f"  {source}  ({line(why)})" for source, why in left]
    lines += ["", line("dip.readme.use")]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _add(zf: zipfile.ZipFile, part: _Part) -> None:
    if part.data is not None:
        zf.writestr(_info(part.name), part.data)
        return
    assert part.path is not None
    with open(part.path, "rb") as source, zf.open(_info(part.name), "w", force_zip64=True) as target:
        while block := source.read(BLOCK):
            target.write(block)


def check_request(repo: Repository, principal: access.Principal,
                  req: CopyRequest) -> tuple[ArchiveView, tuple[int, ...]]:
    """The archive ``req`` asks ``principal`` a copy of and the item numbers it asks for, or the refusal
    :func:`write_access_copy` would give (HsarError NOT-FOUND, AccessCopyError): asked before a copy is queued
    as a job."""
    view = _view(repo, principal, req.archive_id)
    return view, _check(req, view)


def write_access_copy(repo: Repository, principal: access.Principal, req: CopyRequest, stream: IO[bytes], *,
                      lang: str = "zh", at: datetime | None = None, progress: Progress | None = None,
                      ask_review: AskReview | None = None) -> AccessCopy:
    """Write the zip for ``req`` to ``stream`` and record it in the access register (action ``export``);
    ``ask_review`` is called with the scans a masked copy leaves out (no approved copy), and the README says which
    of them had their review asked for."""
    view = _view(repo, principal, req.archive_id)
    items = _check(req, view)
    masked = req.mask or not access.sees_personal_data(principal)
    when = at or datetime.now(UTC)
    description = _description(repo, principal, view, items, masked)
    parts, left, scans = _documents(repo, view, items, req.image_format, masked, progress)
    left, asked = _ask_review(ask_review, scans, left)
    parts.append(_Part("description.json", None, None, data=description))
    entries = tuple(part.entry() for part in parts)
    if masked:  # the stored paths it names, masked as the archive page shows them: a file name may hold a name
        entries, left, asked = _paths_masked(people(repo, view), entries, left, asked)
    title = masked_for_researchers(repo, view, view.archive.title) if masked else view.archive.title
    readme = _readme(view, title, principal, req, masked, entries, left, when, lang)
    with zipfile.ZipFile(stream, "w", allowZip64=True) as zf:
        _add(zf, _Part("README.txt", None, None, data=readme))
        for part in parts:
            _add(zf, part)
    chosen = None if req.items is None else ",".join(map(str, items))
    with open_state(repo.cfg.state_url) as state:
        entry = record_use(state, principal, "export", view.archive.identifier, req.purpose, item=chosen,
                           masked=masked, at=when)
    return AccessCopy(view.archive.identifier, masked, items, entries, entry.seq, asked)


def access_copy_to(repo: Repository, principal: access.Principal, req: CopyRequest, out: Path, *,
                   lang: str = "zh", progress: Progress | None = None,
                   ask_review: AskReview | None = None) -> AccessCopy:
    """:func:`write_access_copy` into the file ``out`` (which must not exist), through a temporary name."""
    if out.exists():
        raise AccessCopyError(msgid="dip.exists", code="DIP-EXISTS", path=out)
    if not out.parent.is_dir():
        raise AccessCopyError(msgid="dip.no_folder", code="DIP-FOLDER", path=out.parent)
    partial = out.with_name(f".{out.name}.partial")
    try:
        with open(partial, "wb") as handle:
            made = write_access_copy(repo, principal, req, handle, lang=lang, progress=progress,
                                     ask_review=ask_review)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return made
