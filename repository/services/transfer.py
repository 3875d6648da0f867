"""Use-cases of transfer (移交): export archives as transfer packages, and the principal a command acts as.

Access is decided by :func:`repository.transfer.scope.check_export` (asking :mod:`repository.access`) for
the command line, the web and the export job alike: only roles that may export (archivists and
administrators) export, and only archives of their division scope; an archive outside the scope does not
exist for them (``NOT-FOUND``, as everywhere). Receiving a package is
part of ``hsar ingest`` (:mod:`repository.services.ingest` routes transfer packages to
:mod:`repository.transfer.receive`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from ..access import NATIONAL, Principal, Role
from ..errors import UsageError
from ..home import Repository
from ..transfer.export import ExportResult, check_out, export_archives
from ..transfer.scope import check_export

__all__ = ["CONSOLE", "check_export", "export", "principal_for"]

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


def export(repo: Repository, principal: Principal, archive_ids: Sequence[str], out: Path, *,
           now: datetime | None = None) -> ExportResult:
    """Export ``archive_ids`` into the new or empty folder ``out``: one transfer package per archive and the
    transfer list (移交清单); each export is a PREMIS ``exporting`` event in the package and the audit log."""
    ids = check_export(repo, principal, archive_ids)
    check_out(out)
    return export_archives(repo, ids, out, principal=principal, now=now)
