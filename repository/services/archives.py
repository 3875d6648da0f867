"""Use-case: show one archive (查看档案) from the catalogue, after recovering what a killed ingest left.

``hsar show`` and the web's archive page call :func:`show`; masking of resident ID numbers is the caller's
choice of rendering (:mod:`repository.privacy`), the view itself is complete.
"""

from __future__ import annotations

from pathlib import Path

from ..catalog.views import ArchiveView
from ..errors import HsarError
from ..home import Repository
from ..messages import local_stamp
from ..preservation.copies import printable
from ..preservation.ids import object_id


def show(repo: Repository, archive_id: str) -> ArchiveView:
    """The catalogue's view of ``archive_id``; HsarError NOT-FOUND when there is none.

    Recovery runs first (unless an ingest holds the home lock), so an archive whose ingest was killed after
    it was stored is shown as storage holds it.
    """
    shown = printable(archive_id)  # an id that is not UTF-8 (undecodable bytes on a command line) names nothing
    repo.recover_if_idle()
    view = repo.catalog.show(archive_id) if shown == archive_id else None
    if view is None:
        from ..catalog.disposals import get_disposal
        from ..errors import DisposalError

        gone = get_disposal(repo.catalog, archive_id) if shown == archive_id else None
        if gone is not None:  # the catalogue keeps it as disposed of: say so, and where its tombstone is
            raise DisposalError(msgid="disposal.shown_disposed", code="DSP-DISPOSED", archive=shown,
                                when=local_stamp(gone.disposed_at), approved_by=gone.approved_by,
                                proposed_by=gone.proposed_by)
        raise HsarError(msgid="services.not_found", code="NOT-FOUND", archive=shown)
    return view


def stored_at(repo: Repository, archive_id: str) -> Path:
    """Where the archive's OCFL object lies in the primary store (by the storage root's own layout), so that
    staff can find it on disk by its identifier."""
    return repo.store.object_root(object_id(archive_id))
