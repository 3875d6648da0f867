"""Ingest jobs as the web application sees them: uploaded SIP files become ingest jobs, and a job is read
back only by its owner (or an administrator).

Each upload is streamed into the home by :func:`repository.jobs.uploads.receive_upload` (its SHA-256
computed on the way) and submitted with that digest's dedupe key, so a reload or a second click returns
the job recorded first instead of ingesting twice. The pages never run a job: ``hsar worker`` does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, cast

from ... import codes, messages
from ...config import Config
from ...home import Repository
from ...jobs import Job, JobQueue
from ...jobs.uploads import discard_upload, receive_upload
from ...preservation.four_properties import RESULTS, definitions
from ...services.uploads import OutOfScope as OutOfScope  # the refusal, for the views
from ...services.uploads import check_upload
from . import access
from .access import Principal


@dataclass(frozen=True)
class Incoming:
    """One uploaded file of the form: its stream and the name the browser gave it."""

    stream: IO[bytes]
    filename: str | None


def submit_uploads(repo: Repository, principal: Principal, files: Iterable[Incoming]) -> list[Job]:
    """One ingest job per file (the same bytes again from the same user: the same job). Every file is checked first
    (:func:`repository.services.uploads.check_upload`): one whose declared division, or whose archive already
    held, lies outside the principal's scope refuses the whole upload (:class:`OutOfScope`; nothing queued,
    the received files removed unless a job already holds them). The job's worker checks again."""
    cfg = repo.cfg
    with JobQueue(cfg) as queue:
        received = [(incoming, receive_upload(cfg, cast(BinaryIO, incoming.stream), incoming.filename,
                                                       principal.username))
                    for incoming in files]
        for incoming, upload in received:
            try:
                check_upload(repo, principal, upload.path,
                             upload.path.name if incoming.filename is None else incoming.filename)
            except BaseException:  # refused (OutOfScope), or anything unforeseen: no upload left without a job
                for _, other in received:
                    if queue.records.by_dedupe_key(other.dedupe_key) is None:
                        discard_upload(cfg, other.path)
                raise
        jobs: list[Job] = []
        for _, upload in received:
            job = queue.submit("ingest", {"paths": [str(upload.path)]}, user=principal.username,
                               dedupe_key=upload.dedupe_key)
            if job.finished:  # the same bytes were ingested by a job that has ended: this copy is not needed
                discard_upload(cfg, upload.path)
            jobs.append(job)
    return jobs


def _owned(principal: Principal, job: Job) -> bool:
    return principal.role is access.Role.ADMIN or job.username == principal.username


def job_for(cfg: Config, principal: Principal, job_id: str) -> Job | None:
    """The job when ``principal`` may see it (their own, or any for an administrator), else None."""
    with JobQueue(cfg) as queue:
        job = queue.get(job_id)
    return job if job is not None and _owned(principal, job) else None


def job_shown(cfg: Config, principal: Principal, job_id: str, lang: str) -> dict[str, Any] | None:
    """What the job page and its JSON show of the job (:func:`job_view`), when ``principal`` may see it; with
    whether it waits for a worker that does not seem to run (``no_worker``: :meth:`JobQueue.no_worker`) and how
    many queued jobs wait ahead of it (``queued_ahead``: :meth:`JobQueue.queued_ahead`)."""
    with JobQueue(cfg) as queue:
        job = queue.get(job_id)
        if job is None or not _owned(principal, job):
            return None
        return job_view(job, lang, no_worker=queue.no_worker(job), queued_ahead=queue.queued_ahead(job))


def queued_ahead(cfg: Config, principal: Principal, job_id: str) -> int | None:
    """How many queued jobs wait ahead of the job ``job_id`` (:meth:`JobQueue.queued_ahead`: a count, of every
    user's jobs), when ``principal`` may see it and it is queued; else None. For a page that follows a job of its
    own (a researcher's copy being made)."""
    with JobQueue(cfg) as queue:
        job = queue.get(job_id)
        return queue.queued_ahead(job) if job is not None and _owned(principal, job) else None


def queued_ahead_of(cfg: Config, job_ids: Iterable[str]) -> int | None:
    """How many queued jobs wait ahead of the first of ``job_ids`` still queued (None: none is): jobs a request has
    just asked for (a reviewer's "propose all"), whoever they were first queued for; a count only."""
    ids = list(job_ids)
    if not ids:
        return None
    with JobQueue(cfg) as queue:
        return queue.records.queued_ahead(ids)


def jobs_of(cfg: Config, principal: Principal, limit: int = 50) -> list[Job]:
    """The newest jobs ``principal`` may see."""
    mine = None if principal.role is access.Role.ADMIN else principal.username
    with JobQueue(cfg) as queue:
        return queue.list(user=mine, limit=limit)


def _error(result: Any, lang: str) -> dict[str, str] | None:  # noqa: ANN401 - a job's JSON result
    error = result.get("error") if isinstance(result, dict) else None
    if not isinstance(error, dict):
        return None
    msgid, params = error.get("msgid"), error.get("params") or {}
    text = messages.text(msgid, lang, **params) if msgid in messages.catalogue() else error.get("text", "")
    return {"code": str(error.get("code", "")), "text": text}


