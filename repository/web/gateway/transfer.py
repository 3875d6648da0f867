"""Export jobs (移交) as the web application sees them: submitting one for an archive (the access decision of
:func:`repository.services.transfer.check_export`) and finding the files a finished one offers."""

from __future__ import annotations

from pathlib import Path

from ... import messages
from ...errors import HsarError
from ...home import Repository
from ...jobs import Job, JobQueue
from ...services.transfer import check_export
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


def export_files(repo: Repository, principal: Principal, job_id: str) -> list[str]:
    """The downloads of a finished export job ``principal`` may see (theirs, or any for an administrator):
    one zip per package, then the transfer list (XML, CSV), while they are kept; empty otherwise."""
    job = job_for(repo.cfg, principal, job_id)
    if job is None or job.kind != "export" or job.state != "done" or not isinstance(job.result, dict):
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
    """One download of an export file, recorded in the access register for each archive of the job."""
    job = job_for(repo.cfg, principal, job_id)
    assert job is not None  # export_file found it
    for archive_id in job.params.get("archives", []):  # every download is a use (利用登记)
        record_use(repo.cfg, principal, "download", archive_id, item=name,
                   purpose=messages.text("transfer.purpose", "zh"))  # the package of a transfer (移交)
