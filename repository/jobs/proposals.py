"""Asking for scans' proposed researchers' copies (开放审核, :mod:`repository.dip.scans`): the ``scan-proposal`` job
of a scan, queued once for its key (its bytes and the names they are masked with), by whoever asks first: a
researcher's view of the scan (the web), an archivist preparing an archive for researchers (the archive page,
``hsar scan-review propose``), or an access copy that left the scan out (:func:`proposal_asker`).

The same key again is the job recorded first, whatever it did: one waiting or running is that one; one that
failed is queued again only after :data:`RETRY_SECONDS` (not on every reload); after a done one, whose proposal
was superseded or disposed of since, the next one in its chain (``<key>:<job id>``), as often as that happens.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ..config import Config
from ..dip.scans import ScanState
from ..errors import HsarError
from .queue import JobQueue
from .records import JobRecords

RETRY_SECONDS = 3600  # a proposal job that failed is queued again after this long (not on every reload)


@dataclass(frozen=True)
class Asked:
    """The proposal job of the scan ``path``: ``new`` when it was queued now (else one recorded already: waiting,
    running, or failed less than :data:`RETRY_SECONDS` ago)."""

    path: str
    job_id: str
    new: bool

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "job": self.job_id, "new": self.new}


def dedupe_key(found: ScanState) -> str:
    """The job's dedupe key (a digest: any archive id and path fit the jobs table's 128 characters)."""
    digest = hashlib.sha256(f"{found.archive_id}\0{found.path}\0{found.key}".encode()).hexdigest()
    return f"scan-proposal:{digest[:64]}"


def queue_proposals(cfg: Config, username: str | None, scans: Iterable[ScanState], *,
                    records: JobRecords | None = None) -> list[Asked]:
    """The proposal job of each of ``scans`` (queued now unless recorded, as the module says), for ``username``;
    ``records``: the job records to look in first (a request's shared ones; else the queue's). The queue is
    opened only when a job is to be queued; one that cannot be reached is HsarError ``JOB-QUEUE``."""
    out: list[Asked] = []
    queue: JobQueue | None = None
    try:
        for found in scans:
            look = records
            if look is None:
                queue = queue or JobQueue(cfg)
                look = queue.records
            key, job = look.chained(dedupe_key(found))  # after a done one: superseded or disposed of since
            if job is not None and (job.state != "failed" or job.failed_within(RETRY_SECONDS)):
                out.append(Asked(found.path, job.id, False))
                continue
            queue = queue or JobQueue(cfg)
            made = queue.submit("scan-proposal", {"archives": [found.archive_id], "path": found.path},
                                user=username, dedupe_key=key)
            out.append(Asked(found.path, made.id, True))
    finally:
        if queue is not None:
            queue.close()
    return out


def unproposed(scans: Iterable[ScanState]) -> list[ScanState]:
    """The scans of ``scans`` that have no current proposal (:attr:`ScanState.proposed`)."""
    return [found for found in scans if not found.proposed]


def proposal_asker(cfg: Config, username: str | None) -> Callable[[Sequence[ScanState]], set[str]]:
    """What an access copy calls with the scans it leaves out for want of an approved copy: their proposals are
    asked for (those without a current proposal); the paths whose proposal job is recorded (queued now or
    before). A queue that cannot be reached asks for nothing (the copy is made all the same)."""

    def ask(scans: Sequence[ScanState]) -> set[str]:
        try:
            return {asked.path for asked in queue_proposals(cfg, username, unproposed(scans))}
        except (HsarError, OSError):  # no queue (JOB-QUEUE), or its folder cannot be made
            return set()

    return ask


__all__ = ["RETRY_SECONDS", "Asked", "dedupe_key", "proposal_asker", "queue_proposals", "unproposed"]