def check_view(found: Any, lang: str) -> dict[str, Any] | None:  # noqa: ANN401 - a job's JSON value
    """A SIP's four-property verdicts as a job keeps them (:meth:`CheckReport.summary`), each item named in
    ``lang`` (``data/four_properties.json``), failed items first, then warnings, then passes, each kind in the
    standard's order; None when the SIP had no report (it could not be read as a bag)."""
    if not isinstance(found, dict) or not isinstance(found.get("items"), list):
        return None
    key = "zh" if lang == "zh" else "en"
    names = {d["code"]: d[key] for d in definitions()["items"]}
    rank = {r: -n for n, r in enumerate(RESULTS)}  # fail, warn, pass
    items = [{"code": str(i.get("code", "")), "name": names.get(str(i.get("code")), str(i.get("code", ""))),
              "group": str(i.get("group", "")), "result": str(i.get("result", ""))}
             for i in found["items"] if isinstance(i, dict)]
    items.sort(key=lambda i: rank.get(i["result"], 1))
    groups = found.get("groups")
    if not isinstance(groups, dict):
        groups = {}
    return {"standard": str(found.get("standard", "")), "result": str(found.get("result", "")),
            "groups": {str(g): str(r) for g, r in groups.items()}, "items": items}


def _archives(job: Job) -> list[str] | None:
    """The archives an export or OCR job was asked for (None: every archive, or a kind that names none)."""
    named = job.params.get("archives")
    return [str(a) for a in named[:100]] if isinstance(named, list) else None


def _ocr_lines(result: dict[str, Any], lang: str) -> list[dict[str, str]]:
    """An OCR job's outcome per archive, as ``hsar ocr`` prints it (status, new version, files, pages)."""
    lines = []
    for row in result.get("archives", []) if isinstance(result.get("counts"), dict) else []:
        if not isinstance(row, dict) or "status" not in row:
            continue
        status = messages.text(f"ocr.status.{row['status']}", lang) \
            if f"ocr.status.{row['status']}" in messages.catalogue() else str(row["status"])
        key = "ocr.line" if row["status"] == "added" else "ocr.line-other"
        lines.append({"archive_id": str(row.get("archive_id", "")),
                      "text": messages.text(key, lang, archive_id=row.get("archive_id", ""), status=status,
                                            version=row.get("version", ""), files=row.get("files", 0),
                                            pages=row.get("pages", 0), failed=row.get("failed_pages", 0))})
    return lines


def _summary(kind: str, result: dict[str, Any], lang: str) -> str | None:
    """One line of what a finished job did, for the jobs list (an ingest job whose every SIP was rejected is
    still "done": the list said only that)."""
    counts = result.get("counts")
    if kind == "ingest" and isinstance(counts, dict):
        return messages.text("cli.ingest.summary", lang, total=sum(int(v) for v in counts.values()),
                             **{k: int(counts.get(k, 0)) for k in ("ingested", "duplicate", "rejected")})
    if kind == "ocr" and isinstance(counts, dict):
        return messages.text("ocr.summary", lang, total=sum(int(v) for v in counts.values()),
                             added=int(counts.get("added", 0)), unchanged=int(counts.get("unchanged", 0)))
    if kind == "paper" and "register_rows" in result:
        return messages.text("paperjob.job_summary", lang, register=int(result["register_rows"]),
                             electronic=int(result.get("electronic_items", 0)))
    if kind == "access-copy" and "documents" in result:
        return messages.text("dip.job_summary", lang, documents=int(result["documents"]),
                             masked=messages.text("dip.masked" if result.get("masked") else "dip.unmasked", lang))
    totals = result.get("totals")
    if kind == "export" and isinstance(totals, dict):
        return messages.text("web_review.job.exported", lang, archives=int(totals.get("archives", 0)))
    return None


def _issues(row: dict[str, Any], lang: str) -> list[dict[str, str]]:
    """A SIP's issues: each as found, with its path and its message in ``lang`` (a job of an older hsar kept
    only the codes: then each code's explanation)."""
    details = row.get("details")
    if isinstance(details, list) and details:
        out = []
        for d in details:
            if not isinstance(d, dict):
                continue
            code = str(d.get("code", ""))
            both = d.get("messages")
            shown = both.get("zh" if lang == "zh" else "en") if isinstance(both, dict) else None
            text = shown or d.get("message") or codes.explanation(code, lang)
            out.append({"code": code, "text": str(text), "path": str(d.get("path") or ""),
                        "severity": str(d.get("severity", ""))})
        return out
    return [{"code": c, "text": codes.explanation(c, lang), "path": "",
             "severity": str(codes.catalogue()[c].severity) if c in codes.catalogue() else ""}
            for c in row.get("issues", [])]


def job_view(job: Job, lang: str, *, no_worker: bool = False, queued_ahead: int | None = None) -> dict[str, Any]:
    """What the job page and its JSON show: state, progress, per-SIP results with explained issue codes and
    the four-property verdicts; ``no_worker``: queued a while and no ``hsar worker`` seems to run;
    ``queued_ahead``: how many queued jobs wait ahead of it (None: not queued, or not looked up)."""
    rows = []
    result = job.result if isinstance(job.result, dict) else {}
    for row in result.get("sips", []):
        rows.append({"sip": row.get("sip"), "status": row.get("status"), "archive_id": row.get("archive_id"),
                     "version": row.get("version"), "issues": _issues(row, lang),
                     "more_issues": row.get("details_more") or 0, "checks": check_view(row.get("checks"), lang)})
    return {"id": job.id, "kind": job.kind, "state": job.state, "finished": job.finished, "no_worker": no_worker,
            "queued_ahead": queued_ahead,
            "archives": _archives(job), "ocr": _ocr_lines(result, lang),
            "summary": _summary(job.kind, result, lang),
            "username": job.username, "progress": {"done": job.progress_done, "total": job.progress_total},
            "sips": rows, "counts": result.get("counts", {}), "error": _error(job.result, lang),
            "created_at": job.created_at.isoformat(),
            "finished_at": job.finished_at.isoformat() if job.finished_at else None}
