"""Use-cases of transfer (移交): export archives as transfer packages, and the principal a command acts as.

Access is decided here, once, for the command line and the web alike (:mod:`repository.access`): only
roles that may export (archivists and administrators) export, and only archives of their division scope;
an archive outside the scope does not exist for them (``NOT-FOUND``, as everywhere). Receiving a package is
part of ``hsar ingest`` (:mod:`repository.services.ingest` routes transfer packages to
:mod:`repository.transfer.receive`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from .. import access
from ..access import NATIONAL, Action, Principal, Role
from ..errors import HsarError, UsageError
from ..home import Repository
from ..transfer.export import ExportResult, check_out, export_archives

#: Who acts when the command line names no account: the operator of the machine, who holds the home.
CONSOLE = Principal("console", Role.ADMIN, NATIONAL)


def principal_for(repo: Repository, username: str | None) -> Principal:
    """The account ``username`` as a principal (its role and division scope), or :data:`CONSOLE`."""
    if username is None:
        return CONSOLE
    from ..accounts.users import get_user
    from ..state.db import open_state

    with open_state(repo.cfg.state_url) as state:
        user = get_user(state, username)
    if user is None or not user.active:
        raise UsageError(msgid="transfer.unknown_user", code="TRF-USER", user=username)
    return Principal(user.username, Role(user.role), user.division)


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


def export(repo: Repository, principal: Principal, archive_ids: Sequence[str], out: Path, *,
           now: datetime | None = None) -> ExportResult:
    """Export ``archive_ids`` into the new or empty folder ``out``: one transfer package per archive and the
    transfer list (移交清单); each export is a PREMIS ``exporting`` event in the package and the audit log."""
    ids = check_export(repo, principal, archive_ids)
    check_out(out)
    return export_archives(repo, ids, out, user=principal.username, now=now)
