"""Sign in (throttled per address; an account name locked after repeated failures), sign out, and the
language switch."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from ...messages import LANGS, local_time
from .. import purpose
from ..context import User, config
from ..gateway import accounts
from ..i18n import t
from ..links import local_target

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path of this site (:func:`..links.local_target`) is followed after signing in."""
    return local_target(target) or url_for("search.search")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""), kinds=purpose.KINDS)
    # as counted and logged: no NUL or other unprintable character, which no account name holds and a
    # PostgreSQL text column refuses
    username = "".join(ch if ch.isprintable() else "?" for ch in request.form.get("username", "").strip()[:100])
    tried = accounts.sign_in(config(), username, request.form.get("password", "")[:1000], request.remote_addr or "")
    account = tried.user
    if account is None:
        if tried.locked_until is not None:  # this name is locked, for whoever tries it (429, as throttled)
            error, status = t("web.login.locked", until=local_time(tried.locked_until)), 429
        else:
            error, status = t("web.login.failed"), 401
        return render_template("login.html", next=request.form.get("next", ""), username=username,
                               error=error, kinds=purpose.KINDS), status
    session.clear()
    login_user(User(account))
    purpose.remember(request.form.get("purpose_kind"), request.form.get("purpose_note"))  # optional here
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    account = current_user.account if current_user.is_authenticated else None
    logout_user()  # signed out first: a log line that cannot be written leaves no session behind
    session.clear()
    if account is not None:
        accounts.sign_out(config(), account, request.remote_addr or "")
    return redirect(url_for("auth.login"))


@bp.route("/lang", methods=["POST"])
def set_lang() -> Response:
    lang = request.form.get("lang", "")
    if lang in LANGS:
        session["lang"] = lang
        if current_user.is_authenticated:
            current_user.account = accounts.set_lang(config(), current_user.get_id(), lang)
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/")
@login_required
def index() -> Response:
    return redirect(url_for("search.search"))
