"""The review of scans' researchers' copies (开放审核; archivists and administrators, division-scoped): the list of
proposals awaiting review, and one scan's review page, each page's proposed redacted image with its boxes, where the
reviewer adds boxes (dragging on the image, ``static/scanreview.js``), removes proposed ones, and approves or
rejects (:mod:`..gateway.scans`).

Anyone who may not review scans, and a reviewer whose scope does not hold the archive, gets 404. The review page
shows the scan (its pages as stored too): a use in the access register, for the session's purpose of use. A
decision is one form (CSRF as every form), recorded with its line in the security log; boxes that are not boxes of
the scan's pages are refused (400 WEB-SCAN-BOXES), nothing recorded. The form gives back the decision its page
showed (``seen``): when another archivist decided since, nothing is recorded and the page is shown again, saying so.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from ...errors import HsarError
from .. import purpose
from ..context import actor, principal, repo
from ..errors import error_page
from ..gateway import scans
from ..i18n import current_lang, t

bp = Blueprint("scans", __name__, url_prefix="/scan-reviews")

MAX_FORM = 2_000_000  # characters of the boxes field
_VIEWED = "hsar_reviewed"  # session key: review id -> when its view was registered (epoch seconds)
VIEW_SECONDS = 30 * 60


#: the archive page's form asking for its scans' proposals (``/archives/<id>/scan-proposals``)
archive_bp = Blueprint("scan_proposals", __name__)
STATES = ("pending", "approved", "rejected")  # what the review list may show (?state=)
MAX_ID = 200  # characters of an archive id in the list's filter


@bp.app_context_processor
def _nav() -> dict[str, object]:
    """``may_review_scans()`` for the navigation: whether to link the review list; ``archive_scans(id, files)`` for
    the archive page of a reviewer: where its scans stand (None for anyone else)."""
    def archive_scans(archive_id: str, files: list[dict[str, object]]) -> object:
        """(``files``: the page's file list: an archive without scans, the usual one, costs no look-up.)"""
        if not current_user.is_authenticated or not scans.has_scans(str(f.get("path", "")) for f in files):
            return None
        return scans.archive_scans(repo(), principal(), archive_id)

    return {"may_review_scans": lambda: bool(current_user.is_authenticated) and scans.may_review(principal()),
            "archive_scans": archive_scans}


def _review(review_id: int) -> scans.Review:
    found = scans.review(repo(), principal(), review_id)
    if found is None:
        abort(404)
    return found


@bp.route("")
@login_required
def pending() -> str:
    archive_id = request.args.get("archive", "").strip()[:MAX_ID] or None
    if archive_id is not None and any(ord(ch) < 32 or ord(ch) == 127 for ch in archive_id):
        abort(400)
    shown = request.args.get("state", "pending")
    if shown not in STATES:
        abort(400)
    found = scans.pending(repo(), principal(), archive_id, shown)
    if found is None:
        abort(404)
    return render_template("scan_reviews.html", rows=found, archive_id=archive_id, shown=shown, states=STATES)


@archive_bp.route("/archives/<archive_id>/scan-proposals", methods=["POST"])
@login_required
def propose_all(archive_id: str) -> BaseResponse:
    """Queue the proposal job of every scan of the archive that has none (archivists and administrators: 403 for
    another role, 404 outside the scope), then back to the archive page saying how many were queued, and how many
    queued jobs wait ahead of them."""
    if not scans.may_review(principal()):
        abort(403)
    try:
        done = scans.propose_all(repo(), principal(), archive_id) if len(archive_id) <= MAX_ID else None
    except HsarError as exc:  # a queue that cannot be reached (JOB-QUEUE): nothing queued, say so
        flash(t("scans.prepare.failed", error=exc.render(current_lang())), "error")
        return redirect(url_for("archives.show", archive_id=archive_id), code=303)
    if done is None:
        abort(404)
    flash(t("scans.prepare.queued", queued=done.queued, already=len(done.asked) - done.queued))
    ahead = scans.queued_ahead(repo(), done)
    if ahead is not None:  # (none of them is still queued: none is waiting behind others)
        flash(t("scans.prepare.ahead", count=ahead))
    return redirect(url_for("archives.show", archive_id=archive_id) + "#scan-proposals", code=303)


def _register(found: scans.Review) -> None:
    """One register line per review page of a scan in this session (again after :data:`VIEW_SECONDS`)."""
    seen = dict(session.get(_VIEWED) or {})
    last, now = seen.get(str(found.id)), time.time()
    if isinstance(last, int | float) and now - last < VIEW_SECONDS:
        return
    scans.register_review(repo(), principal(), found, purpose.current() or "")
    seen[str(found.id)] = now
    session[_VIEWED] = dict(sorted(seen.items(), key=lambda kv: kv[1])[-50:])


@bp.route("/<int:review_id>")
@login_required
@purpose.required
def review(review_id: int) -> str:
    found = _review(review_id)
    _register(found)
    boxes = found.approved_boxes if found.state == "approved" else found.proposed_boxes
    return render_template("scan_review.html", r=found, current=scans.still_current(repo(), found), seen=scans.seen(found),
                           boxes=json.dumps({str(k): [list(b) for b in v] for k, v in sorted(boxes.items())}))


@bp.route("/<int:review_id>/page/<int:number>")
@login_required
@purpose.required
def page(review_id: int, number: int) -> Response:
    found = _review(review_id)
    image = scans.page_image(repo(), found, number, request.args.get("original") == "1")
    if image is None:
        abort(404)
    if isinstance(image, Path):
        response = send_file(image, mimetype="image/png", conditional=True)
    else:
        response = Response(image, mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/<int:review_id>", methods=["POST"])
@login_required
def decide(review_id: int) -> BaseResponse | tuple[str, int]:
    found = _review(review_id)
    decision = request.form.get("decision", "")
    if decision not in ("approve", "reject"):
        return error_page(400, "WEB-SCAN-DECISION", t("scans.review.bad_decision"))
    raw = request.form.get("boxes", "")
    try:
        given = json.loads(raw) if decision == "approve" and len(raw) <= MAX_FORM else None
    except (ValueError, RecursionError):  # not JSON, or nested too deep to read: not boxes
        given = None
    try:
        done = scans.decide(repo(), principal(), actor(), found, decision == "approve", given,
                            request.form.get("seen", ""), nothing_personal=request.form.get("nothing_personal") == "1")
    except scans.BadBoxes:
        return error_page(400, "WEB-SCAN-BOXES", t("scans.review.bad_boxes"))
    except scans.NothingPainted:  # the whole scan would reach researchers as stored: only when said so
        flash(t("scans.review.nothing_painted"), "error")
        return redirect(url_for("scans.review", review_id=review_id), code=303)
    except scans.DecidedMeanwhile:  # another archivist's decision since this page was shown: look at it first
        flash(t("scans.review.changed"), "error")
        return redirect(url_for("scans.review", review_id=review_id), code=303)
    if done is None:
        flash(t("scans.review.superseded"), "error")
    else:
        flash(t(f"scans.review.done.{done.state}", path=done.path, archive=done.archive_id))
    return redirect(url_for("scans.pending"), code=303)
