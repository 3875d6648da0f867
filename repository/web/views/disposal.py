"""The disposal page (档案销毁; archivists and administrators, division-scoped): archives whose retention has
ended with a form to propose each, pending proposals with approve and reject for a *different* user, decided
proposals; and the tombstone of a disposed archive, which the archive page shows instead of a 404.

Every action is one call of :mod:`repository.services.disposal`; a refusal (self-approval ``DSP-SELF``, not
due, already proposed ...) is shown as a notice with its code and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as WerkzeugResponse

from ... import access
from ...errors import HsarError
from ...services import disposal as service
from .. import shown
from ..context import principal, repo
from ..i18n import current_lang, t

bp = Blueprint("disposal", __name__, url_prefix="/disposal")

MAX_ID = 128


def _require() -> access.Principal:
    user = principal()
    if not access.may(user, access.Action.DISPOSE):
        abort(403)
    return user


@bp.app_context_processor
def _nav() -> dict[str, object]:
    """``may_dispose()`` for the navigation: whether to link the disposal page."""
    return {"may_dispose": lambda: bool(current_user.is_authenticated)
            and access.may(principal(), access.Action.DISPOSE)}


def _done(action: str, run: Callable[[], object], *, again: Mapping[str, str] | None = None) -> WerkzeugResponse:
    """Run ``run`` (a call of the service); flash its refusal or what was done (which proposal, which
    archive: "done" alone left the user to find out); back to the page, or, for a refusal whose code ``again``
    names, to the address it gives (the form to fill in again)."""
    try:
        made = run()
    except HsarError as exc:  # a refusal (DSP-...), or the home busy with an ingest (ING-BUSY)
        flash(f"[{exc.code}] {exc.render(current_lang())}", "error")
        if again and exc.code in again:
            return redirect(again[exc.code], code=303)
    else:
        proposal = made.proposal if isinstance(made, service.Disposed) else made
        if isinstance(proposal, service.Proposal):
            flash(t(f"web_review.disposal.done.{proposal.state}", proposal=proposal.id, archive=proposal.archive_id))
        else:
            flash(t("web_disposal.done"))
    return redirect(url_for("disposal.page") + f"#{action}", code=303)


@bp.route("")
@login_required
def page() -> str:
    user = _require()
    found = repo()
    due = service.due(found, user)  # the longest due first; a city's repository has tens of thousands at once
    return render_template("disposal.html", due=due[:shown.DISPOSAL_DUE], due_total=len(due),
                           pending=service.proposals(found, user, ["pending"]),
                           decided=service.proposals(found, user, ["disposed", "rejected"])[:50],
                           me=user.username)


@bp.route("/propose", methods=["POST"])
@login_required
def propose() -> WerkzeugResponse:
    user = _require()
    archive_id = request.form.get("archive", "").strip()[:MAX_ID]
    reason = request.form.get("reason", "")
    return _done("pending", lambda: service.propose(repo(), archive_id, reason, user.username))


@bp.route("/<int:proposal>/approve", methods=["GET"])
@login_required
def confirm(proposal: int) -> str | WerkzeugResponse:
    """The confirmation before an approval destroys anything: the archive, its 档号, who proposed it and why,
    what will be removed and what is kept (the signed tombstone); the approver types the archive's identifier.
    A proposal the user may not approve (their own: DSP-SELF; decided, unknown) goes back to the page."""
    user = _require()
    try:
        found = service.preview_approval(repo(), proposal, user.username)
    except HsarError as exc:
        flash(f"[{exc.code}] {exc.render(current_lang())}", "error")
        return redirect(url_for("disposal.page") + "#pending", code=303)
    return render_template("disposal_confirm.html", p=found.proposal, preview=found)


@bp.route("/<int:proposal>/approve", methods=["POST"])
@login_required
def approve(proposal: int) -> WerkzeugResponse:
    """Approve and dispose, only with the archive's identifier typed on the confirmation page (DSP-CONFIRM,
    back to that page with nothing changed, otherwise)."""
    user = _require()
    typed = request.form.get("confirm", "")[:MAX_ID]
    return _done("decided", lambda: service.approve(repo(), proposal, user.username, confirm=typed),
                 again={"DSP-CONFIRM": url_for("disposal.confirm", proposal=proposal)})


@bp.route("/<int:proposal>/reject", methods=["POST"])
@login_required
def reject(proposal: int) -> WerkzeugResponse:
    user = _require()
    return _done("decided", lambda: service.reject(repo(), proposal, user.username, request.form.get("note", "")))


def tombstone_page(archive_id: str) -> tuple[str, int] | None:
    """The tombstone of a disposed archive in the user's scope (HTTP 410 Gone), else None (a 404)."""
    found = service.tombstone_of(repo(), archive_id, principal())
    if found is None:
        return None
    return render_template("tombstone.html", d=found, ts=found.tombstone), 410


@bp.route("/tombstones/<archive_id>")
@login_required
def tombstone(archive_id: str) -> tuple[str, int]:
    found = tombstone_page(archive_id)
    if found is None:
        abort(404)
    return found
