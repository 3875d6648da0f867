"""The JSON API's one table of routes: path, method, parameters and response schemas. The blueprint is built
from it (:func:`repository.web.api.install`), the OpenAPI 3.0 document is rendered from it
(:func:`openapi`) and query parameters are parsed by it (:func:`parse_args`), so routes, validation and
documentation cannot drift apart."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...dip.copies import FORMATS, MAX_PURPOSE
from ...jobs.params import MAX_COPY_ITEMS
from ...messages import LANGS
from ..gateway import searching
from ..gateway.accounts import EVENTS as SECURITY_EVENTS
from ..gateway.archives import ALL_VIEWERS

PREFIX = "/api/v1"
VERSION = "1.0.0"

Schema = dict[str, Any]

ERROR: Schema = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}
OBJECT: Schema = {"type": "object"}
COPY_PENDING: Schema = {"type": "object", "required": ["code", "message", "job"], "properties": {
    "code": {"type": "string", "enum": ["API-COPY-PENDING"]}, "message": {"type": "string"},
    "job": {"type": "string"}, "pages": {"type": "integer", "nullable": True},
    "queued_ahead": {"type": "integer", "minimum": 0, "nullable": True,
                     "description": "how many queued jobs wait ahead of the named job (a count only; null: it has "
                     "started)"}}}
#: a file a finished export or access-copy job offers while it is kept (and, for an access copy, while its
#: archive is still the user's to use): ``url`` is its download (``GET /jobs/{job_id}/export/{name}``)
DOWNLOAD: Schema = {"type": "object", "required": ["name", "url"], "properties": {
    "name": {"type": "string"}, "url": {"type": "string"}}}
JOB: Schema = {"type": "object", "required": ["id", "kind", "state"], "properties": {
    "id": {"type": "string"}, "kind": {"type": "string"}, "state": {"type": "string"},
    "username": {"type": "string", "nullable": True},
    "progress": OBJECT, "error_code": {"type": "string", "nullable": True},
    "no_worker": {"type": "boolean", "description": "queued for more than 30 s and no `hsar worker` seems to run "
                  "(none has beaten in 30 s): an administrator must start one"},
    "queued_ahead": {"type": "integer", "minimum": 0, "nullable": True,
                     "description": "how many queued jobs (of any user and kind: a count only) wait ahead of this "
                     "one, queued earlier and not started either; null when it is not queued (running, finished), "
                     "or not counted (the jobs of an upload)"},
    "downloads": {"type": "array", "items": DOWNLOAD,
                  "description": "Export and access-copy jobs only: the files to download now"}}}
FACET_VALUE: Schema = {"type": "object", "required": ["value", "count", "depth"], "properties": {
    "value": {"type": "string"}, "count": {"type": "integer", "minimum": 0}, "depth": {"type": "integer"}}}
HIT: Schema = {"type": "object", "required": ["archive_id", "title", "division", "items", "paper"], "properties": {
    "archive_id": {"type": "string"}, "title": {"type": "string"}, "division": {"type": "string"},
    "items": {"type": "array", "items": OBJECT}, "paper": {"type": "array", "items": OBJECT},
    "highlights": OBJECT, "type": {"type": "string"}, "version": {"type": "string"}, "score": {"type": "number"}}}
SEARCH: Schema = {"type": "object", "required": ["total", "page", "per_page", "pages", "hits", "facets"],
                  "properties": {
                      "total": {"type": "integer", "minimum": 0}, "page": {"type": "integer"},
                      "per_page": {"type": "integer"}, "pages": {"type": "integer"},
                      "hits": {"type": "array", "items": HIT},
                      "facets": {"type": "object", "additionalProperties": {"type": "array", "items": FACET_VALUE}},
                      "division_names": {"type": "object", "additionalProperties": {"type": "string"}},
                      # the index lacks some of the catalogue's archives (run `hsar reindex`); none: 503 SEARCH-STALE
                      # (the counts only for a user who sees every division)
                      "index_behind": {"type": "object", "required": ["message"],
                                       "properties": {"indexed": {"type": "integer", "minimum": 0},
                                                      "catalogued": {"type": "integer", "minimum": 0},
                                                      "message": {"type": "string"}}}}}
#: what each ``files[].viewer`` value means (:func:`repository.web.gateway.archives.viewer_of`); every value the
#: code can give must be here (the enum is :data:`~repository.web.gateway.archives.ALL_VIEWERS`: a new viewer
#: without its meaning fails at import)
VIEWER_MEANINGS = {
    "pdf": "a PDF, shown in a frame: the stored file; for a user who receives researchers' copies (researchers), "
           "the researcher's copy, personal data painted over (one that cannot be made: download 403 API-NO-COPY)",
    "image": "a JPEG or PNG image, shown as it is stored (users who receive the originals)",
    "tiff": "a TIFF scan, shown page by page as images (users who receive the originals)",
    "download": "a stored file no viewer shows (XML, office documents, ...): offered for download only "
                "(users who receive the originals)",
    "scan": "a scan (TIFF, JPEG, PNG) for a user who receives researchers' copies: its stored bytes are never "
            "sent. Until an archivist has approved its researcher's copy (open review, 开放审核) only its masked "
            "OCR text is shown (download: 403 API-NO-COPY); once approved, its pages with personal data painted "
            "over as approved are shown and the download is a PDF of them",
    "none": "a file of which no researcher's copy exists, for a user who receives researchers' copies: neither "
            "shown nor sent (download: 403 API-NO-COPY)",
}
FILE: Schema = {"type": "object", "required": ["path", "viewer"], "properties": {
    "path": {"type": "string"}, "size": {"type": "integer", "minimum": 0}, "sha512": {"type": "string"},
    "puid": {"type": "string", "nullable": True}, "format_name": {"type": "string", "nullable": True},
    "format_version": {"type": "string", "nullable": True}, "policy": {"type": "string", "nullable": True},
    "item_number": {"type": "integer", "nullable": True}, "version_added": {"type": "string"},
    "ref": {"type": "string", "nullable": True, "pattern": "^~[0-9]+\\.[0-9]+$",
            "description": "The file's reference: `~N.K` is the K-th file of item N (its place in the item's "
                           "`files`). The download route takes it in place of the path; use it: a path shown "
                           "masked (a person's name in a file name) names no file. Null for a file of no item."},
    "viewer": {"type": "string", "enum": list(ALL_VIEWERS),
               "description": "How the archive page shows the file to this user:\n"
                              + "\n".join(f"- `{v}`: {VIEWER_MEANINGS[v]}" for v in ALL_VIEWERS)}}}
ARCHIVE: Schema = {"type": "object", "required": ["archive", "view", "division_name", "may_open"], "properties": {
    "archive": {"type": "object", "required": ["identifier", "description", "files"],
                "properties": {"files": {"type": "array", "items": FILE}}},
    "view": {"type": "string", "enum": ["full", "masked", "entry"]}, "division_name": {"type": "string"},
    "may_open": {"type": "boolean"}, "last_audit": {"type": "string", "nullable": True},
    "signature": {"type": "object", "nullable": True}, "checks": {"nullable": True}}}
LOG: Schema = {"type": "object", "required": ["entries"], "properties": {"entries": {"type": "array", "items": OBJECT}}}
REGISTER_ENTRY: Schema = {"type": "object", "required": ["seq", "at", "username", "action", "archive_id", "purpose"],
                          "properties": {"seq": {"type": "integer"}, "at": {"type": "string"},
                                         "username": {"type": "string"}, "role": {"type": "string"},
                                         "action": {"type": "string"}, "archive_id": {"type": "string"},
                                         "item": {"type": "string", "nullable": True},
                                         "purpose": {"type": "string"}, "masked": {"type": "boolean"}}}
REGISTER: Schema = {"type": "object", "required": ["entries"],
                    "properties": {"entries": {"type": "array", "items": REGISTER_ENTRY}}}
SECURITY_ENTRY: Schema = {"type": "object", "required": ["seq", "at", "username", "role", "event", "subject",
                                                     "address", "detail", "prev_hash", "hash"],
                           "properties": {"seq": {"type": "integer"}, "at": {"type": "string"},
                                          "username": {"type": "string"}, "role": {"type": "string"},
                                          "event": {"type": "string"}, "subject": {"type": "string"},
                                          "division": {"type": "string"}, "address": {"type": "string"},
                                          "detail": OBJECT, "prev_hash": {"type": "string"},
                                          "hash": {"type": "string"}}}
SECURITY_LOG: Schema = {"type": "object", "required": ["entries"],
                        "properties": {"entries": {"type": "array", "items": SECURITY_ENTRY}}}
JOB_REQUEST: Schema = {"type": "object", "required": ["kind"], "properties": {
    "kind": {"type": "string", "enum": ["audit", "reindex", "paper"]}, "params": OBJECT}}
JOBS: Schema = {"type": "array", "minItems": 1, "items": JOB}
#: the largest item number (件号) an access copy's request names (the archive page's form takes six digits)
LARGEST_ITEM = 999_999
#: an access copy's request: the archive page's form as JSON (repository/web/api/copies.py)
ACCESS_COPY: Schema = {"type": "object", "required": ["purpose"], "additionalProperties": False, "properties": {
    "purpose": {"type": "string", "maxLength": MAX_PURPOSE, "description": "利用目的, the purpose of use (required)"},
    "items": {"type": "array", "minItems": 1, "maxItems": MAX_COPY_ITEMS,
              "items": {"type": "integer", "minimum": 0, "maximum": LARGEST_ITEM},
              "description": "Item numbers (件号) to copy; left out: every item"},
    "format": {"type": "string", "enum": list(FORMATS), "default": FORMATS[0],
               "description": "What TIFF pages become: one PDF, or JPEG images page by page"},
    "mask": {"type": "boolean", "default": False,
             "description": "Mask personal data (a researcher's copy is masked anyway)"},
    "language": {"type": "string", "enum": list(LANGS),
                 "description": "The README's language; default the token user's"}}}
#: the ingest form: one or more SIP files (zip or tar) in the field ``sips``, as the ingest page sends them
UPLOAD: Schema = {"type": "object", "required": ["sips"], "properties": {
    "sips": {"type": "array", "minItems": 1, "items": {"type": "string", "format": "binary"}}}}

_COUNT = {"type": "integer", "minimum": 0}
#: a filter's text: no control character (a NUL, which PostgreSQL's text columns refuse, among them)
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
_WHEN = {"type": "string", "nullable": True}
#: a count of the whole repository: null for a user below the national scope
_COUNT_OR_NONE = {"type": "integer", "minimum": 0, "nullable": True}
STAT_ROW: Schema = {"type": "object", "required": ["value", "name", "label", "depth", "numbers"], "properties": {
    "value": {"type": "string"}, "name": {"type": "string"}, "label": {"type": "string"},
    "depth": {"type": "integer", "minimum": 0},
    "numbers": {"type": "object", "additionalProperties": _COUNT}}}
STAT_TABLE: Schema = {"type": "object", "required": ["title", "columns", "rows"], "properties": {
    "title": {"type": "string"},
    "columns": {"type": "array", "items": {"type": "string", "enum": ["archives", "items", "files", "bytes"]}},
    "rows": {"type": "array", "items": STAT_ROW}}}
STATISTICS: Schema = {"type": "object", "required": ["scope", "order", "tables"], "properties": {
    "scope": {"type": "object", "required": ["division", "name"],
              "properties": {"division": {"type": "string"}, "name": {"type": "string"}}},
    "order": {"type": "array", "items": {"type": "string"}},
    "tables": {"type": "object", "additionalProperties": STAT_TABLE}}}
EXPLAINED: Schema = {"type": "object", "required": ["code", "text"], "properties": {
    "code": {"type": "string"}, "text": {"type": "string"}}}
AUDIT_RUN: Schema = {"type": "object", "required": ["archive_id", "started", "result", "issues"], "properties": {
    "archive_id": {"type": "string"}, "version": {"type": "string", "nullable": True},
    "started": {"type": "string"}, "finished": _WHEN, "result": {"type": "string"},
    "files_checked": _COUNT, "bytes_checked": _COUNT, "repaired_from": {"type": "string", "nullable": True},
    "issues": {"type": "array", "items": EXPLAINED}}}
AUDITS: Schema = {"type": "object", "required": ["log", "runs", "failures", "repairs", "due", "due_total",
                                                 "interval_days", "replicas", "reports"], "properties": {
    "log": {"type": "object", "required": ["ok", "entries", "issues"], "properties": {
        "ok": {"type": "boolean"}, "entries": _COUNT_OR_NONE, "head": {"type": "object", "nullable": True},
        "beyond_head": _COUNT_OR_NONE, "issues": {"type": "array", "items": OBJECT}}},
    "runs": {"type": "array", "items": AUDIT_RUN}, "failures": {"type": "array", "items": AUDIT_RUN},
    "repairs": {"type": "array", "items": AUDIT_RUN},
    "due": {"type": "array", "items": {"type": "object", "required": ["archive_id", "last_checked"], "properties": {
        "archive_id": {"type": "string"}, "last_checked": _WHEN}}},
    "due_total": _COUNT, "interval_days": {"type": "integer"},
    "replicas": {"type": "array", "items": {"type": "object", "required": ["label", "root", "usable"], "properties": {
        "label": {"type": "string"}, "root": {"type": "string"}, "usable": {"type": "boolean"},
        "last_copy": _WHEN, "copies": _COUNT_OR_NONE}}},
    "reports": {"type": "array", "items": {"type": "string"}}}}

_CODE_COUNTS: Schema = {"type": "object", "additionalProperties": _COUNT}
PAPER_FINDING: Schema = {"type": "object", "required": ["code", "severity", "division", "message"], "properties": {
    "code": {"type": "string"}, "severity": {"type": "string"}, "division": {"type": "string"},
    "archive_id": {"type": "string", "nullable": True}, "item": {"type": "integer", "nullable": True},
    "paper_ref": {"type": "string"}, "line": {"type": "integer", "nullable": True}, "message": {"type": "string"}}}
PAPER: Schema = {"type": "object", "required": ["stored", "made", "stale", "clean", "totals", "divisions", "findings",
                                                "count", "page", "per_page", "pages"], "properties": {
    "stored": {"type": "boolean"},
    "made": {"type": "object", "nullable": True, "required": ["at", "started_by"], "properties": {
        "at": {"type": "string"}, "started_by": {"type": "string"}, "job_id": {"type": "string", "nullable": True}}},
    "stale": {"type": "object", "nullable": True, "required": ["register_imported_at", "catalogue_changed"],
              "properties": {"register_imported_at": _WHEN, "catalogue_changed": {"type": "boolean"}}},
    "clean": {"type": "boolean"}, "totals": _CODE_COUNTS, "register_rows": _COUNT, "electronic_items": _COUNT,
    "divisions": {"type": "array", "items": {"type": "object", "required": ["division", "name", "depth", "counts"],
                                             "properties": {"division": {"type": "string"}, "name": {"type": "string"},
                                                            "depth": {"type": "integer", "minimum": 0},
                                                            "counts": _CODE_COUNTS, "total": _COUNT}}},
    "findings": {"type": "array", "items": PAPER_FINDING},
    "count": _COUNT, "page": {"type": "integer", "minimum": 1}, "per_page": {"type": "integer", "minimum": 1},
    "pages": {"type": "integer", "minimum": 1}}}

TEXT = {"type": "string", "maxLength": 500}


@dataclass(frozen=True)
class Param:
    name: str
    schema: Schema
    where: str = "query"  # query, path or header
    required: bool = False
    default: Any = None  # noqa: ANN401 - the parsed value's type

    def parse(self, raw: str) -> Any:  # noqa: ANN401 - int or str by the schema
        """The value of ``raw`` by the schema; ValueError when it does not fit."""
        s = self.schema
        if s["type"] == "integer":
            if not re.fullmatch(r"-?\d{1,9}", raw):
                raise ValueError(raw)
            value: Any = int(raw)
            if value < s.get("minimum", value) or value > s.get("maximum", value):
                raise ValueError(raw)
            return value
        if len(raw) > s.get("maxLength", 10_000) or ("enum" in s and raw not in s["enum"]):
            raise ValueError(raw)
        if "pattern" in s and not re.fullmatch(s["pattern"], raw):
            raise ValueError(raw)
        return raw


@dataclass(frozen=True)
class Route:
    name: str  # the view function in repository.web.api.views and the endpoint name
    method: str
    rule: str  # Flask rule below PREFIX
    summary: str
    params: tuple[Param, ...] = ()
    ok: tuple[int, Schema | None] = (200, OBJECT)  # None: a file, any media type
    errors: tuple[int, ...] = (400, 401)
    auth: bool = True
    body: Schema | None = None
    body_type: str = "application/json"  # the request body's media type
    also: tuple[tuple[int, str, Schema], ...] = ()  # other answers that are not errors: (status, description, schema)

    @property
    def path(self) -> str:
        """The OpenAPI path: ``<path:x>`` and ``<x>`` become ``{x}``."""
        return PREFIX + re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", self.rule)


def _path(name: str) -> Param:
    return Param(name, {"type": "string", "minLength": 1, "maxLength": 300}, "path", True)


_PAGE = Param("page", {"type": "integer", "minimum": 1, "maximum": 9999}, default=1)
FACET_PATTERN = "(" + "|".join(searching.FACETS) + ")(,(" + "|".join(searching.FACETS) + "))*"
SEARCH_PARAMS = (
    Param("q", TEXT, default=""),
    *(Param(name, TEXT) for name in searching.ADVANCED),
    _PAGE,
    Param("per_page", {"type": "integer", "minimum": 1, "maximum": 100}, default=searching.PER_PAGE),
    Param("sort", {"type": "string", "enum": list(searching.SORTS)}),
    Param("facet", {"type": "string", "maxLength": 200, "pattern": FACET_PATTERN}),
)

#: the purpose of use (利用目的) of a registered use: a query parameter or a header (required when the use is
#: registered: a document download, an unmasked record; 400 API-PURPOSE without it)
PURPOSE = (Param("purpose", {"type": "string", "maxLength": 200}),
           Param("X-HSAR-Purpose", {"type": "string", "maxLength": 200}, "header"))

ROUTES: tuple[Route, ...] = (
    Route("openapi", "GET", "/openapi.json", "This OpenAPI document", errors=(), auth=False),
    Route("search", "GET", "/search", "Search within the token user's scope (as the search page)",
          SEARCH_PARAMS, (200, SEARCH), (400, 401, 503)),
    Route("archive", "GET", "/archives/<archive_id>", "One archive as the user may see it (masked for researchers)",
          (_path("archive_id"), *PURPOSE), (200, ARCHIVE), (400, 401, 404)),
    Route("download", "GET", "/archives/<archive_id>/files/<path:path>",
          "Download a document (registered in the access register); researchers receive a researcher's copy of a "
          "PDF (personal data painted over), of a scan the PDF of its pages painted over as an archivist approved "
          "them (open review; before approval, or when rejected, 403 API-NO-COPY: its masked OCR text is on the "
          "archive's OCR page), and no copy of other formats (403 API-NO-COPY); a PDF's copy too long to make in "
          "the request (web.research_inline_pages) is made by a job: 202 API-COPY-PENDING names it, ask again "
          "when it has finished (Retry-After). `path` is the file's reference (`files[].ref`, `~N.K`: the K-th "
          "file of item N) or its stored path; a user who sees personal data masked is answered 404 for a path "
          "that holds what they are shown masked (they name such a file by its reference)",
          (_path("archive_id"), _path("path"), *PURPOSE),
          (200, None), (400, 401, 403, 404),
          also=((202, "A researcher's copy is being made by the named job", COPY_PENDING),)),
    Route("audit_log", "GET", "/audit/log", "The last entries of the audit log in scope (auditors, archivists, admins)",
          (Param("count", {"type": "integer", "minimum": 1, "maximum": 1000}, default=50),),
          (200, LOG), (400, 401, 403)),
    Route("register", "GET", "/register", "The access register (利用登记) in scope (auditors, admins)",
          (Param("username", {"type": "string", "maxLength": 64, "pattern": _PRINTABLE}),
           Param("archive", {"type": "string", "maxLength": 300, "pattern": _PRINTABLE}),
           Param("action", {"type": "string", "enum": ["view", "download", "export", "print"]}),
           Param("limit", {"type": "integer", "minimum": 1, "maximum": 500}, default=100),
           Param("offset", {"type": "integer", "minimum": 0, "maximum": 10**9}, default=0)),
          (200, REGISTER), (400, 401, 403)),
    Route("security_log", "GET", "/security-log",
          "The security log (安全审计日志): sign-ins and their failures and locks, sign-outs, changes to accounts and "
          "tokens, about accounts in scope (auditors, admins)",
          (Param("username", {"type": "string", "maxLength": 100, "pattern": _PRINTABLE}),
           Param("event", {"type": "string", "enum": list(SECURITY_EVENTS)}),
           Param("limit", {"type": "integer", "minimum": 1, "maximum": 500}, default=100),
           Param("offset", {"type": "integer", "minimum": 0, "maximum": 10**9}, default=0)),
          (200, SECURITY_LOG), (400, 401, 403)),
    Route("submit_job", "POST", "/jobs",
          "Start a background job: audit, reindex, or paper (the dual-track reconciliation of the whole repository; "
          "while one is queued or running, that job is answered)", (), (202, JOB),
          (400, 401, 403, 404), body=JOB_REQUEST),
    Route("job", "GET", "/jobs/<job_id>", "A job's state and result (own jobs; admins: all); a finished export or "
          "access-copy job lists its files in `downloads`",
          (_path("job_id"),), (200, JOB), (401, 404)),
    Route("job_file", "GET", "/jobs/<job_id>/export/<name>",
          "Download a file of a finished export or access-copy job (registered in the access register, with the "
          "access copy's purpose); 404 once it is no longer kept (transfer.keep_exports_days), or, for an access "
          "copy, once its archive is no longer the user's to use",
          (_path("job_id"), _path("name")), (200, None), (401, 404)),
    Route("access_copy", "POST", "/archives/<archive_id>/access-copy",
          "Ask for an access copy (利用副本) as the archive page's form does: 202 and its job (Location), which "
          "`hsar worker` runs; the same request the same day is the same job. A refusal has the form's code "
          "after API- (API-DIP-PURPOSE, API-DIP-ITEMS, API-DIP-FORMAT: 400; API-DIP-WITHHELD: 403), a body of "
          "another shape API-DIP-BODY; an archive outside the scope: 404, whatever the body. Nothing is queued on any refusal",
          (_path("archive_id"),), (202, JOB), (400, 401, 403, 404), body=ACCESS_COPY),
    Route("ingest", "POST", "/ingest",
          "Upload SIP files (zip, tar) as the ingest page does: one ingest job each, the same bytes again the same "
          "job (archivists, admins; a SIP declaring a division outside the scope, or naming an archive held "
          "outside it: 403 API-INGEST-SCOPE, nothing queued; a body that cannot be read as multipart/form-data, "
          "such as a file name not in UTF-8: 400 API-FORM)",
          (), (202, JOBS), (400, 401, 403, 413), body=UPLOAD, body_type="multipart/form-data"),
    Route("statistics", "GET", "/statistics", "The statistics page's tables within the user's division scope",
          (), (200, STATISTICS), (401, 403)),
    Route("paper", "GET", "/paper",
          "The dual-track reconciliation (双轨制核对) as the paper page shows it: the latest stored result within the "
          "division scope, its worklist a page at a time (auditors, archivists, admins; a division outside the "
          "scope: 404)",
          (Param("division", {"type": "string", "pattern": r"\d{6}(\d{3})?"}), _PAGE,
           Param("per_page", {"type": "integer", "minimum": 1, "maximum": 500}, default=100)),
          (200, PAPER), (400, 401, 403, 404)),
    Route("audits", "GET", "/audits",
          "The audit page: runs, failures and repairs (codes explained), what is due, the audit log's state, "
          "replicas and reports, within the division scope (auditors, archivists, admins)",
          (), (200, AUDITS), (401, 403)),
)

BY_NAME: Mapping[str, Route] = {r.name: r for r in ROUTES}


def parse_args(route: Route, args: Mapping[str, str]) -> dict[str, Any]:
    """The route's query parameters, parsed by the table; ValueError(name) for the first that does not fit."""
    parsed: dict[str, Any] = {}
    for p in route.params:
        if p.where != "query":
            continue
        raw = args.get(p.name)
        if raw is None or raw == "":
            parsed[p.name] = p.default
            continue
        try:
            parsed[p.name] = p.parse(raw)
        except ValueError:
            raise ValueError(p.name) from None
    return parsed


def _operation(route: Route) -> dict[str, Any]:
    status, schema = route.ok
    content = {"*/*": {"schema": {"type": "string", "format": "binary"}}} if schema is None \
        else {"application/json": {"schema": schema}}
    responses: dict[str, Any] = {str(status): {"description": "OK", "content": content}}
    for code, description, answer in route.also:
        responses[str(code)] = {"description": description, "content": {"application/json": {"schema": answer}}}
    for code in route.errors:
        responses[str(code)] = {"description": "Error", "content": {"application/json": {"schema": ERROR}}}
    op: dict[str, Any] = {"operationId": route.name, "summary": route.summary, "responses": responses,
                          "parameters": [{"name": p.name, "in": p.where, "required": p.required, "schema": p.schema}
                                         for p in route.params]}
    if not route.auth:
        op["security"] = []
    if route.body is not None:
        op["requestBody"] = {"required": True, "content": {route.body_type: {"schema": route.body}}}
    return op


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.0 document of every route in :data:`ROUTES`."""
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {"openapi": "3.0.3",
            "info": {"title": "hsar JSON API", "version": VERSION,
                     "description": "Housing-security archives repository. Bearer tokens: `hsar user token`."},
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}], "paths": paths}
