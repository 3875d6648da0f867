"""The OCR text of an archive's scanned pages as a signed-in user may read it, and starting an OCR job.

The text is a document's content: shown only to those who may open the archive's documents
(:func:`.access.may_open_documents`), masked for those who never see personal data as search highlights are
(:func:`repository.services.people.masked`): resident ID numbers, phone numbers, what a form labels as a name or
an income, and the names of the archive's people (its own and its linked archives'), labelled or not;
and every file shown is a use in the access register. Starting a job is an archivist's (or an
administrator's) act, the same right as ingest; ``hsar worker`` runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ... import filerefs
from ...home import Repository
from ...jobs import Job, JobQueue
from ...services.ocr import archive_ocr
from ...services.people import masked_with, people
from . import access, accounts
from .access import Principal
from .archives import Document, PurposeNeeded, Withheld, _visible, register_use


@dataclass(frozen=True)
class OcrFile:
    path: str  # as the user is shown it: masked for a user who does not see personal data
    engine: str
    pages: list[dict[str, object]]  # {"page", "text", "error"}
    paged: bool  # the viewer shows it page by page (a TIFF)
    link: str  # what its viewer's link names it by: its reference (repository.filerefs), or its path


def _pages(found: list, known: list | None) -> list[dict[str, object]]:
    """The pages as shown: with ``known`` (the archive's people, looked up once), masked."""
    return [{"page": p.page, "text": p.text if known is None else masked_with(known, p.text), "error": p.error}
            for p in found]


def ocr_files(repo: Repository, principal: Principal, archive_id: str, purpose: str | None) -> list[OcrFile] | None:
    """Each scanned file's OCR pages; None when the archive is not there for this user;
    :class:`~.archives.Withheld` when the user sees its catalogue entry only."""
    view = _visible(repo, principal, archive_id)
    if view is None:
        return None
    if not access.may_open_documents(principal, view.archive.access.value):
        raise Withheld(archive_id)
    found = archive_ocr(repo, archive_id)
    masked = not access.sees_personal_data(principal)
    if found.pages and purpose is None:
        raise PurposeNeeded(archive_id)  # each file shown is a registered use: ask the purpose first
    known = people(repo, view) if masked else None
    refs = filerefs.refs_of((item.number, item.files) for item in view.archive.items)
    files = []
    for path in sorted(found.pages):
        files.append(OcrFile(path if known is None else masked_with(known, path), found.engines.get(path, ""),
                             _pages(found.pages[path], known), path.lower().endswith((".tif", ".tiff")),
                             refs.get(path) or path))
        accounts.record_use(repo.cfg, principal, "view", archive_id, item=path, purpose=purpose or "",
                            masked=masked)
    return files


def page_text(repo: Repository, principal: Principal, doc: Document, number: int) -> str | None:
    """The OCR text of page ``number`` of a document the user has opened already (the viewer), or None."""
    found = archive_ocr(repo, doc.archive_id).pages.get(doc.path, [])
    page = next((p for p in found if p.page == number and p.text), None)
    if page is None:
        return None
    if access.sees_personal_data(principal):
        return page.text
    return masked_with(people(repo, repo.catalog.show(doc.archive_id)), page.text)


def may_start(principal: Principal) -> bool:
    return access.may(principal, access.Action.INGEST)


def start_job(repo: Repository, principal: Principal, archive_id: str) -> Job | None:
    """Queue an OCR job of one archive (None when the archive is not there for this user)."""
    if _visible(repo, principal, archive_id) is None:
        return None
    with JobQueue(repo.cfg) as queue:
        return queue.submit("ocr", {"archives": [archive_id]}, user=principal.username)


__all__ = ["OcrFile", "may_start", "ocr_files", "page_text", "register_use", "start_job"]
