"""Use-case: show one archive (查看档案) from the catalogue, after recovering what a killed ingest left.

``hsar show`` and the web's archive page call :func:`show`; masking of resident ID numbers is the caller's
choice of rendering (:mod:`repository.privacy`), the view itself is complete.
"""

from __future__ import annotations

from ..catalog.views import ArchiveView
from ..errors import HsarError
from ..home import Repository
from ..preservation.copies import printable


def show(repo: Repository, archive_id: str) -> ArchiveView:
    """The catalogue's view of ``archive_id``; HsarError NOT-FOUND when there is none.

    Recovery runs first (unless an ingest holds the home lock), so an archive whose ingest was killed after
    it was stored is shown as storage holds it.
    """
    shown = printable(archive_id)  # an id that is not UTF-8 (undecodable bytes on a command line) names nothing
    repo.recover_if_idle()
    view = repo.catalog.show(archive_id) if shown == archive_id else None
    if view is None:
        raise HsarError(msgid="services.not_found", code="NOT-FOUND", archive=shown)
    return view
