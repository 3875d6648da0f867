"""Administration pages: the accounts (administrators: list, add, change the role and division scope, disable and
enable, reset a password, lift a sign-in lock; each change written to the security log as the administrator's),
the access register (利用登记; auditors and administrators: filters, paging, CSV export, the chain's
verification) and the security log (安全审计日志: sign-ins and account changes, the same way).
Every form carries a CSRF token; every page asks :mod:`repository.access` first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.wrappers import Response

from ...divisions import tree_for
from ...errors import AccountError
from ..context import actor, principal, repo
from ..gateway import access
from ..gateway import accounts as gateway
from ..i18n import ZONE, current_lang, t

bp = Blueprint("admin", __name__)


def _require(action: access.Action) -> None:
    if not access.may(principal(), action):
        abort(403)


def _users_page(error: str | None = None, notice: str | None = None, status: int = 200) -> tuple[str, int]:
    found = gateway.list_users(repo().cfg)
    tree = tree_for(repo().cfg)
    names = {u.division: known.name for u in found if (known := tree.get(u.division)) is not None}
    return render_template("users.html", users=found, roles=list(access.Role), division_names=names,
                           locks=gateway.locks(repo().cfg), error=error, notice=notice), status


@bp.route("/users", methods=["GET"])
@login_required
def users() -> tuple[str, int]:
    _require(access.Action.MANAGE_USERS)
    return _users_page(notice=t(request.args["done"]) if request.args.get("done") in _NOTICES else None)


_NOTICES = ("web_ingest.users.added", "web_ingest.users.disabled", "web_ingest.users.enabled",
            "web_ingest.users.scope_set", "web_ingest.users.password_set", "web_ingest.users.unlocked")


def _named(username: str) -> str:
    """An account name from a page's URL: as given (never cut to a shorter name another account may have);
    longer than any name a sign-in may lock (100), not found."""
    if len(username) > 100:
        abort(404)
    return username


def _field(name: str, limit: int = 200) -> str:
    return request.form.get(name, "").strip()[:limit]


def _account_change(change: Callable[[], object], done: str) -> Response | tuple[str, int]:
    """Run one change of the users page (administrators only): back to the page with ``done`` as its notice,
    or the page again with the refusal's message (400) and nothing changed."""
    _require(access.Action.MANAGE_USERS)
    try:
        change()
    except AccountError as exc:
        return _users_page(error=exc.render(current_lang()), status=400)
    return redirect(url_for("admin.users", done=done), 303)


@bp.route("/users", methods=["POST"])
@login_required
def add_user() -> Response | tuple[str, int]:
    return _account_change(lambda: gateway.add_user(
        repo().cfg, _field("username", 200), _field("role", 20), _field("division", 12),
        request.form.get("password", "")[:1000], _field("display_name"), actor()), "web_ingest.users.added")


@bp.route("/users/<username>/disable", methods=["POST"])
@login_required
def disable_user(username: str) -> Response | tuple[str, int]:
    return _account_change(lambda: gateway.disable_user(repo().cfg, _named(username), actor()), "web_ingest.users.disabled")


@bp.route("/users/<username>/enable", methods=["POST"])
@login_required
def enable_user(username: str) -> Response | tuple[str, int]:
    return _account_change(lambda: gateway.enable_user(repo().cfg, _named(username), actor()), "web_ingest.users.enabled")


@bp.route("/users/<username>/unlock", methods=["POST"])
@login_required
def unlock_user(username: str) -> Response | tuple[str, int]:
    return _account_change(lambda: gateway.unlock(repo().cfg, _named(username), actor()), "web_ingest.users.unlocked")


@bp.route("/users/<username>/scope", methods=["POST"])
@login_required
def set_scope(username: str) -> Response | tuple[str, int]:
    return _account_change(lambda: gateway.set_scope(repo().cfg, _named(username), _field("role", 20),
                                                     _field("division", 12), actor()), "web_ingest.users.scope_set")


@bp.route("/users/<username>/password", methods=["POST"])
@login_required
def reset_password(username: str) -> Response | tuple[str, int]:
    return _account_change(lambda: gateway.set_password(repo().cfg, _named(username),
                                                        request.form.get("password", "")[:1000], actor()),
                           "web_ingest.users.password_set")


def _day(name: str, *, end: bool = False) -> datetime | None:
    """A ``YYYY-MM-DD`` filter as the start of that Beijing day (``end``: the start of the next day); a year
    outside 1900…9998 is a bad request (its UTC time, or the next day, would not be a date)."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        day = datetime.strptime(raw[:10], "%Y-%m-%d").replace(tzinfo=ZONE)
    except ValueError:
        abort(400)
    if not 1900 <= day.year <= 9998:
        abort(400)
    return day + timedelta(days=1) if end else day


def _text(name: str, limit: int) -> str | None:
    """A text filter of a page's query: None when empty; a control character (a NUL, which PostgreSQL's text
    columns refuse, among them) is a bad request."""
    raw = request.args.get(name, "").strip()[:limit]
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        abort(400)
    return raw or None


def _filter() -> gateway.RegisterFilter:
    action = request.args.get("action", "").strip() or None
    if action is not None and action not in gateway.USES:
        abort(400)
    return gateway.RegisterFilter(username=_text("user", 64), archive_id=_text("archive", 200),
                                  action=action, since=_day("from"), until=_day("to", end=True))


@bp.route("/register")
@login_required
def register() -> str:
    _require(access.Action.READ_REGISTER)
    where, page, args = _filter(), _page_number(), _args("user", "archive", "action", "from", "to")
    return render_template("register.html", reg=gateway.register_page(repo(), principal(), where, page), args=args,
                           uses=gateway.USES, may_export=access.may(principal(), access.Action.EXPORT_REGISTER))


@bp.route("/register.csv")
@login_required
def register_csv() -> Response:
    _require(access.Action.EXPORT_REGISTER)
    return _csv(gateway.register_csv(repo(), principal(), _filter()), "access-register.csv")


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 100_000 else 1


def _args(*names: str) -> dict[str, str]:
    """The filters given, to carry into paging and CSV links."""
    return {k: v for k in names if (v := request.args.get(k, "").strip())}


def _csv(text: str, filename: str) -> Response:
    """A CSV download (a BOM first: spreadsheet programs then read UTF-8), never cached."""
    return Response("\ufeff" + text, mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename={filename}", "Cache-Control": "no-store"})


def _security_filter() -> gateway.SecurityFilter:
    event = request.args.get("event", "").strip() or None
    if event is not None and event not in gateway.EVENTS:
        abort(400)
    return gateway.SecurityFilter(username=_text("user", 100), event=event,
                                  since=_day("from"), until=_day("to", end=True))


@bp.route("/security-log")
@login_required
def security_log() -> str:
    _require(access.Action.READ_SECURITY_LOG)
    where, page, args = _security_filter(), _page_number(), _args("user", "event", "from", "to")
    return render_template("security_log.html", log=gateway.security_page(repo().cfg, principal(), where, page),
                           args=args, events=gateway.EVENTS,
                           detail=lambda entry: gateway.shown_detail(entry, current_lang()))


@bp.route("/security-log.csv")
@login_required
def security_log_csv() -> Response:
    _require(access.Action.READ_SECURITY_LOG)
    return _csv(gateway.security_csv(repo().cfg, principal(), _security_filter()), "security-log.csv")
