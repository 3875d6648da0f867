"""The archive page and its documents: description, paper references and shelf location of every item,
items by material class, versions, household-unit links, PREMIS events, last audit, signature, the
four-property report; documents shown in the page (PDF inline, TIFF pages as images, JPEG) or downloaded.

An archive outside the user's scope is a 404 (never 403). Every use goes into the access register with the
session's purpose of use (:mod:`..purpose`, asked first when missing): one line per document view (opening
the viewer; its TIFF page images, the PDF frame's range requests and paging add none, see
:func:`_register_view`), one per download, one per unmasked record shown.
"""

from __future__ import annotations

import time
from typing import NoReturn

from flask import (
    Blueprint,
    Response,
    abort,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse

from ...errors import HsarError
from .. import purpose
from ..context import principal, repo
from ..errors import error_page, withheld
from ..gateway import archives
from ..i18n import current_lang, t
from .archive_rows import item_rows

bp = Blueprint("archives", __name__, url_prefix="/archives")

#: a document viewed again in the same session within this many seconds is the same view (one register line)
VIEW_SECONDS = 30 * 60
_VIEWED = "hsar_viewed"  # session key: "archive|path" -> when its view was registered (epoch seconds)
_VIEWED_MAX = 50


@bp.route("/<archive_id>")
@login_required
def show(archive_id: str) -> str | tuple[str, int] | BaseResponse:
    return archive_response(archive_id)


def archive_response(archive_id: str, status: int = 200, **extra: object) -> tuple[str, int] | BaseResponse:
    """The archive page (``extra``: what a form of the page sends back with its refusal, e.g. the access
    copy's error and the values given, so nothing typed is lost)."""
    try:
        page = archives.archive_page(repo(), principal(), archive_id, purpose.current())
    except archives.PurposeNeeded:
        return redirect(url_for("purpose.ask", next=request.full_path.rstrip("?")))
    if page is None:
        from .disposal import tombstone_page

        gone = tombstone_page(archive_id)  # a disposed archive in scope: its tombstone (410), not a 404
        if gone is None:
            abort(404)
        return gone
    return render_template("archive.html", page=page, a=page.data, purpose=purpose.current(),
                           item_rows=item_rows(page, current_lang()), **extra), status


def _document(archive_id: str, path: str) -> archives.Document:
    try:
        doc = archives.document(repo(), principal(), archive_id, path)
    except archives.Withheld:
        withheld()
    except archives.NoCopy as exc:
        _no_copy(exc.kind, exc.error)
    except archives.CopyPending as pending:  # a long PDF's copy, made by a job: this page waits, then opens it
        abort(make_response(render_template("copy_pending.html", pending=pending), 202,
                            {"Retry-After": "5", "Cache-Control": "no-store"}))
    if doc is None:
        abort(404)
    return doc


def _no_copy(kind: str, error: Exception | None = None) -> NoReturn:
    """403 for a document a researcher receives no copy of (its format, a scan, a PDF no copy can be made of)."""
    reason = error.render(current_lang()) if isinstance(error, HsarError) else ""
    abort(make_response(error_page(403, "WEB-NO-COPY", t(f"web.doc.no_copy.{kind}", reason=reason))))


def _register_view(doc: archives.Document) -> None:
    """One register line per view of a document in this session: again only after :data:`VIEW_SECONDS`."""
    key, now = f"{doc.archive_id}|{doc.path}", time.time()
    seen = dict(session.get(_VIEWED) or {})
    last = seen.get(key)
    if isinstance(last, int | float) and now - last < VIEW_SECONDS:
        return
    archives.register_use(repo(), principal(), doc, "view", purpose.current() or "")
    seen[key] = now
    if len(seen) > _VIEWED_MAX:
        seen = dict(sorted(seen.items(), key=lambda kv: kv[1])[-_VIEWED_MAX:])
    session[_VIEWED] = seen


@bp.route("/<archive_id>/files/<path:path>")
@login_required
@purpose.required
def document(archive_id: str, path: str) -> Response:
    doc = _document(archive_id, path)
    if not doc.sendable:
        _no_copy("text")
    download = request.args.get("download") == "1" or doc.viewer in ("download", "tiff")
    try:
        response = send_file(doc.file, mimetype=doc.media_type, as_attachment=download,
                             download_name=doc.download_name(current_lang()), conditional=True)
    except FileNotFoundError:  # a researcher's copy the cache's bound removed since it was looked up: made again
        if not doc.copy:
            raise
        doc = _document(archive_id, path)
        response = send_file(doc.file, mimetype=doc.media_type, as_attachment=download,
                             download_name=doc.download_name(current_lang()), conditional=True)
    response.headers["Cache-Control"] = "private, no-store"
    if download:
        return purpose.registered(response, lambda: archives.register_use(repo(), principal(), doc, "download",
                                                                           purpose.current() or ""))
    return purpose.registered(response, lambda: _register_view(doc))


@bp.route("/<archive_id>/view/<path:path>")
@login_required
@purpose.required
def viewer(archive_id: str, path: str) -> str | tuple[str, int]:
    """A document in the page: a PDF in a frame, an image, a TIFF page by page (server-side paging)."""
    doc = _document(archive_id, path)
    if doc.viewer == "download":
        abort(404)
    if doc.viewer == "scan-copy":  # a scan's approved copy: its page images
        count = len(doc.pages)
    else:
        count = archives.tiff_pages(doc) if archives.viewer_of(doc.path, True) == "tiff" else 1  # (a scan's too)
    raw = request.args.get("page", "1")
    number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 6 else 0
    if not 1 <= number <= count:
        return error_page(404, "WEB-NO-PAGE", t("web.archive.no_page"))
    if doc.viewer in ("tiff", "scan", "scan-copy"):  # (a scan's OCR text is its content: a view as well)
        _register_view(doc)
    from ..gateway.ocr import page_text

    return render_template("viewer.html", doc=doc, number=number, count=count,
                           ocr_text=page_text(repo(), principal(), doc, number))


@bp.route("/<archive_id>/page-image/<int:number>/<path:path>")
@login_required
@purpose.required
def page_image(archive_id: str, number: int, path: str) -> Response:
    doc = _document(archive_id, path)
    if doc.viewer == "scan-copy":  # a scan's approved copy (a researcher): the page painted over
        if not 1 <= number <= len(doc.pages):
            abort(404)
        _register_view(doc)
        response = send_file(doc.pages[number - 1], mimetype="image/jpeg", conditional=True)
        response.headers["Cache-Control"] = "private, no-store"
        return response
    if doc.viewer != "tiff":
        abort(404)
    png = archives.tiff_page_png(doc, number)
    if png is None:
        abort(404)
    _register_view(doc)  # the viewer registered it already, unless the image is fetched on its own
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, no-store"})
