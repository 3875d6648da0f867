"""Ingest, second half: decide against the store, build the AIP version, commit, catalogue and index.

Crash safety (DESIGN principle 2): the OCFL store moves each version into place atomically and recovers its
own leftovers. Around it, an intent file in ``staging/`` (written atomically and durably) names the archive
and version being committed before the store is touched and is removed only after the catalogue and the
index have recorded it; the next run (or any command calling :func:`recover_if_idle`) finds remaining
intents and re-records those archives from storage, so a kill at any moment leaves the store valid and the
same ingest run again completes the work (or reports the SIP as a duplicate).
One ingest runs at a time per home (:meth:`Repository.lock`, on ``staging/.ingest.lock``).

One SIP's failure is that SIP's rejection: an error raised while it is received, validated or built (a file that
cannot be read, a path the signed manifest or the store cannot hold) rejects it with ING007 and a report, and
the batch goes on; what every SIP needs (settings, format signatures, signer, store, catalogue, index) failing
stops the batch (:func:`~.prepare.sip_fault`).

Throughput: the work that needs no look at the store's current state runs in worker processes ahead of the
commits (:mod:`.ahead`): the first half (:mod:`.prepare`), the index text of the SIP's own PDFs and, for a SIP
of an archive not held yet, its whole v1 and search document (:class:`~.ahead.Ahead`). The commit half uses
them when its decision confirms the archive is new, and builds the version itself otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..codes import Issue, Report, issue
from ..description.rules import continuity_issues
from ..descriptive import merge, parse
from ..errors import HsarError
from ..fixity import ByteProgress
from ..home import Repository, policy_of
from ..model import Archive
from ..preservation.ids import object_id
from ..preservation.ocfl_inventory import logical_path_problems, logical_state
from ..preservation.ocfl_layout import replace_atomic
from ..preservation.tombstone import read_tombstone
from .ahead import Ahead, prepared_sips
from .aip import DESCRIPTIVE, PreviousVersion, build_version
from .prepare import Prepared, discard, sip_fault
from .texts import KnownTexts

if TYPE_CHECKING:
    from ..search.pdfheaders import PdfHeaders

Progress = Callable[["IngestOutcome"], None]
#: Told each SIP's path (as given) and description under the home lock, before anything of it is stored;
#: raises to stop the batch (the ingest job's worker: :func:`repository.ingest.scope.check_scope`).
Admit = Callable[[str, Archive], None]


@dataclass(frozen=True)
class IngestOutcome:
    sip: str
    status: str  # "ingested" | "rejected" | "duplicate"
    archive_id: str | None
    version: str | None
    issues: tuple[Issue, ...] = ()
    report: str | None = None  # path of the rejection report
    checks: Mapping[str, Any] | None = None  # the four-property report's verdicts (CheckReport.summary)

    def to_dict(self, lang: str = "zh") -> dict[str, object]:
        return {"sip": self.sip, "status": self.status, "archive_id": self.archive_id, "version": self.version,
                "issues": [i.to_dict(lang) for i in self.issues], "report": self.report,
                "checks": dict(self.checks) if self.checks is not None else None}


@contextmanager
def ingest_lock(repo: Repository) -> Iterator[None]:
    """The home lock (:meth:`Repository.lock`): IngestError ING-BUSY while another ingest holds it."""
    with repo.lock():
        yield


def _write_intent(repo: Repository, archive_id: str, version: str) -> None:
    """Atomically and durably: a kill or a power cut never leaves a half-written intent."""
    data = json.dumps({"archive_id": archive_id, "version": version}).encode("utf-8")
    replace_atomic(repo.paths.intent(archive_id), data, repo.staging)


def recover(repo: Repository) -> list[str]:
    """:meth:`Repository.recover` (call it holding the lock; :func:`ingest` does)."""
    return repo.recover()


def recover_if_idle(repo: Repository) -> list[str]:
    """:meth:`Repository.recover_if_idle`: recover, unless an ingest is running in this home."""
    return repo.recover_if_idle()


def _finish_intents(repo: Repository) -> None:
    """Commit the index batch, then drop the intents it covers (catalogue rows are already committed)."""
    repo.finish_intents()


def _record(repo: Repository, archive_id: str, ahead: Ahead | None = None) -> None:
    """Catalogue the archive's head version from storage (the same path rebuild takes), then index it. The
    record reads the version's own PREMIS document, not the earlier ones."""
    from ..catalog.rebuild import version_record
    from ..catalog.records import CarryUnavailable

    oid, policies = object_id(archive_id), policy_of(repo.cfg)
    try:  # the unchanged files' rows are copied from the version before, in SQL
        repo.catalog.record_version(version_record(repo.store, oid, policy_of=policies, carry=True))
    except CarryUnavailable:  # that version is not catalogued as expected: record this one whole
        repo.catalog.record_version(version_record(repo.store, oid, policy_of=policies))
    _index(repo, archive_id, ahead)


