"""One archive as a signed-in user may see it, and its documents (interim adapter over the catalogue and
the OCFL store, until ``repository.services`` offers ``show`` and document access).

Every answer asks :mod:`.access` first: an archive outside the user's division scope is ``None`` (the
page says 404, never 403, so its existence is not disclosed); researchers get personal data masked and the
documents of ``restricted`` archives withheld. A linked archive (房户对接) outside the scope is not named in
the page nor in the API's answer, which are the same data (:func:`repository.access.linked_in_scope`).
"""

from __future__ import annotations

import io
import mimetypes
import os
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ... import filerefs, messages
from ...divisions import tree_for
from ...errors import HsarError
from ...formats.research_copies import RETRY_SECONDS
from ...home import Repository
from ...preservation.ids import object_id
from ...privacy import mask_free_text
from ...services import people
from ...services.research import (
    CopyGone,
    RedactError,
    ScanCopyError,
    copy_kind,
    pending_copy,
    research_copy,
)
from . import access, accounts, scans
from .access import Principal

_PERSONAL = ("household", "unit", "relations", "supplement_of")

#: how a document is shown in the page, by file suffix
VIEWERS = {".pdf": "pdf", ".jpg": "image", ".jpeg": "image", ".png": "image", ".tif": "tiff", ".tiff": "tiff"}
#: how a stored file of any other suffix is offered: for download only
DOWNLOAD = "download"
#: how it is shown to a user who receives researchers' copies (repository.services.research.copy_kind):
#: a PDF's copy in a frame, a scan's masked OCR text only, nothing
COPY_VIEWERS = {"copy": "pdf", "text": "scan", "none": "none"}
#: every value :func:`viewer_of` gives, in a stable order (the API's document lists them: ``files[].viewer``)
ALL_VIEWERS = tuple(dict.fromkeys([*VIEWERS.values(), DOWNLOAD, *COPY_VIEWERS.values()]))


def viewer_of(path: str, originals: bool) -> str:
    """How the document ``path`` is shown: pdf, image, tiff or download (originals); pdf, scan or none (copies)."""
    if not originals:
        return COPY_VIEWERS[copy_kind(path)]
    return VIEWERS.get(os.path.splitext(path)[1].lower(), DOWNLOAD)


@dataclass(frozen=True)  # (cached_property writes to __dict__, which frozen allows)
class ArchivePage:
    """What the archive page shows: the plain (JSON-ready, masked when required) view and verdicts."""

    data: dict[str, Any]
    division_name: str
    may_open: bool
    last_audit: Any  # datetime | None
    signature: dict[str, Any] | None  # the newest signature event
    checks: dict[str, Any] | None  # the four-property report of the head version
    view: str  # full, masked or entry (repository.access.View)

    @property
    def copies(self) -> bool:
        """Whether the user receives researchers' copies of the documents rather than the stored files."""
        return self.view != "full"

    @cached_property
    def files_by_ref(self) -> dict[str, dict[str, Any]]:
        """Each file of an item, by its reference (:mod:`repository.filerefs`)."""
        return {f["ref"]: f for f in self.data["files"] if f.get("ref")}

    @cached_property
    def added(self) -> dict[str, list[int]]:
        """Each version -> the item numbers (件号) it added, ascending: what the version timeline says each
        supplement brought."""
        out: dict[str, list[int]] = {}
        for group in self.data["items_by_class"]:
            for item in group["items"]:
                out.setdefault(item.get("version_added") or "", []).append(item["number"])
        return {v: sorted(numbers) for v, numbers in out.items()}

    @cached_property
    def documents(self) -> dict[str, tuple[str, dict[str, Any] | None, str]]:
        """Each item file's reference -> (its name as the user is shown it, its file of the head version or None,
        the reference URL-quoted as Jinja's ``urlencode`` filter quotes it): what the page's item rows show, worked
        out once per page. The links name documents by reference, never by stored path: a path shown masked (a
        person's name in a file name) would lead nowhere."""
        files = self.files_by_ref
        out = {}
        for group in self.data["items_by_class"]:
            for item in group["items"]:
                for place, path in enumerate(item["files"], start=1):
                    ref = filerefs.ref(item["number"], place)
                    out[ref] = (path.rsplit("/", 1)[-1], files.get(ref), quote(ref, safe="/"))
        return out


