"""Researchers' copies (利用件) made by jobs, for a page that waits for them (:mod:`repository.dip.research`,
:mod:`repository.dip.scans`): a long PDF's copy (``research-copy``), a scan's proposed copy read by OCR
(``scan-proposal``) and a long scan's approved copy (``scan-copy``). Each writes into the home's research cache
(and a proposal a row of the state database); nothing is registered: the use is the researcher's view of the
copy, registered when it is sent."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .. import filerefs
from ..errors import HsarError
from ..home import Repository
from .records import Job

if TYPE_CHECKING:  # (tasks imports this module: the runners' progress is its Progress)
    from .tasks import Progress


def _archive_file(repo: Repository, job: Job) -> tuple[str, str, Any, str]:
    """The job's archive id, stored file path, catalogue view, and the file as the job names it (its reference,
    :mod:`repository.filerefs`, or its path): what the job's result says, since a researcher reads their jobs and
    the path may hold a name they are shown masked. NOT-FOUND when the archive or file is gone since."""
    archive_id, named = job.params["archives"][0], job.params["path"]
    view = repo.catalog.show(archive_id)
    path = None
    if view is not None:
        path = filerefs.resolve(((i.number, i.files) for i in view.archive.items), named) \
            if filerefs.is_ref(named) else named
    if view is None or path is None or path not in {f.path for f in view.files}:
        raise HsarError(msgid="services.not_found", code="NOT-FOUND", archive=archive_id)
    return archive_id, path, view, named


def run_research_copy(repo: Repository, job: Job, progress: Progress, stop: threading.Event) -> dict[str, Any]:
    """A researcher's copy (利用件) of one PDF, too long to make in a request, made into the home's cache (the
    page that asked for it waits for this job, then finds it there). Nothing is registered: the use is the
    researcher's view of it, registered when it is sent. An archive gone since is NOT-FOUND; a PDF that cannot
    be made into a copy fails with its reason (REDACT)."""
    from ..dip.research import research_copy

    archive_id, path, view, named = _archive_file(repo, job)
    progress(0, 1, force=True)
    made = research_copy(repo, view, path)
    progress(1, 1)
    return {"archive_id": archive_id, "path": named, "size": made.stat().st_size}


def run_scan_proposal(repo: Repository, job: Job, progress: Progress, stop: threading.Event) -> dict[str, Any]:
    """The proposed researcher's copy of one scan (利用件, open review: :mod:`repository.dip.scans`): its pages read
    by OCR, the boxes to paint recorded in the state database pending an archivist's review. An archive or file
    gone since is NOT-FOUND; a scan that cannot be read fails (SCAN-COPY)."""
    from ..dip.scans import propose
    from ..state.db import open_state

    archive_id, path, view, named = _archive_file(repo, job)
    progress(0, 1, force=True)
    with open_state(repo.cfg.state_url) as state:
        review = propose(repo, state, view, path)
    progress(1, 1)
    return {"archive_id": archive_id, "path": named, "review": review.id, "pages": review.pages,
            "boxes": sum(len(b) for b in review.proposed_boxes.values())}


def run_scan_copy(repo: Repository, job: Job, progress: Progress, stop: threading.Event) -> dict[str, Any]:
    """The approved researcher's copy of one scan (its pages painted with the archivist's boxes, and their PDF),
    too long to make in a request, made into the home's cache. A scan whose review no longer stands approved for
    the file as it is now (rejected since, a new version, other names) fails SCAN-NOT-APPROVED: nothing is made;
    a scan that cannot be painted fails (SCAN-COPY)."""
    from ..dip.scans import approved_copy, scan_state
    from ..state.db import open_state

    archive_id, path, view, named = _archive_file(repo, job)
    with open_state(repo.cfg.state_url) as state:
        found = scan_state(repo, state, view, path)
    if found.review is None or found.state != "approved":
        raise HsarError(msgid="scans.not_approved", code="SCAN-NOT-APPROVED", archive=archive_id, path=named)
    progress(0, found.review.pages, force=True)
    made = approved_copy(repo, found.review)
    progress(found.review.pages, found.review.pages)
    return {"archive_id": archive_id, "path": named, "review": found.review.id, "pages": len(made.pages),
            "size": made.pdf.stat().st_size}