def _index(repo: Repository, archive_id: str, ahead: Ahead | None = None) -> None:
    """Replace the archive's search document: the one built ahead for a new v1, else made from the stored
    head, extracting text only from the PDFs the worker has not read already (the same text either way), and
    opening only the stored files whose bytes are not known to be PDFs or not (:mod:`~repository.search.pdfheaders`:
    the verdict opening them would give)."""
    from ..divisions import tree_for
    from ..search.documents import archive_document
    from ..search.indexing import DESCRIPTIVE as INDEXED_DESCRIPTION
    from ..search.indexing import header_verdicts, index_archive, stored_texts
    from ..search.ocrtext import page_texts, pages_at
    from ..search.pdfheaders import KEPT_FROM

    if ahead is None:
        index_archive(repo, archive_id)
        return
    oid, store = object_id(archive_id), repo.store
    inventory = store.inventory(oid)  # read once for the whole step: it grows with the archive
    head = inventory["head"]  # the version was committed before its index entry is written
    if ahead.document is not None and head == "v1":
        repo.search.replace(ahead.document)
        if len(ahead.examined) >= KEPT_FROM:  # what the worker found, kept for the next version's index
            payload = _payload(inventory)
            _headers(repo, oid, payload, ahead).keep(repo.text_cache, payload.values())
        return
    paths = store.content_paths(oid, inventory=inventory)
    payload = _payload(inventory)
    headers = _headers(repo, oid, payload, ahead)
    rest = {p: d for p, d in payload.items() if p not in ahead.examined}
    known = _KNOWN_TEXTS.lookup(rest)
    unknown = {p: d for p, d in rest.items() if p not in known}
    judged = headers.judged(unknown)
    verdicts = header_verdicts(paths, unknown, judged)
    for path, pdf in verdicts.items():
        if path not in judged:  # opened now
            headers.learn(unknown[path], pdf)
    texts = {**stored_texts(paths, cache=repo.text_cache, verdicts=verdicts),
             **{p: t for p, t in known.items() if t}, **ahead.texts}
    archive = parse(paths[INDEXED_DESCRIPTION].read_bytes())
    repo.search.replace(archive_document(archive, version=head, texts={p: texts[p] for p in sorted(texts)},
                                         pages=page_texts(pages_at(paths)),  # OCR text carried forward
                                         tree=tree_for(repo.cfg)))  # repository.divisions, not the bundled tree
    if len(payload) >= KEPT_FROM:
        headers.keep(repo.text_cache, payload.values())


def _payload(inventory: dict[str, Any]) -> dict[str, str]:
    """``{payload path: sha512}`` of the head."""
    return {p: d for p, d in logical_state(inventory).items() if p.startswith("data/")}


