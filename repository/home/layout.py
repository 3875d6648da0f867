"""The layout of a repository home (仓库主目录): every path of it, in one table (:data:`LAYOUT`).

Code asks :class:`HomePaths` (``Repository.paths``) for a path instead of joining names by hand, so the
layout is changed here alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .. import config

#: Every fixed path of a home, relative to it (the storage root and the index are settings, see
#: :class:`HomePaths`). Code asks :attr:`Repository.paths` instead of joining names by hand.
LAYOUT = {
    "settings": "hsar.toml",
    "staging": "staging",
    "ingest_lock": "staging/.ingest.lock",
    "rejected": "rejected",
    "reports": "reports",
    "paper_report": "reports/paper-reconciliation.sqlite",  # the stored reconciliation (repository.paper.stored)
    "keys": "keys",
    "ca": "keys/ca.pem",
    "index_key": "keys/index-id.key",
    "audit": "audit",
    "audit_log": "audit/log.jsonl",
    "audit_lock": "audit/.audit.lock",
    "readers_lock": "audit/.readers.lock",  # held shared by exports, OCR runs, replication; a disposal's alone
    "quarantine": "audit/quarantine",
    "catalog_file": "catalog.sqlite",
    "default_storage": "storage",
    "exports": "exports",  # transfer packages made by export jobs of the web, one folder per job
    "text_cache": "cache/texts",  # PDF texts and scan verdicts by SHA-512: a cache (repository.search.textcache)
    "research_cache": "cache/research",  # researchers' copies of PDFs, personal data painted over (formats.redact)
    "census_cache": "cache/census.json",  # the statistics census, shared by the home's processes (a cache)
    "census_lock": "cache/.census.lock",  # held by the process counting it (repository.services.censusfile)
}
#: Everything a home holds is its owner's alone: archives of low-income households, resident IDs, the signing
#: key. The home's work runs with this umask (set by :func:`owner_only`), so every file and folder it creates
#: (store, catalogue, index, reports, rejected reports, logs, state database, jobs) is owner-only.
UMASK = 0o077


def owner_only() -> None:
    """Make what this process creates from now on owner-only (umask 077). Called where the home's work starts:
    the command line (every command, ``serve``, ``worker``), :meth:`Repository.open` and ``init``."""
    os.umask(UMASK)


SUBDIRS = ("staging", "rejected", "reports")  # made by init besides the storage root and the keys
INTENT_PREFIX, INTENT_SUFFIX = "intent-", ".json"


@dataclass(frozen=True)
class HomePaths:
    """The paths of one home: :data:`LAYOUT` joined to it, plus the storage root and index of its settings."""

    home: Path
    settings: Path
    staging: Path
    ingest_lock: Path
    rejected: Path
    reports: Path
    paper_report: Path
    keys: Path
    ca: Path
    index_key: Path
    audit: Path
    audit_log: Path
    audit_lock: Path
    readers_lock: Path
    quarantine: Path
    catalog_file: Path
    default_storage: Path
    exports: Path
    text_cache: Path
    research_cache: Path
    census_cache: Path
    census_lock: Path
    storage: Path
    index: Path

    @classmethod
    def of(cls, home: Path, cfg: config.Config | None = None) -> HomePaths:
        home = Path(home)
        fixed = {name: home / rel for name, rel in LAYOUT.items()}
        storage = cfg.path("storage.root") if cfg else fixed["default_storage"]
        index = cfg.path("search.index") if cfg else home / "index"
        return cls(home=home, storage=storage, index=index, **fixed)

    def intent(self, archive_id: str) -> Path:
        """The intent file of a commit of ``archive_id`` in progress."""
        return self.staging / f"{INTENT_PREFIX}{archive_id}{INTENT_SUFFIX}"

    def intents(self) -> list[Path]:
        return sorted(self.staging.glob(f"{INTENT_PREFIX}*{INTENT_SUFFIX}"))


