"""Jobs that leave files to download, as the web application sees them: export jobs (移交; the access decision of
:func:`repository.services.transfer.check_export`) and access-copy jobs (利用副本; the refusals of
:func:`repository.services.access_copy.check_request`, asked before a job is queued). Submitting one for an
archive, finding the files a finished one offers, and recording each download in the access register."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

from ... import messages
from ...errors import HsarError
from ...home import Repository
from ...jobs import Job, JobQueue
from ...jobs.exports import OUTPUT_KINDS
from ...services.access_copy import CopyRequest, check_request
from ...services.transfer import check_export
from . import access
from .access import Principal, Role
from .accounts import record_use
from .jobs import job_for


def submit_export(repo: Repository, principal: Principal, archive_id: str) -> Job | None:
    """The export job of ``archive_id``, or None when the archive is not visible to ``principal`` (a 404);
    HsarError FORBIDDEN for a role that may not export."""
    try:
        ids = check_export(repo, principal, [archive_id])
    except HsarError as exc:
        if exc.code == "NOT-FOUND":
            return None
        raise
    params = {"archives": ids, "user": principal.username, "role": Role(principal.role).value,
              "division": principal.division}
    with JobQueue(repo.cfg) as queue:
        return queue.submit("export", params, user=principal.username)


def archive_visible(repo: Repository, principal: Principal, archive_id: str) -> bool:
    """Whether ``archive_id`` is a catalogued archive in ``principal``'s scope (else a 404, before anything else is
    looked at)."""
    view = repo.catalog.show(archive_id)
    return view is not None and access.may_see(principal, view.archive.division)


def submit_access_copy(repo: Repository, principal: Principal, req: CopyRequest, lang: str) -> Job | None:
    """The access-copy job of ``req`` for ``principal``, or None when the archive is not visible to them (a 404);
    AccessCopyError for a request the copy would refuse (no purpose, unknown items, a restricted archive), with
    nothing queued. The same request again on the same day (a reload, a second click), while the archive has no
    new version, is the same job: its copy, not a second one."""
    try:
        view, items = check_request(repo, principal, req)
    except HsarError as exc:
        if exc.code == "NOT-FOUND":
            return None
        raise
    params = {"archives": [view.archive.identifier], "purpose": req.purpose.strip(),
              "items": None if req.items is None else list(items), "mask": req.mask, "format": req.image_format,
              "lang": lang}
    day = datetime.now(messages.LOCAL_ZONE).date().isoformat()
    same = json.dumps([principal.username, view.head_version, day, params], ensure_ascii=False, sort_keys=True)
    with JobQueue(repo.cfg) as queue:
        return queue.submit("access-copy", params, user=principal.username,
                            dedupe_key="access-copy:" + hashlib.sha256(same.encode("utf-8")).hexdigest())


def _still_usable(repo: Repository, principal: Principal, job: Job) -> bool:
    """An access copy is given only while its archive is in ``principal``'s scope and its documents theirs to
    open (the account's scope may have shrunk, the archive may have been disposed of or restricted since)."""
    if job.kind != "access-copy":
        return True
    view = repo.catalog.show(str(job.params.get("archives", [""])[0]))
    return (view is not None and access.may_see(principal, view.archive.division)
            and access.may_open_documents(principal, view.archive.access.value))


def export_files(repo: Repository, principal: Principal, job_id: str) -> list[str]:
    """The downloads of a finished export or access-copy job ``principal`` may see (theirs, or any for an
    administrator): one zip per package, then the transfer list (XML, CSV), or the access copy's zip, while
    they are kept; empty otherwise."""
    job = job_for(repo.cfg, principal, job_id)
    if job is None or job.kind not in OUTPUT_KINDS or job.state != "done" or not isinstance(job.result, dict) \
            or not _still_usable(repo, principal, job):
        return []
    folder = repo.paths.exports / job.id  # gone after transfer.keep_exports_days (repository/jobs/exports.py)
    return [str(n) for n in job.result.get("files", []) if (folder / str(n)).is_file()]


def export_file(repo: Repository, principal: Principal, job_id: str, name: str) -> Path | None:
    """A file of :func:`export_files` (None when there is none for ``principal``); its download is recorded
    with :func:`record_export_download` once it is sent."""
    if name not in export_files(repo, principal, job_id):
        return None
    path = repo.paths.exports / job_id / name
    return path if path.is_file() else None


def record_export_download(repo: Repository, principal: Principal, job_id: str, name: str) -> None:
    """One download of an export file, recorded in the access register for each archive of the job; of an
    access copy, with the purpose it was asked for and whether it was masked."""
    job = job_for(repo.cfg, principal, job_id)
    assert job is not None  # export_file found it
    if job.kind == "access-copy":
        masked = bool(job.result.get("masked")) if isinstance(job.result, dict) else True
        record_use(repo.cfg, principal, "download", str(job.params["archives"][0]), item=name, masked=masked,
                   purpose=str(job.params["purpose"]))
        return
    for archive_id in job.params.get("archives", []):  # every download is a use (利用登记)
        record_use(repo.cfg, principal, "download", archive_id, item=name,
                   purpose=messages.text("transfer.purpose", "zh"))  # the package of a transfer (移交)
