"""Starting an ingest through the JSON API: the ingest page's own path (:func:`..gateway.jobs.submit_uploads`):
each file streamed into the home with its SHA-256 as the job's dedupe key (the same bytes again: the same job),
an archive outside the uploader's division scope refusing the whole upload with nothing queued. ``hsar
worker`` runs the jobs; ``GET /api/v1/jobs/<id>`` follows them. The request's size limit is the page's
(``HSAR_UPLOAD_LIMIT``, set before the form is read: :func:`upload_limit`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import current_app, request

from ...home import Repository
from ..gateway import jobs as gateway
from ..gateway.access import Action, Principal
from ..views.ingest import UPLOAD_LIMIT
from .adapters import Refused, job_dict, require

FIELD = "sips"  # the ingest page's field name
ENDPOINT = "api.ingest"


def upload_limit() -> None:
    """Before every request (first of all, before anything reads a form): the ingest route's request may be
    as large as the ingest page's (``HSAR_UPLOAD_LIMIT``); every other request keeps MAX_CONTENT_LENGTH."""
    if request.endpoint == ENDPOINT and request.method == "POST":
        request.max_content_length = int(current_app.config.get("HSAR_UPLOAD_LIMIT", UPLOAD_LIMIT))


def ingest(repo: Repository, principal: Principal, files: Sequence[gateway.Incoming]) -> list[dict[str, Any]]:
    """One ingest job per file, as the ingest page makes them; 403 ``API-INGEST-SCOPE`` (nothing queued) when
    a file's declared division, or the division of the archive its identifier names, lies outside
    ``principal``'s scope; 400 ``API-INGEST-NO-FILE`` without a file."""
    require(principal, Action.INGEST)
    if not files:
        raise Refused(400, "API-INGEST-NO-FILE", "api_more.ingest.no_files", field=FIELD)
    try:
        jobs = gateway.submit_uploads(repo, principal, files)
    except gateway.OutOfScope as refused:  # the ingest page's refusal, word for word
        raise Refused(403, "API-INGEST-SCOPE", str(refused.msgid), **refused.params) from None
    return [job_dict(job) for job in jobs]