@dataclass(frozen=True)
class Document:
    archive_id: str
    path: str  # logical path in the archive, 'data/...'
    file: Path  # where its bytes are (a researcher's copy: cache/research/...; a scan's: never sent, see sendable)
    media_type: str
    viewer: str  # pdf, image, tiff or download; for researchers' copies pdf, scan or scan-copy (viewer_of)
    copy: bool = False  # a researcher's copy (利用件), not the stored file
    review: str = ""  # a scan for a researcher: none (no proposal yet), pending, approved or rejected (dip.scans)
    pages: tuple[Path, ...] = ()  # a scan's approved copy (viewer scan-copy): its page images
    ref: str | None = None  # its reference (repository.filerefs); None for a file of no item
    shown: str = ""  # its path as the user is shown it: masked for a user who does not see personal data

    @property
    def sendable(self) -> bool:
        """Whether its bytes may be sent: not a scan shown to a researcher as its OCR text only."""
        return self.viewer != "scan"

    @property
    def link(self) -> str:
        """What its links name it by: its reference, or its stored path when it has none."""
        return self.ref or self.path

    @property
    def name(self) -> str:
        """Its file name as the user is shown it."""
        return (self.shown or self.path).rsplit("/", 1)[-1]

    def download_name(self, lang: str) -> str:
        """The name it is downloaded under: the stored file's; a researcher's copy's says it is one, in ``lang``
        (``…-利用件.pdf``, ``…-research-copy.pdf``), with the people's names and any identity or phone number in
        the stored name masked (a researcher never receives one, not even in a file name)."""
        if not self.copy:
            return self.name
        return f"{mask_free_text(self.name.rsplit('.', 1)[0])}-{messages.text('research.copy_suffix', lang)}.pdf"


def _visible(repo: Repository, principal: Principal, archive_id: str) -> Any:  # noqa: ANN401 - ArchiveView
    view = repo.catalog.show(archive_id)
    if view is None or not access.may_see(principal, view.archive.division):
        return None
    return view


class PurposeNeeded(Exception):
    """The use would go into the access register and no purpose of use (利用目的) was given."""


def archive_page(repo: Repository, principal: Principal, archive_id: str,
                 purpose: str | None) -> ArchivePage | None:
    """The archive as ``principal`` may see it; None when it does not exist or lies outside the scope.
    A full (unmasked) record is a use that goes into the access register, for ``purpose``
    (:class:`PurposeNeeded` when that is None; nothing is shown or recorded).

    Read in its plain form with the newest audit and the linked archives' divisions, in one transaction
    (``Catalog.show_plain``): the typed view is read as well only when the record is masked (its people)."""
    found = repo.catalog.show_plain(archive_id)
    if found is None:
        return None
    data = found.data
    division, access_value = data["description"]["division"], data["description"]["access"]
    if not access.may_see(principal, division):
        return None
    shown = access.view_of(principal, access_value)
    checks = data["versions"][-1]["checks"] if data["versions"] else None  # the head's four-property report
    refs = filerefs.refs_of((item["number"], item["files"]) for group in data["items_by_class"]
                            for item in group["items"])
    for f in data["files"]:  # (before any masking: a masked path may not say which file it was)
        f["ref"] = refs.get(f["path"])
    if shown is not access.View.FULL:  # every name of its people, linked households' too (tenants, buyers)
        view = _visible(repo, principal, archive_id)
        if view is None:  # gone (or moved out of scope) since: as if never there
            return None
        data = people.masked(repo, view, data)
    if shown is access.View.ENTRY:  # the catalogue entry: description, paper references, item list
        data["description"] = {k: v for k, v in data["description"].items() if k not in _PERSONAL}
        data.update(files=[], events=[], relations=[])
    if access.must_register(shown, documents=False):
        if purpose is None:
            raise PurposeNeeded(archive_id)
        accounts.record_use(repo.cfg, principal, "view", archive_id, purpose=purpose)
    originals = access.receives_originals(principal)
    for f in data["files"]:
        f["viewer"] = viewer_of(f["path"], originals)
    data = access.linked_in_scope(principal, data, found.divisions)  # nothing of a linked archive out of scope
    signature = next((e for e in reversed(data["events"]) if "signature" in e["type"]), None)
    may_open = access.may_open_documents(principal, access_value)
    return ArchivePage(data, tree_for(repo.cfg).path_name(division), may_open,
                       found.last_audit[0] if found.last_audit else None, signature, checks, shown.value)


