"""Who may export which archives (移交的权限): the one check the command line, the web and the export job ask.

Only roles that may export (:data:`repository.access.Action.EXPORT`: archivists and administrators) export,
and only archives of their division scope; an archive outside the scope does not exist for them
(``NOT-FOUND``, as on every page), so the answer never discloses it.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import access
from ..access import Action, Principal
from ..errors import HsarError, UsageError
from ..home import Repository


def check_export(repo: Repository, principal: Principal, archive_ids: Sequence[str]) -> list[str]:
    """The archives to export, in order and once each, after the access decision (raises otherwise)."""
    if not access.may(principal, Action.EXPORT):
        raise HsarError(msgid="transfer.forbidden", code="FORBIDDEN", user=principal.username)
    ids = list(dict.fromkeys(archive_ids))
    if not ids:
        raise UsageError(msgid="transfer.no_archives", code="TRF-NONE")
    repo.recover_if_idle()
    for archive_id in ids:
        view = repo.catalog.show(archive_id)
        if view is None or not access.may_see(principal, view.archive.division):
            raise HsarError(msgid="services.not_found", code="NOT-FOUND", archive=archive_id)
    return ids
