"""The ingest page (upload SIP files, archivists and administrators) and the job pages: each upload
becomes an ingest job run by ``hsar worker``; ``/jobs/<id>`` shows its progress (polled as
``/jobs/<id>.json``) and, at the end, each SIP's status, archive and explained issue codes.

A job is visible to its owner and to administrators only; anyone else gets 404 (its id is not disclosed).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_login import login_required
from werkzeug.wrappers import Response

from ..context import principal, repo
from ..gateway import access
from ..gateway import jobs as gateway
from ..i18n import current_lang, t

bp = Blueprint("ingest", __name__)

#: default largest request of the ingest form (setting HSAR_UPLOAD_LIMIT, bytes)
UPLOAD_LIMIT = 4 * 1024**3
FIELD = "sips"


def _upload_limit() -> None:
    """The ingest form may be far larger than other requests (MAX_CONTENT_LENGTH); set before the CSRF
    check reads the form. Uploaded files are spooled to disk by Werkzeug, never held in memory whole."""
    if request.endpoint == "ingest.upload" and request.method == "POST":
        request.max_content_length = int(current_app.config.get("HSAR_UPLOAD_LIMIT", UPLOAD_LIMIT))


@bp.record_once
def _install(state: BlueprintSetupState) -> None:
    # first of the app's before-request functions, so it runs before CSRFProtect parses the form
    state.app.before_request_funcs.setdefault(None, []).insert(0, _upload_limit)
    state.app.jinja_env.globals["may_do"] = _may_do
    state.app.jinja_env.globals["queued_ahead"] = _queued_ahead
    state.app.jinja_env.globals["ahead_text"] = ahead_text


def _may_do(action: str) -> bool:
    """For the navigation: whether the signed-in user may do ``action`` (an :class:`Action` value)."""
    return access.may(principal(), access.Action(action))


def _queued_ahead(job_id: str) -> int | None:
    """For a page that follows a job of the user's own (a researcher's copy being made, ``copy_pending.html``): how
    many queued jobs wait ahead of it (None: not queued, or not theirs)."""
    return gateway.queued_ahead(repo().cfg, principal(), job_id) if len(job_id) <= 64 else None


def ahead_text(count: int | None) -> str:
    """The line saying how many queued jobs wait ahead of a job ("" when it is not queued)."""
    if count is None:
        return ""
    return t("jobs.ahead", count=count) if count else t("jobs.ahead_none")


def _require_ingest() -> None:
    if not access.may(principal(), access.Action.INGEST):
        abort(403)


@bp.route("/ingest", methods=["GET"])
@login_required
def form() -> str:
    _require_ingest()
    return render_template("ingest.html", limit=current_app.config.get("HSAR_UPLOAD_LIMIT", UPLOAD_LIMIT))


@bp.route("/ingest", methods=["POST"])
@login_required
def upload() -> Response | tuple[str, int]:
    _require_ingest()
    files = [f for f in request.files.getlist(FIELD) if f.filename]
    if not files:
        return render_template("ingest.html", limit=current_app.config.get("HSAR_UPLOAD_LIMIT", UPLOAD_LIMIT),
                               error=t("web_ingest.ingest.no_files")), 400
    try:
        jobs = gateway.submit_uploads(repo(), principal(), [gateway.Incoming(f.stream, f.filename) for f in files])
    except gateway.OutOfScope as refused:  # its division, or its archive's, outside the scope: nothing queued
        error = t(str(refused.msgid), **refused.params)
        return render_template("ingest.html", limit=current_app.config.get("HSAR_UPLOAD_LIMIT", UPLOAD_LIMIT),
                               error=error, code="WEB-INGEST-SCOPE"), 403
    target = url_for("ingest.job", job_id=jobs[0].id) if len(jobs) == 1 else url_for("ingest.jobs")
    return redirect(target, 303)


@bp.route("/jobs")
@login_required
def jobs() -> str:
    found = gateway.jobs_of(repo().cfg, principal())
    return render_template("jobs.html", jobs=[gateway.job_view(j, current_lang()) for j in found])


def _visible(job_id: str) -> dict[str, Any]:
    found = gateway.job_shown(repo().cfg, principal(), job_id, current_lang()) if len(job_id) <= 64 else None
    if found is None:
        abort(404)
    return found


@bp.route("/jobs/<job_id>")
@login_required
def job(job_id: str) -> str:
    return render_template("job.html", job=_visible(job_id))


@bp.route("/jobs/<job_id>.json")
@login_required
def job_json(job_id: str) -> Response:
    view = _visible(job_id)
    view["labels"] = {"state": t("web_ingest.state." + view["state"]), "ahead": ahead_text(view["queued_ahead"])}
    for row in view["sips"]:
        row["status_label"] = t("web_ingest.status." + row["status"]) if row["status"] else ""
        if row["archive_id"]:
            row["url"] = url_for("archives.show", archive_id=row["archive_id"])
    response = jsonify(view)
    response.headers["Cache-Control"] = "no-store"
    return response
