"""The dual-track pages (双轨制): reconciliation of the paper register with the electronic archives (counts
per division rolled up the tree, the worklist a page at a time, a CSV download) for archivists, auditors and
administrators, within their division scope, read from the result the ``paper`` job stored (the page never
reconciles: archivists and administrators start the job from it); importing the register (upload) for
archivists and administrators. And the access copy (利用副本, DIP) of an archive, for users who may open its
documents: a job (``hsar worker`` makes the zip), whose page offers it for download.

Every page asks :mod:`repository.access` first; the views call :mod:`repository.services.paper` and
:mod:`repository.services.access_copy` and render.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_login import login_required
from werkzeug.wrappers import Response as WerkzeugResponse

from ...divisions import tree_for
from ...errors import AccessCopyError, PaperError
from ...services import access_copy, paper, paper_stored
from ...services import census as counts
from ..context import principal, repo
from ..errors import withheld
from ..gateway import access, transfer
from ..i18n import current_lang, t
from .transfer import MAX_ID

bp = Blueprint("paper", __name__)

#: largest register upload (bytes)
REGISTER_LIMIT = 32 * 1024**2
REGISTER_SUFFIXES = (".csv", ".xlsx", ".xlsm")

#: findings a page of the worklist lists (``?page=N``; the counts and the CSV cover them all)
PER_PAGE = paper_stored.PER_PAGE


def _upload_limit() -> None:
    if request.endpoint == "paper.upload" and request.method == "POST":
        request.max_content_length = REGISTER_LIMIT


@bp.record_once
def _install(state: BlueprintSetupState) -> None:
    state.app.before_request_funcs.setdefault(None, []).insert(0, _upload_limit)
    state.app.jinja_env.globals["paper_coverage"] = _coverage


def _coverage() -> paper.PaperCoverage | None:
    """For the statistics page: the dual-track coverage within the user's scope (None: not allowed)."""
    user = principal()
    if not access.may(user, access.Action.SEARCH):
        return None
    counted = counts.latest(repo(), wait=0).counted  # the statistics page's counts (services.census)
    return counted.coverage.scoped(access.scope_prefixes(user)) if counted is not None else None


def _scope() -> list[str]:
    user = principal()
    if not access.may(user, access.Action.READ_REPORTS):
        abort(403)
    return access.scope_prefixes(user)


def _page(status: int = 200, **extra: object) -> tuple[str, int]:
    user = principal()
    scope = _scope()
    tree = tree_for(repo().cfg)
    asked = request.args.get("division", "")[:12]
    division = asked if asked and access.division_in_scope(user, asked) else None  # within the scope only
    try:
        number = int(request.args.get("page", "1")[:9])
    except ValueError:
        number = 1
    result = paper_stored.stored_page(repo(), scope, tree, page=number, per_page=PER_PAGE, division=division,
                                      lang=current_lang())
    may_run = access.may(user, access.Action.INGEST)
    job = paper_stored.latest_job(repo().cfg)
    return render_template("paper.html", result=result, codes=paper.CODES, may_import=may_run, may_run=may_run,
                           job=job, job_visible=job is not None and (user.role is access.Role.ADMIN
                                                                     or job.username == user.username),
                           division=division or "", per_page=PER_PAGE, lang=current_lang(), tree=tree, **extra), status


@bp.route("/paper")
@login_required
def page() -> tuple[str, int]:
    return _page()


@bp.route("/paper/run", methods=["POST"])
@login_required
def run() -> WerkzeugResponse:
    """Start the reconciliation job (or find the one queued or running) and come back to the page."""
    _scope()
    if not access.may(principal(), access.Action.INGEST):
        abort(403)
    paper_stored.start_job(repo().cfg, principal().username)
    return redirect(url_for("paper.page"), 303)


@bp.route("/paper.csv")
@login_required
def worklist_csv() -> Response:
    lines = paper_stored.stored_csv(repo(), _scope(), tree_for(repo().cfg), current_lang())
    if lines is None:
        abort(404)

    def body() -> Iterator[str]:
        yield "\ufeff"
        yield from lines

    return Response(body(), mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=hsar-paper-worklist.csv", "Cache-Control": "private, no-store"})


@bp.route("/paper/import", methods=["POST"])
@login_required
def upload() -> tuple[str, int]:
    _scope()
    if not access.may(principal(), access.Action.INGEST):
        abort(403)
    sent = request.files.get("register")
    name = (sent.filename or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1] if sent else ""
    if sent is None or not name:
        return _page(400, problems=[], error_key="paper.web.no_file")
    if not name.lower().endswith(REGISTER_SUFFIXES):  # a file was chosen: say why it is not taken
        return _page(400, problems=[], error=t("web_review.paper.suffix", name=name, suffixes=", ".join(REGISTER_SUFFIXES)))
    try:
        done = paper.import_register(repo(), data=sent.read(REGISTER_LIMIT + 1), name=name,
                                     prefixes=access.scope_prefixes(principal()))
    except PaperError as exc:
        return _page(400, problems=exc.issues, error=exc.render(current_lang()))
    return _page(imported=done)


def _copy_refused(code: str, text: str) -> tuple[str, int] | WerkzeugResponse:
    """The archive page again (400) with the refusal beside the access-copy form and the values given kept."""
    from .archives import archive_response

    kept = {k: request.form.get(k, "")[:500] for k in ("purpose", "items", "format", "mask")}
    return archive_response(request.view_args["archive_id"] if request.view_args else "", 400,
                            copy_error=f"[{code}] {text}", copy_form=kept)


@bp.route("/archives/<archive_id>/access-copy", methods=["POST"])
@login_required
def access_copy_start(archive_id: str) -> tuple[str, int] | WerkzeugResponse:
    """Queue the access copy asked for (the purpose is required: the form asks for it) and show its job page,
    which offers the zip when the worker has made it; a refused request stays on the archive page, nothing
    queued."""
    if len(archive_id) > MAX_ID:
        abort(404)
    raw_items = request.form.get("items", "").strip()[:500]
    parts = [p.strip() for p in raw_items.split(",") if p.strip()]
    if not all(p.isascii() and p.isdigit() and len(p) < 7 for p in parts):
        return _copy_refused("DIP-ITEMS", t("dip.bad_items", value=raw_items))
    req = access_copy.CopyRequest(archive_id, request.form.get("purpose", "")[:1000],
                                  tuple(int(p) for p in parts) or None, request.form.get("mask") == "1",
                                  request.form.get("format", "pdf")[:8])
    try:
        job = transfer.submit_access_copy(repo(), principal(), req, current_lang())
    except AccessCopyError as exc:
        if exc.code == "DIP-WITHHELD":
            withheld()
        return _copy_refused(exc.code, exc.render(current_lang()))
    if job is None:
        abort(404)
    flash(t("dip.web.started", job=job.id[:8], archive=archive_id))
    return redirect(url_for("ingest.job", job_id=job.id))
