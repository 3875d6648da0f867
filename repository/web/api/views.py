"""The JSON API's views, one per row of :data:`.spec.ROUTES` (same name): parse by the table, call one
gateway or adapter function, answer JSON. Access is decided below (gateways, adapters, repository.access)."""

from __future__ import annotations

import json
from typing import Any

import orjson
from flask import Response, current_app, g, jsonify, request, send_file
from werkzeug.wrappers import Response as WerkzeugResponse

from ... import access, messages
from .. import purpose
from ..context import repo
from ..gateway import archives
from ..gateway.access import Action, Principal
from ..gateway.jobs import Incoming, queued_ahead
from ..purpose import registered
from . import adapters, copies, figures, spec, uploads
from .adapters import Refused, not_found


def _args(name: str) -> dict[str, Any]:
    try:
        return spec.parse_args(spec.BY_NAME[name], request.args)
    except ValueError as exc:
        raise Refused(400, "API-PARAM", "api.bad_param", name=str(exc)) from None


def openapi() -> Response:
    return jsonify(spec.openapi())


def search() -> Response:
    from ...errors import SearchError, SearchRequestError
    from ...services.index_check import check_index

    args = _args("search")
    try:
        national = access.scope_division(g.api_caller.principal) is None  # others are told no count of the whole
        behind = check_index(repo(), national=national)  # as `hsar search`: said so, never 0 hits
        found = adapters.search(repo(), g.api_caller.principal, args)
    except SearchError as exc:  # a bad request (400), or an index that cannot answer (SEARCH-STALE: 503)
        status = 400 if isinstance(exc, SearchRequestError) else 503
        raise Refused(status, exc.code, "", text=exc.render(g.api_caller.lang)) from None
    if behind is not None:
        counts = {"indexed": behind.indexed, "catalogued": behind.catalogued} if national else {}
        found["index_behind"] = {**counts, "message": behind.text(g.api_caller.lang)}
    return answer(found)


def answer(value: Any) -> Response:  # noqa: ANN401 - any JSON-ready value
    """``value`` as a compact JSON answer, UTF-8 as it is (not sorted, not \\u-escaped: a fifth smaller than
    jsonify's), by orjson (several times quicker than the json module); a value orjson refuses (an integer
    beyond 64 bits, a key not a string) by the json module, the same JSON."""
    try:
        body = orjson.dumps(value)
    except orjson.JSONEncodeError:
        body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, mimetype="application/json")


def _purpose() -> str | None:
    return purpose.from_api(request.args, request.headers)


def _no_purpose() -> Refused:
    return Refused(400, "API-PURPOSE", "web_more.api.purpose_required")


def _no_copy(kind: str, error: Exception | None) -> Refused:
    """403 API-NO-COPY: the caller receives researchers' copies, and this document has none (a scan: its OCR
    text is read on the archive's OCR page; another format; a PDF no copy can be made of, ``reason``)."""
    from ...errors import HsarError

    reason = error.render(g.api_caller.lang) if isinstance(error, HsarError) else ""
    return Refused(403, "API-NO-COPY", f"web.doc.no_copy.{kind}", reason=reason)


def archive(archive_id: str) -> Response:
    _args("archive")
    try:
        page = archives.archive_page(repo(), g.api_caller.principal, archive_id, _purpose())
    except archives.PurposeNeeded:
        raise _no_purpose() from None
    if page is None:
        raise not_found()
    return jsonify({"archive": page.data, "view": page.view, "division_name": page.division_name,
                    "may_open": page.may_open, "last_audit": adapters.iso(page.last_audit),
                    "signature": page.signature, "checks": page.checks})


def _document(principal: Principal, archive_id: str, path: str) -> archives.Document | Response:
    """The document for ``principal``, or the 202 answer while its copy is being made (:class:`CopyPending`)."""
    try:
        doc = archives.document(repo(), principal, archive_id, path)
    except archives.Withheld:
        doc = None  # a document the user may not open does not exist for them (404, as an unknown one)
    except archives.NoCopy as exc:  # a researcher, and a document of which no researcher's copy exists
        raise _no_copy(exc.kind, exc.error) from None
    except archives.CopyPending as pending:  # a long PDF's copy, made by a job: ask again when it has finished
        body = {"code": "API-COPY-PENDING", "job": pending.job_id, "pages": pending.pages,
                "queued_ahead": queued_ahead(repo().cfg, principal, pending.job_id),
                "message": messages.text("api.copy_pending", g.api_caller.lang, job=pending.job_id)}
        return Response(json.dumps(body, ensure_ascii=False), status=202, mimetype="application/json",
                        headers={"Retry-After": "5", "Cache-Control": "no-store"})
    if doc is None:
        raise not_found()
    return doc


