"""The alert of a sign-in lock (登录失败锁定告警), as a job: the sign-in request that locks an account name
(:func:`repository.accounts.users.sign_in`, ``locked_now``) only queues a ``lock-alert`` job
(:func:`submit_lock_alert`, once per lock: its dedupe key is the name and the lock's end), and ``hsar worker``
sends it through the audit's alert channels (:func:`repository.audit.alerts.deliver`: the configured command,
SMTP mail), so a slow mail server or a hanging command never holds the sign-in, which answers at once whatever
the channels do. The job's result keeps each channel's outcome; a channel that failed fails the job
(``ALERT-FAILED``, the outcomes in its message), which the administrator sees on the jobs page.

What is sent: the repository's name, the account name, the number of failures that locked it, when the lock
ends and the address of the last failure; never a password (the sign-in keeps none).
"""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime
from typing import Any

from ..audit.alerts import configured, deliver, lock_alert
from ..config import Config
from ..errors import HsarError
from ..home import Repository
from ..messages import langs_for
from .params import ALERT_ADDRESS_LENGTH, ALERT_NAME_LENGTH
from .queue import JobQueue
from .records import Job

KIND = "lock-alert"


def submit_lock_alert(cfg: Config, username: str, failures: int, until: datetime, address: str) -> Job | None:
    """Queue the alert of ``username`` locked until ``until`` (the same lock again: the same job); None when
    no alert channel is configured (nothing to send)."""
    if not configured(cfg):
        return None
    params = {"username": username[:ALERT_NAME_LENGTH], "failures": failures, "locked_until": until.isoformat(),
              "address": address[:ALERT_ADDRESS_LENGTH]}
    same = hashlib.sha256(f"{params['locked_until']}\n{params['username']}".encode()).hexdigest()
    with JobQueue(cfg) as queue:
        return queue.submit(KIND, params, dedupe_key=f"{KIND}:{same}")


def run_lock_alert(repo: Repository, job: Job, progress: Any, stop: threading.Event) -> dict[str, Any]:  # noqa: ANN401 - tasks.Progress
    """Send the alert through every configured channel; ALERT-FAILED when one of them failed."""
    cfg = repo.cfg
    lock = {"repository": str(cfg["repository.name"]), **job.params}
    outcomes = deliver(cfg, lock_alert(lock, langs_for(cfg["repository.language"])), stop=stop)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise HsarError(msgid="accounts.lock_alert.failed", code="ALERT-FAILED",
                        outcomes="; ".join(f"{o.channel}: {o.detail}" for o in outcomes))
    return {"outcomes": [o.to_dict() for o in outcomes]}