def _headers(repo: Repository, oid: str, payload: dict[str, str], ahead: Ahead) -> PdfHeaders:
    """The PDF verdicts kept for the archive, with those the worker made on its SIP's files."""
    from ..search.pdfheaders import KEPT_FROM, PdfHeaders

    headers = PdfHeaders.load(repo.text_cache, oid) if len(payload) >= KEPT_FROM else PdfHeaders(oid)
    for path in ahead.examined:
        if path in payload:
            headers.learn(payload[path], path in ahead.pdfs)
    return headers


#: Index text by SHA-512 of the files workers examined in this process's ingests (see :mod:`.texts`).
_KNOWN_TEXTS = KnownTexts()


def _remember_texts(prepared: Prepared, ahead: Ahead) -> None:
    for path in ahead.examined:
        info = prepared.payload.get(path)
        if info is not None:
            _KNOWN_TEXTS.remember(info.sha512, ahead.texts.get(path))


def _verdicts(prepared: Prepared) -> dict[str, Any] | None:
    """The SIP's four-property verdicts (none when it could not even be read as a bag)."""
    return prepared.checks.summary() if prepared.checks is not None else None


def _reject(repo: Repository, prepared: Prepared, extra: Iterable[Issue] = ()) -> IngestOutcome:
    issues = tuple(prepared.report.issues) + tuple(extra)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = repo.rejected / f"{prepared.sip_name}-{stamp}.json"
    target.parent.mkdir(exist_ok=True)
    body = {"sip": prepared.sip, "status": "rejected", "issues": [i.to_dict() for i in issues],
            "checks": prepared.checks.to_dict() if prepared.checks else None}
    target.write_text(json.dumps(body, ensure_ascii=False, indent=2), "utf-8")
    archive_id = prepared.archive.identifier if prepared.archive else None
    return IngestOutcome(prepared.sip, "rejected", archive_id, None, issues, str(target), _verdicts(prepared))


def _previous(repo: Repository, oid: str) -> PreviousVersion:
    inventory = repo.store.inventory(oid)  # read once, not once per file
    state, paths = logical_state(inventory), repo.store.content_paths(oid, inventory=inventory)
    archive = parse(paths[DESCRIPTIVE].read_bytes())
    return PreviousVersion(state, paths, archive)


def _decide(repo: Repository, prepared: Prepared) -> tuple[str, list[Issue], PreviousVersion | None]:
    """'new' | 'supplement' | 'duplicate' | 'reject' with the issues that decided it."""
    archive = prepared.archive
    assert archive is not None
    oid = object_id(archive.identifier)
    if not repo.store.exists(oid):
        if read_tombstone(repo.store.root, oid) is not None:  # disposed of (销毁): never held again
            return "reject", [issue("DSP005", DESCRIPTIVE, archive=archive.identifier)], None
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


