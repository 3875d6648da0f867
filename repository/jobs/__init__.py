"""Background jobs (后台作业): long work that never runs inside a request.

Ingest of uploaded SIPs, audits started from a page and reindexing are *jobs*: recorded in the state
database's ``jobs`` table (:mod:`.records`), queued with Huey (:mod:`.queue`: SQLite in ``<home>/jobs/`` by
default, Redis at ``jobs.url``), and run by ``hsar worker`` (:mod:`.worker`, :mod:`.tasks`). Uploaded files
are kept by :mod:`.uploads`, which also gives the key that makes a second upload of the same bytes the same
job.

Layer: above the workflows it runs (ingest, audit), below the use-cases (services) that submit jobs.
"""

from __future__ import annotations

from .queue import JobError, JobParamsError, JobQueue, JobQueueError, make_huey
from .records import KINDS, STATES, Job

__all__ = ["KINDS", "STATES", "Job", "JobError", "JobParamsError", "JobQueue", "JobQueueError", "make_huey"]
