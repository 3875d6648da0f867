"""Access copies (利用副本, OAIS DIP) through the JSON API: ``POST /api/v1/archives/<id>/access-copy`` asks for
one as the archive page's form does (:func:`..gateway.transfer.submit_access_copy`: the request checked by
:func:`repository.services.access_copy.check_request`, then an ``access-copy`` job, the same request of the same
user on the same day, while the archive has no new version, the same job), and ``hsar worker`` makes the zip,
offered by ``GET /api/v1/jobs/<id>`` (``downloads``) and sent by ``GET /api/v1/jobs/<id>/export/<name>``.

The body is the form's fields as JSON: ``purpose`` (required), ``items`` (an array of item numbers; left out:
every item), ``format`` (what TIFF pages become), ``mask``, and ``language`` (the README's; default the
caller's). A refusal carries the form's stable code in the API's style, ``API-`` before it (``DIP-PURPOSE``
becomes ``API-DIP-PURPOSE``); a body of the wrong shape is ``API-DIP-BODY`` (or ``API-DIP-ITEMS``). An
archive outside the caller's scope is 404 ``API-NOT-FOUND``, whatever the body. Nothing is queued on any refusal.
"""

from __future__ import annotations

from typing import Any

from ... import messages
from ...errors import AccessCopyError
from ...home import Repository
from ...jobs.params import MAX_COPY_ITEMS
from ...services.access_copy import CopyRequest
from ..gateway import transfer
from ..gateway.access import Principal
from .adapters import Refused, job_dict, not_found
from .spec import ACCESS_COPY, LARGEST_ITEM

FIELDS = tuple(ACCESS_COPY["properties"])  # purpose, items, format, mask, language


def _items(value: object) -> tuple[int, ...] | None:
    if value is None:
        return None
    if not (isinstance(value, list) and 0 < len(value) <= MAX_COPY_ITEMS and all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= LARGEST_ITEM for i in value)):
        raise Refused(400, "API-DIP-ITEMS", "api_copy.items", largest=LARGEST_ITEM, limit=MAX_COPY_ITEMS)
    return tuple(value)


def parse(archive_id: str, body: object, lang: str) -> tuple[CopyRequest, str]:
    """The request ``body`` makes, and the README's language; Refused 400 for a body of the wrong shape (what
    it asks is then checked by the access copy's own rules)."""
    if not isinstance(body, dict) or not set(body) <= set(FIELDS):
        raise Refused(400, "API-DIP-BODY", "api_copy.body", fields=", ".join(FIELDS))
    mask, language = body.get("mask", False), body.get("language", lang)
    if not isinstance(mask, bool):
        raise Refused(400, "API-DIP-BODY", "api_copy.mask")
    if language not in messages.LANGS:
        raise Refused(400, "API-DIP-BODY", "api_copy.language", choices=", ".join(messages.LANGS))
    purpose, fmt = body.get("purpose", ""), body.get("format", "pdf")
    req = CopyRequest(archive_id, purpose if isinstance(purpose, str) else "", _items(body.get("items")), mask,
                      fmt if isinstance(fmt, str) else str(fmt)[:20])
    return req, str(language)


def start(repo: Repository, principal: Principal, archive_id: str, body: object, lang: str) -> dict[str, Any]:
    """The access-copy job of the request ``body`` makes (an existing one for the same request today); 404
    outside the scope, 403 ``API-DIP-WITHHELD`` for documents the caller may not open, 400 ``API-<code>`` for a
    request the copy refuses, with the message in ``lang``; nothing queued on any refusal."""
    try:
        req, language = parse(archive_id, body, lang)
    except Refused:  # a body of the wrong shape, for an archive outside the scope: 404 first, as on every route
        if not transfer.archive_visible(repo, principal, archive_id):
            raise not_found() from None
        raise
    try:
        job = transfer.submit_access_copy(repo, principal, req, language)
    except AccessCopyError as exc:
        status = 403 if exc.code == "DIP-WITHHELD" else 400
        raise Refused(status, f"API-{exc.code}", "", text=exc.render(lang)) from None
    if job is None:
        raise not_found()
    return job_dict(job)
