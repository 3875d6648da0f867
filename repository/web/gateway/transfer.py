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
    """One download of :func:`export_files`, recorded in the access register for each archive of the job."""
    if name not in export_files(repo, principal, job_id):
        return None
    job = job_for(repo.cfg, principal, job_id)
    assert job is not None  # export_files found it
    path = repo.paths.exports / job.id / name
    if not path.is_file():
        return None
    for archive_id in job.params.get("archives", []):  # every download is a use (利用登记)
        record_use(repo.cfg, principal, "download", archive_id, item=name,
                   purpose=messages.text("transfer.purpose", "zh"))  # the package of a transfer (移交)
    return path
