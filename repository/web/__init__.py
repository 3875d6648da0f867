"""The web application (Flask): ``create_app(home)`` builds it, one blueprint per area (auth, search,
archives); ``hsar serve`` runs it under waitress.

Views parse the request, call one function of :mod:`repository.web.gateway` (the adapters over the
library, later ``repository.services``) and render a template; every text comes from
``data/messages/web.json`` in the user's language.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from flask import Flask

from ..config import load as load_config


def login_limit(attempts: int) -> str:
    """Flask-Limiter's limit for ``web.login_attempts`` sign-in attempts (each POST of the form, right or wrong)
    per address."""
    return f"{attempts} per minute"


def create_app(home: Path | str | None = None, settings: Mapping[str, Any] | None = None) -> Flask:
    """The application for the repository home ``home``; its users are the accounts of the home's state
    database (``hsar user add``). ``settings`` override Flask settings (tests: ``TESTING``,
    ``WTF_CSRF_ENABLED``; deployment: ``HSAR_HTTPS`` marks cookies Secure)."""
    from . import api, context, errors, forms, header, i18n, links, purpose, security, sessions
    from .views import admin, archives, audit, auth, disposal, ingest, ocr, search, stats, transfer

    app = Flask(__name__)
    cfg = load_config(home)
    app.config["HSAR_HOME"] = str(cfg.home)
    app.config["SECRET_KEY"] = os.environ.get("HSAR_SECRET_KEY") or secrets.token_hex(32)
    app.config["MAX_CONTENT_LENGTH"] = 1 << 20
    app.config["RATELIMIT_STORAGE_URI"] = cfg["web.throttle_url"]  # empty: each process's memory (security.install)
    app.config.update(settings or {})
    app.extensions["hsar.config"] = cfg
    forms.install(app)  # a form werkzeug cannot read is refused as such (web/forms.py)
    limiter = security.install(app)
    sessions.install(app)  # a verified session cookie remembered (web/sessions.py)
    i18n.install(app)
    links.install(app)  # the templates' url_for: parameterless links built once
    header.install(app)  # every page's header, made once per language and user
    context.install(app)
    errors.install(app)
    for blueprint in (auth.bp, search.bp, archives.bp):
        app.register_blueprint(blueprint)
    for blueprint in (ingest.bp, admin.bp):  # ingest, jobs, users, access register
        app.register_blueprint(blueprint)
    app.register_blueprint(stats.bp)  # the statistics page
    app.register_blueprint(audit.bp)  # the audit page
    from .views import paper

    app.register_blueprint(paper.bp)  # dual-track reconciliation, the paper register, access copies
    app.register_blueprint(disposal.bp)  # retention and disposal (two people), tombstones
    from .views import scans

    app.register_blueprint(scans.bp)  # the review (开放审核) of scans' researchers' copies
    app.register_blueprint(scans.archive_bp)  # the archive page's form asking for its scans' proposals
    app.register_blueprint(transfer.bp)  # the export action (移交) and its downloads
    app.register_blueprint(ocr.bp)  # OCR text of scanned pages, starting an OCR job
    app.register_blueprint(purpose.bp)  # the purpose of use (利用目的) asked before a registered use
    # sign-in attempts throttled per address here; an account name failing too often is locked in the state
    # database, for every address and process (repository.accounts.lockout, asked by the view)
    throttle = limiter.limit(app.config.get("HSAR_LOGIN_LIMIT", login_limit(cfg["web.login_attempts"])),
                             methods=["POST"])
    app.view_functions["auth.login"] = cast(Any, throttle(app.view_functions["auth.login"]))
    api.install(app)
    if app.config.get("HSAR_WARM", not app.testing):  # hsar serve: handles and statistics ready early
        from .warming import warm

        warm(app)
    return app
