"""What a job does (作业内容): ingest of SIP files, audit, reindex, export (移交包), OCR, the paper reconciliation,
access copies (利用副本), researchers' copies of long PDFs and of long approved scans (利用件) and scans' proposed
copies (开放审核: :mod:`.copies`), a sign-in lock's alert (:mod:`.lockalert`); each records its progress and result.

Each kind has a parameter check (run when the job is submitted, so bad input is refused with ``JOB-PARAMS``
before anything is queued) and a runner (run by ``hsar worker``), which calls its workflow in exactly one
place: :func:`repository.ingest.pipeline.ingest`, :func:`repository.audit.run.run_audit`,
:func:`repository.search.indexing.reindex_from_store` (to become calls of ``repository.services`` later).

Results are JSON summaries: per SIP its status, archive id, version and issue codes; an audit's verdict,
counts and report paths; the number of archives reindexed. A job that raises a :class:`HsarError` fails
with that error's code and message key; anything else fails ``INTERNAL``. A home busy with another ingest or
audit (``ING-BUSY``, ``AUDIT-BUSY``) is not a failure: the job goes back to the queue and is tried later.

Inside one worker process ingest and reindex take turns (the home's ingest lock is a POSIX record lock,
which threads of one process would all hold at once), and so do audits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from huey.exceptions import RetryTask

from .. import messages
from ..access import NATIONAL, Principal, Role, scope_prefixes
from ..errors import BUSY_CODES, HsarError
from ..home import Repository
from ..model import Archive
from .copies import run_research_copy, run_scan_copy, run_scan_proposal
from .lockalert import run_lock_alert
from .queue import LEASE_BEAT, JobQueue
from .records import Job, JobRecords

BUSY_DELAY = 5.0  # seconds before a job that found the home busy is tried again
_TURNS = {"ingest": threading.Lock(), "audit": threading.Lock()}
_TURNS["reindex"] = _TURNS["ingest"]
_TURNS["export"] = threading.Lock()  # exports read a snapshot of the store: no turn with ingest needed
_TURNS["ocr"] = threading.Lock()  # reads outside the home lock, takes it only to commit each archive
_TURNS["paper"] = threading.Lock()  # reads the register, catalogue and store; writes only its report
_TURNS["access-copy"] = threading.Lock()  # reads the store and the catalogue; writes its zip and a register line
_TURNS["research-copy"] = threading.Lock()  # reads the store and the catalogue; writes one copy into the cache
_TURNS["scan-proposal"] = threading.Lock()  # reads a scan by OCR; writes its pages into the cache, a state row
_TURNS["scan-copy"] = threading.Lock()  # reads a scan; writes its approved copy into the cache
_TURNS["lock-alert"] = threading.Lock()  # sends one alert (a command, a mail): reads nothing of the home


# ------------------------------------------------------------------------------------------ progress


class Progress:
    """Writes a running job's progress into its record, at most every half second (and the last one)."""

    def __init__(self, records: JobRecords, job_id: str) -> None:
        self.records, self.job_id, self._last = records, job_id, 0.0

    def __call__(self, done: int, total: int | None = None, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last >= 0.5 or (total is not None and done >= total):
            self._last = now
            self.records.progress(self.job_id, done, total)


# ------------------------------------------------------------------------------------------ runners


#: issues kept in full per SIP in an ingest job's result (the rest are counted; all are in the rejection report)
MAX_DETAILS = 100


def _uploader_check(repo: Repository, job: Job) -> Callable[[str, Archive], None]:
    """The ingest pipeline's ``admit`` for an ingest job: an uploaded SIP is checked again under the home lock,
    before anything of it is stored, by the upload's own check (:func:`repository.ingest.scope.check_scope`)
    with its uploader's account as it is now, so an archive of another division ingested since the upload,
    or an account disabled or given another scope since, refuses it: the job fails ``ING-SCOPE``. SIPs named
    from elsewhere (paths the operator gave the queue) are not uploads and are left alone."""
    from ..ingest.scope import check_scope, current_principal
    from .uploads import is_upload

    def admit(sip: str, archive: Archive) -> None:
        if is_upload(repo.cfg, sip):
            check_scope(repo, current_principal(repo, job.username), Path(sip).name, archive.identifier,
                        archive.division)

    return admit


def run_ingest(repo: Repository, job: Job, progress: Progress, stop: threading.Event) -> dict[str, Any]:
    from ..ingest.pipeline import ingest

    sips = [Path(p) for p in job.params["paths"]]
    progress(0, len(sips), force=True)
    done = [0]

    def one(_outcome: object) -> None:
        done[0] += 1
        progress(done[0], len(sips))

    try:
        outcomes = ingest(repo, sips, workers=1, progress=one, admit=_uploader_check(repo, job))
    except HsarError as exc:
        if exc.code not in BUSY_CODES:  # a busy home: the job is tried again and needs its files
            _discard(repo, sips)
        raise
    _discard(repo, sips)
    rows = [{"sip": Path(o.sip).name, "status": o.status, "archive_id": o.archive_id, "version": o.version,
             "issues": sorted({i.code for i in o.issues}), "report": o.report,
             # each issue as found (path, message in both languages): why a package was rejected, for people
             # who cannot read the rejection report in the home
             "details": [i.to_dict(both=True) for i in o.issues[:MAX_DETAILS]],
             "details_more": max(0, len(o.issues) - MAX_DETAILS),
             "checks": dict(o.checks) if o.checks is not None else None} for o in outcomes]
    counts = {s: sum(r["status"] == s for r in rows) for s in ("ingested", "duplicate", "rejected")}
    return {"sips": rows, "counts": counts}


def _discard(repo: Repository, sips: list[Path]) -> None:
    """Uploaded SIPs (``jobs/uploads/``) are removed once their job has ended, ingested or not (a rejected
    SIP's report is in rejected/); SIPs named from elsewhere (``hsar`` paths) are left alone."""
    from .uploads import discard_upload

    for sip in sips:
        discard_upload(repo.cfg, sip)


def run_audit_job(repo: Repository, job: Job, progress: Progress, stop: threading.Event) -> dict[str, Any]:
    from ..audit.run import Selection, run_audit

    p = job.params
    selection = Selection(p["mode"], tuple(p["archives"]), p["sample"], repair=p["repair"])

    def step(done: int, total: int, _hashed: int, _object_id: str) -> None:
        progress(done, total)

    run = run_audit(repo, selection, now=datetime.now(UTC), progress=step, stop=stop)
    summary = run.summary("en")
    return {"ok": run.ok, "verdict": "intact" if run.ok else "not-intact", "run_id": run.run_id,
            "counts": summary["counts"], "archives_checked": summary["archives_checked"],
            "skipped": run.skipped, "failed": summary["failed"], "repaired": summary["repaired"],
            "issues": sorted({i.code for i in run.issues}), "reports": list(run.reports)}


def run_reindex(repo: Repository, job: Job, progress: Progress, stop: threading.Event) -> dict[str, Any]:
    from ..divisions import tree_for
    from ..home.emptied import refuse_an_empty_store
    from ..ingest.pipeline import ingest_lock
    from ..search.indexing import reindex_from_store
    from ..search.opening import open_engine

    with ingest_lock(repo):  # an ingest meanwhile would be lost (ING-BUSY)
        refuse_an_empty_store(repo, force=False)  # a half-mounted store would empty the index (STORE-EMPTY)
        total = sum(1 for _ in repo.store.iter_object_roots())
        progress(0, total, force=True)
        from ..search.idkeys import load_key

        engine = open_engine(repo.cfg["search.engine"], repo.cfg.path("search.index"), rebuild=True,
                             id_key=load_key(repo.paths.index_key))
        try:
            count = reindex_from_store(engine, repo.store, batch=job.params["batch"], tree=tree_for(repo.cfg),
                                       cache=repo.text_cache,
                                       progress=lambda done: progress(done, total))
        finally:
            engine.close()
    return {"reindexed": count}


#: The transfer list an export job offers for download besides one zip per package (under ``exports/<id>/``).
EXPORT_LISTS = ("transfer-list.xml", "transfer-list.csv")


def run_export(repo: Repository, job: Job, progress: Progress, stop: threading.Event) -> dict[str, Any]:
    """Transfer packages of the job's archives and their transfer list, each package also as a zip holding
    its one folder (what ``hsar ingest`` of another repository takes as it is). The access decision is taken
    again with the submitter's role and scope; a retried job starts again from nothing."""
    import shutil

    from ..access import Principal, Role
    from ..transfer.bundle import zip_folder
    from ..transfer.export import export_archives
    from ..transfer.scope import check_export
    from .exports import prune_exports

    prune_exports(repo.cfg, progress.records)  # outputs of older export jobs past transfer.keep_exports_days
    p = job.params
    principal = Principal(p["user"], Role(p["role"]), p["division"])
    ids = check_export(repo, principal, p["archives"])
    out = repo.paths.exports / job.id
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    progress(0, len(ids) + 1, force=True)
    result = export_archives(repo, ids, out / "transfer", principal=principal)
    for name in EXPORT_LISTS:
        shutil.copyfile(out / "transfer" / name, out / name)
    zips = []
    for n, archive in enumerate(result.archives, 1):
        progress(n, len(ids) + 1)
        zips.append(zip_folder(out / "transfer" / archive.package, out / f"{archive.package}.zip").name)
    progress(len(ids) + 1, len(ids) + 1)
    return {**result.to_dict(), "out": job.id, "files": [*zips, *EXPORT_LISTS]}


def access_copy_name(archive_id: str) -> str:
    """The file an access-copy job leaves under ``exports/<id>/`` for download."""
    return f"{archive_id}-access-copy.zip"


def run_access_copy(repo: Repository, job: Job, progress: Progress, stop: threading.Event) -> dict[str, Any]:
    """An access copy (利用副本) of one archive, made for the job's user as the account is now (its role and
    scope may have changed since it asked; a disabled or removed account gets nothing, NOT-FOUND): the zip
    under ``exports/<id>/``, kept and pruned as an export's outputs are, and its line in the access register.
    The scans a masked copy leaves out for want of an approved copy have their proposals queued (for the job's
    user: :func:`.proposals.proposal_asker`). A retried job starts again from nothing."""
    import shutil

    from ..dip.copies import CopyRequest, access_copy_to
    from ..ingest.scope import current_principal
    from .exports import prune_exports
    from .proposals import proposal_asker

    prune_exports(repo.cfg, progress.records)
    p = job.params
    principal = current_principal(repo, job.username)
    request = CopyRequest(p["archives"][0], p["purpose"], None if p["items"] is None else tuple(p["items"]),
                          p["mask"], p["format"])
    out = repo.paths.exports / job.id
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    name = access_copy_name(request.archive_id)
    made = access_copy_to(repo, principal, request, out / name, lang=p["lang"], progress=progress,
                          ask_review=proposal_asker(repo.cfg, job.username))
    return {"archive_id": made.archive_id, "masked": made.masked, "items": list(made.items),
            "documents": len({e.source for e in made.entries if e.source}), "register_seq": made.register_seq,
            "reviews_asked": list(made.reviews_asked), "size": (out / name).stat().st_size, "out": job.id,
            "files": [name]}


def run_ocr_job(repo: Repository, job: Job, progress: Progress, stop: threading.Event) -> dict[str, Any]:
    from ..ingest.ocr import OcrSummary, ocr_archives

    archives = None if job.params["all"] else list(job.params["archives"])
    progress(0, len(archives) if archives else None, force=True)
    outcomes = ocr_archives(repo, archives, progress=lambda done, total: progress(done, total), stop=stop.is_set)
    return OcrSummary(tuple(outcomes)).to_dict()


def run_paper(repo: Repository, job: Job, progress: Progress, stop: threading.Event) -> dict[str, Any]:
    """Dual-track reconciliation of the whole repository, stored in the home for the ``/paper`` page; in a
    child process forked for it, so the worker does not keep its memory (:mod:`.forked`). The job's result
    counts the register rows and electronic items within the division scope of who started it (``scope``):
    the job page shows them to that user, who sees nothing of other divisions."""
    from ..paper.stored import Made, open_stored, reconcile_and_store
    from .forked import in_child

    home = repo.paths.home

    def work(step: Callable[[int, int], None]) -> Made:
        with Repository.open(home) as own:
            return reconcile_and_store(own, started_by=job.username or "", job_id=job.id, progress=step)

    made = in_child(work, lambda done, total: progress(done, total, force=True), name="hsar-paper-reconcile")
    scope = _scope_of(repo, job.username)
    stored = open_stored(repo.paths.paper_report)
    register_rows, electronic_items = (0, 0)
    if stored is not None:
        with stored:
            register_rows, electronic_items = stored.tallies(scope_prefixes(scope))
    return {"register_rows": register_rows, "electronic_items": electronic_items, "scope": scope.division,
            "made_at": made.made_at.isoformat()}


def _scope_of(repo: Repository, username: str | None) -> Principal:
    """Who started a job, for what its result may say: the account (its current division scope), the
    national scope for a job of the shell or the schedule (no account), nothing for an account since removed
    (a malformed scope: every count is 0)."""
    if username is None:
        return Principal("", Role.ADMIN, NATIONAL)
    from ..accounts.users import get_user
    from ..state.db import open_state

    with open_state(repo.cfg.state_url) as state:
        found = get_user(state, username)
    return found.principal if found is not None else Principal(username, Role.RESEARCHER, "")


def after_ingest(queue: JobQueue, job: Job, result: dict[str, Any]) -> None:
    """With ``ocr.after_ingest`` on, a successful ingest job queues an OCR job of the archives it stored."""
    if job.kind != "ingest" or not queue.cfg["ocr.after_ingest"]:
        return
    archives = sorted({r["archive_id"] for r in result.get("sips", ()) if r["status"] == "ingested"})
    if archives:
        queue.submit("ocr", {"archives": archives}, user=job.username, dedupe_key=f"ocr-after-{job.id}")


Runner = Callable[[Repository, Job, Progress, threading.Event], dict[str, Any]]
RUNNERS: dict[str, Runner] = {"ingest": run_ingest, "audit": run_audit_job, "reindex": run_reindex,
                               "export": run_export, "ocr": run_ocr_job, "paper": run_paper,
                               "access-copy": run_access_copy, "research-copy": run_research_copy,
                               "scan-proposal": run_scan_proposal, "scan-copy": run_scan_copy,
                               "lock-alert": run_lock_alert}


# ------------------------------------------------------------------------------------------ one job


class _Heartbeat:
    """Keeps the job's lease fresh while it runs (a thread), and drops it afterwards."""

    def __init__(self, queue: JobQueue, job_id: str) -> None:
        self.queue, self.job_id, self.done = queue, job_id, threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"lease-{job_id[:8]}", daemon=True)

    def _beat(self) -> None:
        while not self.done.wait(LEASE_BEAT):
            try:
                self.queue.beat(self.job_id)
            except Exception:  # noqa: BLE001, S110 - a missed beat only makes the lease older
                pass

    def __enter__(self) -> _Heartbeat:
        self.queue.beat(self.job_id)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()
        self.queue.release(self.job_id)


