"""The OCR text of an archive's scanned pages (``/archives/<id>/ocr``) and the button that starts an OCR job
of that archive (archivists and administrators; the job page then shows its progress).

An archive outside the user's scope is a 404; a researcher who sees only the catalogue entry gets 403.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.wrappers import Response

from .. import purpose
from ..context import principal, repo
from ..errors import withheld
from ..gateway import ocr as gateway
from ..gateway.archives import PurposeNeeded, Withheld

bp = Blueprint("ocr", __name__)


@bp.route("/archives/<archive_id>/ocr", methods=["GET"])
@login_required
def text(archive_id: str) -> str | Response:
    try:
        files = gateway.ocr_files(repo(), principal(), archive_id, purpose.current())
    except Withheld:
        withheld()
    except PurposeNeeded:
        return redirect(url_for("purpose.ask", next=request.full_path.rstrip("?")))
    if files is None:
        abort(404)
    return render_template("ocr.html", archive_id=archive_id, files=files,
                           may_start=gateway.may_start(principal()))


@bp.route("/archives/<archive_id>/ocr", methods=["POST"])
@login_required
def start(archive_id: str) -> Response:
    if not gateway.may_start(principal()):
        abort(403)
    job = gateway.start_job(repo(), principal(), archive_id)
    if job is None:
        abort(404)
    return redirect(url_for("ingest.job", job_id=job.id), 303)
