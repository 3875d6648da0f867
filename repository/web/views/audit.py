"""The audit page (auditors, archivists, administrators): recent runs and failures of archives in scope, what
is due, the state of the hash-chained audit log, report downloads; and a form that starts an audit of one
archive as a job (``hsar worker`` runs it)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as WerkzeugResponse

from ... import access, codes
from ...jobs.queue import JobQueue
from ...services import stats as service
from .. import shown
from ..context import home, principal, repo
from ..errors import error_page
from ..i18n import current_lang, t

bp = Blueprint("audit", __name__, url_prefix="/audit")

MAX_ID = 128


def _require(action: access.Action) -> access.Principal:
    user = principal()
    if not access.may(user, action):
        abort(403)
    return user


@bp.app_context_processor
def _nav() -> dict[str, object]:
    """``may_audit()`` for the navigation: whether to link the audit page."""
    return {"may_audit": lambda: bool(current_user.is_authenticated) and access.may(principal(), access.Action.AUDIT)}


@bp.route("")
@login_required
def page() -> str:
    user = _require(access.Action.AUDIT)
    overview = service.audit_overview(repo(), user, due_shown=shown.AUDIT_DUE)
    lang = current_lang()
    return render_template("audit.html", o=overview, explain=lambda code: codes.explanation(code, lang),
                           reports=access.may(user, access.Action.READ_REPORTS),
                           may_start=access.may(user, access.Action.START_AUDIT))


@bp.route("/reports/<name>")
@login_required
def report(name: str) -> Response:
    user = _require(access.Action.READ_REPORTS)
    path = service.report_file(repo(), name, user)
    if path is None:
        abort(404)
    html = name.endswith(".html")
    response = send_file(path, mimetype="text/html" if html else "application/json", as_attachment=not html,
                         download_name=name)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/start", methods=["POST"])
@login_required
def start() -> WerkzeugResponse | tuple[str, int]:
    user = _require(access.Action.START_AUDIT)
    archive_id = request.form.get("archive", "").strip()
    view = repo().catalog.show(archive_id) if 0 < len(archive_id) <= MAX_ID else None
    if view is None or not access.may_see(user, view.archive.division):
        return error_page(404, "WEB-AUDIT-ARCHIVE", t("web_stats.audit.no_archive"))
    with JobQueue.open(home()) as queue:
        job = queue.submit("audit", {"mode": "archive", "archives": [archive_id]}, user=user.username)
    flash(t("web_stats.audit.started", job=job.id, archive=archive_id))
    return redirect(url_for("audit.page"))