def error_result(exc: BaseException) -> dict[str, Any]:
    """A failed job's ``result``: the code, and the message key with its parameters when there is one, so
    a page renders it in its reader's language."""
    code = exc.code if isinstance(exc, HsarError) else "INTERNAL"
    msgid = exc.msgid if isinstance(exc, HsarError) else None
    params = ({k: messages.param_json(v) if isinstance(v, messages.Text | tuple) else str(v)
               for k, v in exc.params.items()} if isinstance(exc, HsarError) else {})
    return {"error": {"code": code, "msgid": msgid, "params": params, "text": str(exc)}}


def execute(queue: JobQueue, job_id: str, stop: threading.Event) -> None:
    """Run one job (the body of Huey's task): claim it, keep its lease, call its runner, record the end."""
    records = queue.records
    if not records.claim(job_id):  # finished, or another copy of its message got it first
        return
    job = records.get(job_id)
    assert job is not None
    progress = Progress(records, job_id)
    with _Heartbeat(queue, job_id):
        try:
            with _TURNS[job.kind], Repository.open(queue.cfg.home) as repo:
                result = RUNNERS[job.kind](repo, job, progress, stop)
        except HsarError as exc:
            if exc.code in BUSY_CODES:
                records.unclaim(job_id, str(exc))
                raise RetryTask(delay=BUSY_DELAY) from exc
            records.fail(job_id, exc.code, str(exc), error_result(exc))
            return
        except Exception as exc:  # noqa: BLE001 - recorded on the job; the worker goes on
            records.fail(job_id, "INTERNAL", f"{type(exc).__name__}: {exc}", error_result(exc))
            return
    records.finish(job_id, result)
    after_ingest(queue, job, result)