def commit(repo: Repository, prepared: Prepared, *, now: datetime | None = None, ahead: Ahead | None = None
           ) -> IngestOutcome:
    """Store one prepared SIP as the next version of its archive (or reject it, or call it a duplicate).

    ``ahead`` is what the worker did ahead (:func:`work_ahead`); without it everything is done here. An error
    of this SIP's own while its version is built (see :func:`~.prepare.sip_fault`) rejects it with ING007;
    errors of the store, the catalogue, the index or the signer are raised and stop the batch.
    """
    if not prepared.valid:
        return _reject(repo, prepared)
    archive = prepared.archive
    assert archive is not None
    decision, issues, previous = _decide(repo, prepared)
    if decision == "duplicate":  # named by the version it was ingested as, not the archive's newest
        same = [v.name for v in repo.store.versions(object_id(archive.identifier)) if prepared.fingerprint in v.message]
        return IngestOutcome(prepared.sip, "duplicate", archive.identifier, same[0], checks=_verdicts(prepared))
    if decision == "reject" or any(i.severity.value == "error" for i in issues):
        return _reject(repo, prepared, issues)
    if decision == "new" and ahead is not None and ahead.fault is not None:
        return _reject(repo, prepared, [*issues, ahead.fault])  # the worker could not build its v1
    oid = object_id(archive.identifier)
    head = repo.store.head(oid)
    version = f"v{int(head[1:]) + 1}" if head else "v1"
    if decision == "new" and ahead is not None and ahead.v1 is not None and ahead.created is not None:
        files, now = ahead.v1, ahead.created  # built by the worker for exactly this case
    else:
        now = now or datetime.now(UTC)
        signer = repo.signer  # outside the guard: a signer that cannot be loaded stops the batch
        try:
            merged = merge(previous.archive, archive) if previous and previous.archive else archive
            built = build_version(prepared, merged, previous, version=version, now=now,
                                  institution=repo.cfg["repository.institution"], signer=signer)
            files = built.files
        except HsarError as exc:
            fault = sip_fault(exc)
            if fault is None:
                raise
            return _reject(repo, prepared, [*issues, fault])
    problems = logical_path_problems(list(files))  # what the store would refuse, refused before it is touched
    if problems:
        return _reject(repo, prepared, [*issues, issue("ING007", "", detail="; ".join(problems))])
    _write_intent(repo, archive.identifier, version)
    user = (repo.cfg["repository.institution"], repo.cfg["repository.contact"] or None)
    result = repo.store.add_version(oid, files, staging=repo.staging, message=_message(prepared), user=user,
                                    created=now, move=True, expected_head=head)
    if ahead is not None:
        _remember_texts(prepared, ahead)
    _record(repo, archive.identifier, ahead)  # the intent stays until the index batch is committed
    all_issues = tuple(prepared.report.issues) + tuple(issues)
    return IngestOutcome(prepared.sip, "ingested", archive.identifier, result.version, all_issues,
                         checks=_verdicts(prepared))


def ingest(repo: Repository, sips: Iterable[Path], *, workers: int = 1, progress: Progress | None = None,
           on_bytes: ByteProgress | None = None, admit: Admit | None = None) -> list[IngestOutcome]:
    """Ingest SIPs in the order given (a supplement after the archive it extends); ``on_bytes`` is told the
    bytes received of the SIP being received, which is the one after the last ``progress`` told (``workers``
    1; with worker processes it is never called); ``admit`` is asked about each SIP whose description could
    be read, under the lock before its commit (what it raises stops the batch)."""
    outcomes: list[IngestOutcome] = []
    with ingest_lock(repo):
        recover(repo)
        jobs = [(str(s), repo.cfg, str(repo.staging)) for s in sips]
        prepared_iter = prepared_sips(jobs, workers, on_bytes if workers <= 1 else None)
        indexed: set[str] = set()  # archives whose documents wait in the uncommitted index batch
        try:
            for prepared, ahead in prepared_iter:
                archive_id = prepared.archive.identifier if prepared.archive else None
                if archive_id in indexed:  # a second version in one batch: an engine need not see an
                    _finish_intents(repo)  # uncommitted document to replace it (Whoosh does not)
                    indexed.clear()
                try:
                    if admit is not None and prepared.archive is not None:
                        admit(prepared.sip, prepared.archive)
                    outcome = commit(repo, prepared, ahead=ahead)
                finally:
                    discard(prepared)
                if outcome.status == "ingested" and archive_id:
                    indexed.add(archive_id)
                outcomes.append(outcome)
                if progress:
                    progress(outcome)
            _finish_intents(repo)  # not on an exception: the next run re-records from storage
        finally:
            prepared_iter.close()
        _replicate(repo, outcomes)
    return outcomes


def _replicate(repo: Repository, outcomes: list[IngestOutcome]) -> None:
    """Copy the new versions to every replica root; what fails here the scheduled ``hsar replicate`` redoes."""
    if not repo.cfg["storage.replicas"]:
        return
    from ..preservation.replica import replicate

    ids = sorted({object_id(o.archive_id) for o in outcomes if o.status == "ingested" and o.archive_id})
    if ids:
        replicate(repo, object_ids=ids)


def summary(outcomes: Iterable[IngestOutcome]) -> Report:
    return Report(tuple(i for o in outcomes for i in o.issues))