class Withheld(Exception):
    """The user may see the archive but not open its documents (a researcher and a restricted archive)."""


class NoCopy(Exception):
    """A user who receives researchers' copies asked for a document that has none: a format without one
    (``none``: OFD, XML …) or a PDF or approved scan that cannot be made into one (``failed``, with the error, or
    the error naming the job that failed to make it, not tried again yet)."""

    def __init__(self, archive_id: str, kind: str, error: HsarError | None = None) -> None:
        super().__init__(archive_id, kind)
        self.kind, self.error = kind, error


class CopyPending(Exception):
    """A researcher's copy not made yet and too long to make in the request (a PDF of more than
    ``web.research_inline_pages`` pages, or of a count not known; an approved scan of more than
    ``web.research_inline_scan_pages``): the job ``job_id`` makes it; ask again once it has finished. ``path`` is
    the document's path as the user is shown it (masked)."""

    def __init__(self, archive_id: str, path: str, job_id: str, pages: int | None) -> None:
        super().__init__(archive_id, path, job_id)
        self.archive_id, self.path, self.job_id, self.pages = archive_id, path, job_id, pages


def _copy_job(repo: Repository, principal: Principal, view: Any, path: str, kind: str,  # noqa: ANN401
              copy: str) -> str:
    """The id of the job (``research-copy``, ``scan-copy``) making the copy named ``copy`` for ``principal`` (theirs,
    so its page and progress are theirs to read): one per user and copy, however often the page is asked for; a new one when the earlier one's copy
    is gone again (a cache emptied). A job that failed stands for :data:`RETRY_SECONDS` after it failed (as the
    cache lets a crashed copy stand, :class:`~repository.formats.research_copies.ResearchCopies`): :class:`NoCopy`
    naming it, not a job queued again on every reload; after that, it is queued once more. The job names the
    document by its reference (:mod:`repository.filerefs`): the job is the user's to read, and its path may hold a
    name they are shown masked."""
    from ...jobs import JobQueue

    archive_id = view.identifier
    ref = filerefs.refs_of((item.number, item.files) for item in view.archive.items).get(path)
    params = {"archives": [archive_id], "path": ref or path}
    with JobQueue(repo.cfg) as queue:
        key, job = queue.records.chained(scans.copy_job_key(kind, principal.username, copy))  # (done: made, gone since)
        if job is not None and job.failed_within(RETRY_SECONDS):
            failed = HsarError(msgid="research.copy_job_failed", code="WEB-COPY-JOB", job=job.id,
                               error=job.error_code or "", minutes=RETRY_SECONDS // 60)
            raise NoCopy(archive_id, "failed", failed)
        job = queue.submit(kind, params, user=principal.username, dedupe_key=key)
    return job.id


def document(repo: Repository, principal: Principal, archive_id: str, path: str) -> Document | None:
    """A payload file of the head version, named by its reference (:mod:`repository.filerefs`) or its stored path;
    None when the archive or file is not there for this user (a user who does not see personal data names a file
    by its path only when the path holds nothing masked: a masked name was all they were shown, and a path
    guessed would tell them whose name it holds); :class:`Withheld` when the user sees the catalogue entry only.
    A user who does not receive originals (:func:`.access.receives_originals`: researchers) gets a PDF's
    researcher's copy, made now unless kept (:class:`CopyPending` when it is too long to make now: a job makes
    it), and a scan as its copy approved by an archivist (:func:`_scan`), or until then as a document that is not
    :attr:`~Document.sendable` (its viewer shows the masked OCR text); :class:`NoCopy` for anything else."""
    view = _visible(repo, principal, archive_id)
    if view is None:
        return None
    items = [(item.number, item.files) for item in view.archive.items]
    stored_path = filerefs.resolve(items, path) if filerefs.is_ref(path) else path
    if stored_path is None or stored_path not in {f.path for f in view.files}:
        return None
    ref = filerefs.refs_of(items).get(stored_path)
    originals = access.receives_originals(principal)
    known = None if originals else people.people(repo, view)  # the names copies and names shown are masked with
    shown = stored_path if known is None else people.masked_with(known, stored_path)
    if shown != stored_path and not filerefs.is_ref(path):  # (asked before Withheld: its 403 would tell as well)
        return None
    if not access.may_open_documents(principal, view.archive.access.value):
        raise Withheld(archive_id)
    stored = repo.store.content_path(object_id(archive_id), stored_path)
    if known is not None:
        try:
            found = _copy(repo, principal, view, stored_path, stored, known, shown)
        except CopyGone:  # disposed of while its copy was made: gone, as if never there
            return None
        return replace(found, ref=ref, shown=shown)
    suffix = Path(stored_path).suffix.lower()
    media = mimetypes.guess_type(stored_path)[0] or ("application/ofd" if suffix == ".ofd" else "application/octet-stream")
    return Document(archive_id, stored_path, stored, media, viewer_of(stored_path, True), ref=ref, shown=stored_path)


def _copy(repo: Repository, principal: Principal, view: Any, path: str, stored: Path,  # noqa: ANN401
          known: list[Any], shown: str) -> Document:
    """What a user who does not receive originals gets of ``path`` (see :func:`document`), masked with the
    archive's people ``known`` (``shown``: the path masked with them)."""
    archive_id, kind = view.identifier, copy_kind(path)
    if kind == "text":
        return _scan(repo, principal, view, path, stored, known, shown)
    if kind != "copy":
        raise NoCopy(archive_id, kind)
    try:
        pending = pending_copy(repo, view, path, inline_pages=int(repo.cfg["web.research_inline_pages"]),
                               known=known)
        if pending is not None:  # too long to make in a request: a job makes it, the page waits for the job
            job_id = _copy_job(repo, principal, view, path, "research-copy", pending.key)
            raise CopyPending(archive_id, shown, job_id, pending.pages)
        return Document(archive_id, path, research_copy(repo, view, path, known=known), "application/pdf", "pdf",
                        copy=True)
    except RedactError as exc:
        raise NoCopy(archive_id, "failed", exc) from None


def _scan(repo: Repository, principal: Principal, view: Any, path: str, stored: Path,  # noqa: ANN401
          known: list[Any], shown: str) -> Document:
    """A scan for a researcher: its approved copy (page images and their PDF: made now unless kept, or by a job when
    longer than ``web.research_inline_scan_pages`` pages, :class:`CopyPending`), or, until a copy is approved (or
    when it was rejected), a document that is not sendable (its viewer shows the masked OCR text), the proposal job
    queued when there is none yet (:mod:`.scans`)."""
    found = scans.scan_state(repo, view, path, known)
    if found.state == "approved" and found.review is not None:
        made = scans.kept(repo, found.review)
        if made is None and found.review.pages > int(repo.cfg["web.research_inline_scan_pages"]):
            job_id = _copy_job(repo, principal, view, path, "scan-copy", scans.copy_name(found.review))
            raise CopyPending(view.identifier, shown, job_id, found.review.pages)
        try:
            made = made or scans.approved(repo, found.review)
        except ScanCopyError as exc:
            raise NoCopy(view.identifier, "failed", exc) from None
        return Document(view.identifier, path, made.pdf, "application/pdf", "scan-copy", copy=True,
                        review="approved", pages=made.pages)
    state = found.state if found.state in ("pending", "rejected") else "none"
    if state == "none":
        try:
            scans.queue_proposal(repo, principal, found)
        except HsarError:  # a queue that cannot be reached (JOB-QUEUE): the text is shown, the next view asks again
            pass
    return Document(view.identifier, path, stored, "application/octet-stream", "scan", review=state)


def register_use(repo: Repository, principal: Principal, doc: Document, action: str, purpose: str) -> None:
    """One access-register entry for a view or download of ``doc`` (``masked``: as a user without
    personal data, i.e. a researcher or an auditor, used it)."""
    accounts.record_use(repo.cfg, principal, action, doc.archive_id, item=doc.path, purpose=purpose,
                        masked=not access.sees_personal_data(principal))


def tiff_pages(doc: Document) -> int:
    from PIL import Image

    with Image.open(doc.file) as img:
        return int(getattr(img, "n_frames", 1))


def tiff_page_png(doc: Document, page: int) -> bytes | None:
    """Page ``page`` (1-based) of a TIFF as PNG bytes; None when there is no such page."""
    from PIL import Image

    with Image.open(doc.file) as img:
        if not 1 <= page <= getattr(img, "n_frames", 1):
            return None
        img.seek(page - 1)
        out = io.BytesIO()
        img.convert("RGB" if img.mode not in ("1", "L", "RGB") else img.mode).save(out, "PNG")
        return out.getvalue()
