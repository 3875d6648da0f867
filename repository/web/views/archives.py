"""The archive page and its documents: description, paper references and shelf location of every item,
items by material class, versions, household-unit links, PREMIS events, last audit, signature, the
four-property report; documents shown in the page (PDF inline, TIFF pages as images, JPEG) or downloaded.

An archive outside the user's scope is a 404 (never 403); every document view or download is registered.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request, send_file
from flask_login import login_required

from ..context import principal, repo
from ..errors import error_page
from ..gateway import archives
from ..i18n import t

bp = Blueprint("archives", __name__, url_prefix="/archives")


@bp.route("/<archive_id>")
@login_required
def show(archive_id: str) -> str | tuple[str, int]:
    page = archives.archive_page(repo(), principal(), archive_id)
    if page is None:
        from .disposal import tombstone_page

        gone = tombstone_page(archive_id)  # a disposed archive in scope: its tombstone (410), not a 404
        if gone is None:
            abort(404)
        return gone
    return render_template("archive.html", page=page, a=page.data)


def _document(archive_id: str, path: str) -> archives.Document:
    try:
        doc = archives.document(repo(), principal(), archive_id, path)
    except archives.Withheld:
        abort(403)
    if doc is None:
        abort(404)
    return doc


@bp.route("/<archive_id>/files/<path:path>")
@login_required
def document(archive_id: str, path: str) -> Response:
    doc = _document(archive_id, path)
    download = request.args.get("download") == "1" or doc.viewer in ("download", "tiff")
    archives.register_use(repo(), principal(), doc, "download" if download else "view")
    response = send_file(doc.file, mimetype=doc.media_type, as_attachment=download,
                         download_name=path.rsplit("/", 1)[-1], conditional=True)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/<archive_id>/view/<path:path>")
@login_required
def viewer(archive_id: str, path: str) -> str | tuple[str, int]:
    """A document in the page: a PDF in a frame, an image, a TIFF page by page (server-side paging)."""
    doc = _document(archive_id, path)
    if doc.viewer == "download":
        abort(404)
    count = archives.tiff_pages(doc) if doc.viewer == "tiff" else 1
    raw = request.args.get("page", "1")
    number = int(raw) if raw.isdigit() and len(raw) < 6 else 0
    if not 1 <= number <= count:
        return error_page(404, "WEB-NO-PAGE", t("web.archive.no_page"))
    from ..gateway.ocr import page_text

    return render_template("viewer.html", doc=doc, number=number, count=count,
                           ocr_text=page_text(repo(), principal(), doc, number))


@bp.route("/<archive_id>/page-image/<int:number>/<path:path>")
@login_required
def page_image(archive_id: str, number: int, path: str) -> Response:
    doc = _document(archive_id, path)
    if doc.viewer != "tiff":
        abort(404)
    png = archives.tiff_page_png(doc, number)
    if png is None:
        abort(404)
    archives.register_use(repo(), principal(), doc, "view")
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, no-store"})
