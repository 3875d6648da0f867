"""The replicas (``storage.replicas``) as the audit page shows them, read only: each configured root, whether it
holds an OCFL storage root, and the newest copy ``hsar replicate`` (or an audit's repair) made to it, from the
audit log. Nothing is created, recovered or copied here: ``hsar replicate`` does that, on its schedule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from ..home import Repository
from ..preservation.ocfl_layout import is_storage_root
from ..preservation.replica import labelled_replicas


@dataclass(frozen=True)
class ReplicaState:
    label: str  # replica1, replica2 … in the order of storage.replicas (as the audit and `hsar replicate` name them)
    root: str
    usable: bool  # the root holds an OCFL storage root's declaration
    last_copy: datetime | None  # the newest version copied to it (a replication event in the audit log)
    copies: int  # replication events for it in the log


def replica_states(repo: Repository) -> list[ReplicaState]:
    """Every configured replica, in order (none configured: an empty list)."""
    replicas = labelled_replicas(repo.cfg.paths("storage.replicas"))
    if not replicas:
        return []
    labels = [label for label, _root in replicas]
    newest: dict[str, datetime] = {}
    counts = dict.fromkeys(labels, 0)
    path = repo.paths.audit_log
    if path.exists():
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if '"replication"' not in line:  # most lines: no JSON parsed
                    continue
                try:
                    entry = json.loads(line)
                    copy, event = entry.get("copy"), entry.get("event") or {}
                    if copy not in counts or event.get("type") != "replication":
                        continue
                    when = datetime.fromisoformat(event["datetime"])
                except (ValueError, TypeError, KeyError, AttributeError):
                    continue  # a damaged line: the log's verification names it
                counts[copy] += 1
                if copy not in newest or when > newest[copy]:
                    newest[copy] = when
    return [ReplicaState(label, str(root), is_storage_root(root), newest.get(label), counts[label])
            for label, root in replicas]
