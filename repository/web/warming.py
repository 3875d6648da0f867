"""What ``hsar serve`` works out in a background thread as it starts, so the first requests do not pay for it."""

from __future__ import annotations

import threading

from flask import Flask

from . import shared


def warm(app: Flask) -> threading.Thread:
    """Open the shared handles, add the catalogue indexes an older catalogue lacks (once: seconds at 200,000
    archives), count the statistics census, and work out what the process keeps for its pages (the due list of
    disposal, the audit log's and the access register's verifications) in a background thread, so the first
    requests after ``hsar serve`` starts do not pay for them (each takes seconds at 200,000 archives)."""

    def run() -> None:
        from ..services import auditlog, disposal, stats
        from .gateway.accounts import warm_register

        try:
            repo = shared.of(app).repository()
            repo.search  # noqa: B018 - opens the index
            repo.catalog.add_missing_indexes()  # a catalogue made before the census indexes gets them
            stats.census(repo)
            disposal.due(repo)  # every division's list, kept while the catalogue and the day stay the same
            auditlog.verified(repo)
            with app.app_context():  # the state database's shared engine is the application's
                warm_register(repo.cfg)
        except Exception:  # noqa: BLE001 - a request will meet (and report) the same problem
            app.logger.warning("warming the shared handles failed", exc_info=True)

    thread = threading.Thread(target=run, name="hsar-warm", daemon=True)
    thread.start()
    return thread
