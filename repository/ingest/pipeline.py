"""Ingest, second half: decide against the store, build the AIP version, commit, catalogue and index.

Crash safety (DESIGN principle 2): the OCFL store moves each version into place atomically and recovers its
own leftovers. Around it, an intent file in ``staging/`` names the archive and version being committed
before the store is touched and is removed only after the catalogue and the index have recorded it; the next
run finds remaining intents and re-records those archives from storage, so a kill at any moment leaves the
store valid and the same ingest run again completes the work (or reports the SIP as a duplicate).
One ingest runs at a time per home (an exclusive lock on ``staging/.ingest.lock``).
"""

from __future__ import annotations

import fcntl
import json
import shutil
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..codes import Issue, Report, issue
from ..config import Config
from ..descriptive import merge, parse
from ..errors import IngestError
from ..home import Repository
from ..model import Archive
from ..preservation.aip import DESCRIPTIVE, PREMIS, PreviousVersion, build_version, object_id
from .prepare import Prepared, discard, prepare
from .rules import continuity_issues

Progress = Callable[["IngestOutcome"], None]


@dataclass(frozen=True)
class IngestOutcome:
    sip: str
    status: str  # "ingested" | "rejected" | "duplicate"
    archive_id: str | None
    version: str | None
    issues: tuple[Issue, ...] = ()
    report: str | None = None  # path of the rejection report

    def to_dict(self, lang: str = "zh") -> dict[str, object]:
        return {"sip": self.sip, "status": self.status, "archive_id": self.archive_id, "version": self.version,
                "issues": [i.to_dict(lang) for i in self.issues], "report": self.report}


