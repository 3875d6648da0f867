"""``hsar audit log --verify``: the audit log's chain, its recorded head, and every anchor that names it.

Kept apart from :mod:`.audit` so that checking the log does not import pyHanko (about half a second at
every start): nothing here verifies a signature.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import HsarError
from ..preservation.auditlog import AuditLog, LogHead, LogVerification
from .report import report_anchors
from .select import open_catalog

if TYPE_CHECKING:
    from ..home import Repository


def verify_log(repo: Repository) -> LogVerification:
    """Check the audit log's chain, its recorded head, and every entry named by a report or catalogue row."""
    anchors = report_anchors(repo.paths.reports)
    catalog = open_catalog(repo, [])  # without it, the reports' anchors are still checked
    if catalog is not None:
        try:
            anchors += catalog.log_anchors()
        except HsarError:
            pass
        finally:
            catalog.close()
    return AuditLog(repo.paths.audit).verify(LogHead(seq, digest) for seq, digest in anchors)