def download(archive_id: str, path: str) -> Response:
    _args("download")
    principal = g.api_caller.principal
    doc = _document(principal, archive_id, path)
    if isinstance(doc, Response):
        return doc
    if not doc.sendable:
        raise _no_copy("text", None)
    given = _purpose()
    if given is None:
        raise _no_purpose()
    try:
        response = send_file(doc.file, mimetype=doc.media_type, as_attachment=True,
                             download_name=doc.download_name(g.api_caller.lang), conditional=True)
    except FileNotFoundError:  # a researcher's copy the cache's bound removed since it was looked up: made again
        if not doc.copy:
            raise
        doc = _document(principal, archive_id, path)
        if isinstance(doc, Response):
            return doc
        response = send_file(doc.file, mimetype=doc.media_type, as_attachment=True,
                             download_name=doc.download_name(g.api_caller.lang), conditional=True)
    response.headers["Cache-Control"] = "private, no-store"
    return registered(response, lambda: adapters.record_download(repo(), principal, archive_id, doc.path, given))


def audit_log() -> Response:
    args = _args("audit_log")
    return jsonify({"entries": adapters.audit_log(repo(), g.api_caller.principal, args["count"])})


def register() -> Response:
    args = _args("register")
    return jsonify({"entries": adapters.register(repo(), g.api_caller.principal, args)})


def security_log() -> Response:
    args = _args("security_log")
    return jsonify({"entries": adapters.security_log(repo(), g.api_caller.principal, args)})


def submit_job() -> tuple[Response, int]:
    from ...jobs.queue import JobParamsError

    body = request.get_json(silent=True)
    try:
        found = adapters.submit_job(repo(), g.api_caller.principal, body)
    except JobParamsError as exc:
        raise Refused(400, exc.code, "", text=exc.render(g.api_caller.lang)) from None
    current_app.logger.info("job %s submitted by %s", found["id"], g.api_caller.principal.username)
    return jsonify(found), 202


def job(job_id: str) -> Response:
    return jsonify(adapters.job(repo(), g.api_caller.principal, job_id))


def job_file(job_id: str, name: str) -> WerkzeugResponse:
    """A file a finished export or access-copy job offers (its ``downloads``): the web's download, its checks
    and its register line (:func:`..views.transfer.export_response`)."""
    from ..views.transfer import export_response

    response = export_response(g.api_caller.principal, job_id, name)
    if response is None:
        raise not_found()
    return response


def access_copy(archive_id: str) -> tuple[Response, int]:
    principal = g.api_caller.principal
    found = copies.start(repo(), principal, archive_id, request.get_json(silent=True), g.api_caller.lang)
    current_app.logger.info("access-copy job %s submitted by %s", found["id"], principal.username)
    response = jsonify(found)
    response.headers["Location"] = f"{spec.PREFIX}/jobs/{found['id']}"
    return response, 202


def ingest() -> tuple[Response, int]:
    principal = g.api_caller.principal
    adapters.require(principal, Action.INGEST)  # before the form (perhaps gigabytes) is read
    files = [Incoming(f.stream, f.filename) for f in request.files.getlist(uploads.FIELD) if f.filename]
    jobs = uploads.ingest(repo(), principal, files)
    current_app.logger.info("ingest jobs %s submitted by %s", ", ".join(j["id"] for j in jobs), principal.username)
    response = answer(jobs)
    if len(jobs) == 1:
        response.headers["Location"] = f"{spec.PREFIX}/jobs/{jobs[0]['id']}"
    return response, 202


def statistics() -> Response:
    return answer(figures.statistics(repo(), g.api_caller.principal, g.api_caller.lang))


def paper() -> Response:
    return answer(figures.paper(repo(), g.api_caller.principal, g.api_caller.lang, _args("paper")))


def audits() -> Response:
    return answer(figures.audits(repo(), g.api_caller.principal, g.api_caller.lang))