@contextmanager
def ingest_lock(repo: Repository) -> Iterator[None]:
    with open(repo.staging / ".ingest.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IngestError("another ingest is running in this home", "ING-BUSY") from None
        yield


def _intent_path(repo: Repository, archive_id: str) -> Path:
    return repo.staging / f"intent-{archive_id}.json"


def recover(repo: Repository) -> list[str]:
    """Clear what a killed ingest left: store leftovers, work dirs, and re-record unfinished commits."""
    done = repo.store.recover(repo.staging)
    for workdir in repo.staging.glob("sip-*"):
        shutil.rmtree(workdir, ignore_errors=True)
        done.append(f"removed work directory {workdir.name}")
    for intent in sorted(repo.staging.glob("intent-*.json")):
        archive_id = json.loads(intent.read_text("utf-8"))["archive_id"]
        if repo.store.exists(object_id(archive_id)):
            _record(repo, archive_id)
            done.append(f"re-recorded {archive_id} from storage")
    _finish_intents(repo)
    return done


def _finish_intents(repo: Repository) -> None:
    """Commit the index batch, then drop the intents it covers (catalogue rows are already committed)."""
    repo.search.commit()
    for intent in repo.staging.glob("intent-*.json"):
        intent.unlink()


def policy_of() -> Callable[[str | None], str | None]:
    from .policy import FormatPolicy

    policy = FormatPolicy.load(None)
    return lambda puid: policy.level_of(puid)


def _record(repo: Repository, archive_id: str) -> None:
    """Catalogue and index the archive's head version, from storage (the same path rebuild takes)."""
    from ..catalog.rebuild import version_record
    from ..search.indexing import index_archive

    rec = version_record(repo.store, object_id(archive_id), policy_of=policy_of())
    repo.catalog.record_version(rec)
    index_archive(repo, archive_id)


def _reject(repo: Repository, prepared: Prepared, extra: Iterable[Issue] = ()) -> IngestOutcome:
    issues = tuple(prepared.report.issues) + tuple(extra)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = repo.rejected / f"{prepared.sip_name}-{stamp}.json"
    body = {"sip": prepared.sip, "status": "rejected", "issues": [i.to_dict() for i in issues],
            "checks": prepared.checks.to_dict() if prepared.checks else None}
    target.write_text(json.dumps(body, ensure_ascii=False, indent=2), "utf-8")
    archive_id = prepared.archive.identifier if prepared.archive else None
    return IngestOutcome(prepared.sip, "rejected", archive_id, None, issues, str(target))


def _previous(repo: Repository, oid: str) -> PreviousVersion:
    store = repo.store
    state = store.state(oid)
    content = {p: store.content_path(oid, p) for p in state if p.startswith("data/")}
    premis = store.content_path(oid, PREMIS).read_bytes() if PREMIS in state else None
    archive = parse(store.content_path(oid, DESCRIPTIVE).read_bytes())
    return PreviousVersion(state, content, premis, archive)


def _decide(repo: Repository, prepared: Prepared) -> tuple[str, list[Issue], PreviousVersion | None]:
    """'new' | 'supplement' | 'duplicate' | 'reject' with the issues that decided it."""
    archive = prepared.archive
    assert archive is not None
    oid = object_id(archive.identifier)
    if not repo.store.exists(oid):
        if archive.is_supplement:
            return "reject", [issue("ING002", DESCRIPTIVE, archive=archive.identifier)], None
        return "new", [], None
    if any(prepared.fingerprint in v.message for v in repo.store.versions(oid)):
        return "duplicate", [], None
    if not archive.is_supplement:
        return "reject", [issue("ING001", DESCRIPTIVE, archive=archive.identifier)], None
    previous = _previous(repo, oid)
    return "supplement", supplement_issues(previous, archive), previous


def supplement_issues(previous: PreviousVersion, supplement: Archive) -> list[Issue]:
    """A supplement must fit the archive it extends (ING003-ING006), item numbers continuing (RUL006)."""
    current = previous.archive
    assert current is not None and supplement.supplement_of is not None
    found: list[Issue] = []
    if supplement.type is not current.type:
        found.append(issue("ING006", DESCRIPTIVE, expected=current.type.value, found=supplement.type.value))
    volumes = {current.volume.number} | {i.paper.volume for i in current.items}
    if supplement.supplement_of.original_volume not in volumes:
        found.append(issue("ING003", DESCRIPTIVE, value=supplement.supplement_of.original_volume,
                           expected=current.volume.number))
    held = {i.number for i in current.items}
    for item in supplement.items:
        if item.number in held:
            found.append(issue("ING004", DESCRIPTIVE, item=item.number))
    for path in supplement.files():
        if path in previous.state:
            found.append(issue("ING005", path))
    numbers = sorted(held | {i.number for i in supplement.items})
    found += continuity_issues(numbers)
    return found


def _message(prepared: Prepared) -> str:
    assert prepared.archive is not None
    return f"{prepared.archive.package_type.value} {prepared.sip_name} sip-sha512:{prepared.fingerprint}"


def commit(repo: Repository, prepared: Prepared, *, now: datetime | None = None) -> IngestOutcome:
    """Store one prepared SIP as the next version of its archive (or reject it, or call it a duplicate)."""
    if not prepared.valid:
        return _reject(repo, prepared)
    archive = prepared.archive
    assert archive is not None
    decision, issues, previous = _decide(repo, prepared)
    if decision == "duplicate":
        return IngestOutcome(prepared.sip, "duplicate", archive.identifier, repo.store.head(object_id(archive.identifier)))
    if decision == "reject" or any(i.severity.value == "error" for i in issues):
        return _reject(repo, prepared, issues)
    now = now or datetime.now(UTC)
    merged = merge(previous.archive, archive) if previous and previous.archive else archive
    oid = object_id(archive.identifier)
    head = repo.store.head(oid)
    version = f"v{int(head[1:]) + 1}" if head else "v1"
    files = build_version(prepared, merged, previous, version=version, now=now,
                          institution=repo.cfg["repository.institution"], signer=repo.signer)
    intent = _intent_path(repo, archive.identifier)
    intent.write_text(json.dumps({"archive_id": archive.identifier, "version": version}), "utf-8")
    result = repo.store.add_version(oid, files, staging=repo.staging, message=_message(prepared),
                                    user=(repo.cfg["repository.institution"], None), created=now, move=True,
                                    expected_head=head)
    _record(repo, archive.identifier)  # the intent stays until the index batch is committed
    all_issues = tuple(prepared.report.issues) + tuple(issues)
    return IngestOutcome(prepared.sip, "ingested", archive.identifier, result.version, all_issues)


def _prepare_job(args: tuple[str, Config, str]) -> Prepared:
    sip, cfg, staging = args
    return prepare(Path(sip), cfg, Path(staging))


def ingest(repo: Repository, sips: Iterable[Path], *, workers: int = 1, progress: Progress | None = None
           ) -> list[IngestOutcome]:
    """Ingest SIPs in the order given (a supplement after the archive it extends)."""
    outcomes: list[IngestOutcome] = []
    with ingest_lock(repo):
        recover(repo)
        jobs = [(str(s), repo.cfg, str(repo.staging)) for s in sips]
        if workers > 1:
            pool = ProcessPoolExecutor(max_workers=workers)
            prepared_iter = pool.map(_prepare_job, jobs)
        else:
            pool, prepared_iter = None, map(_prepare_job, jobs)
        try:
            for prepared in prepared_iter:
                try:
                    outcome = commit(repo, prepared)
                finally:
                    discard(prepared)
                outcomes.append(outcome)
                if progress:
                    progress(outcome)
            _finish_intents(repo)  # not on an exception: the next run re-records from storage
        finally:
            if pool:
                pool.shutdown(cancel_futures=True)
    return outcomes


def summary(outcomes: Iterable[IngestOutcome]) -> Report:
    return Report(tuple(i for o in outcomes for i in o.issues))
