"""The export action (移交导出) of the archive page, for archivists and administrators of the archive's
division: it submits an export job (``hsar worker`` runs it) and the job page offers the transfer package
(zip) and the transfer list (XML, CSV) for download, to the job's owner and to administrators."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, send_file, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from .. import purpose
from ..context import principal, repo
from ..gateway import access
from ..gateway import transfer as gateway
from ..i18n import t

bp = Blueprint("transfer", __name__)

MAX_ID = 128
MIMETYPES = {".zip": "application/zip", ".xml": "application/xml", ".csv": "text/csv"}


@bp.app_context_processor
def _may_export() -> dict[str, object]:
    """``may_export()`` for the archive page (whether to show the export action) and ``export_files(id)`` for
    the job page (the downloads of a finished export job)."""
    return {"may_export": lambda: bool(current_user.is_authenticated)
            and access.may(principal(), access.Action.EXPORT),
            "export_files": lambda job_id: gateway.export_files(repo(), principal(), job_id)}


@bp.route("/archives/<archive_id>/export", methods=["POST"])
@login_required
def start(archive_id: str) -> Response:
    user = principal()
    if not access.may(user, access.Action.EXPORT):
        abort(403)
    job = gateway.submit_export(repo(), user, archive_id) if len(archive_id) <= MAX_ID else None
    if job is None:
        abort(404)
    flash(t("transfer.web.started", job=job.id[:8], archive=archive_id))
    return redirect(url_for("ingest.job", job_id=job.id))


@bp.route("/jobs/<job_id>/export/<name>")
@login_required
def download(job_id: str, name: str) -> Response:
    response = export_response(principal(), job_id, name)
    if response is None:
        abort(404)
    return response


def export_response(user: access.Principal, job_id: str, name: str) -> Response | None:
    """The file ``name`` of the export or access-copy job ``job_id`` for ``user`` (the signed-in account, or
    the API's token user), its use registered when it is sent; None when there is none for them (404): not
    theirs, not finished, no longer kept, or an access copy whose archive is no longer theirs to use
    (:func:`..gateway.transfer.export_file`). The page and the API send it here, with the same checks."""
    path = gateway.export_file(repo(), user, job_id, name) if len(job_id) <= 64 else None
    if path is None:
        return None
    response = send_file(path, mimetype=MIMETYPES.get(path.suffix, "application/octet-stream"),
                         as_attachment=True, download_name=path.name)
    response.headers["Cache-Control"] = "private, no-store"
    return purpose.registered(response, lambda: gateway.record_export_download(repo(), user, job_id, name))
