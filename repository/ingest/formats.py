"""The format step of ingest: identify every payload file (FIDO/PRONOM), apply the format policy, verify
embedded PDF signatures (pyHanko), look for active content in PDFs (:mod:`repository.formats.pdfactive`), and turn all of it
into coded issues (FMT001-FMT010).

Identification runs in worker processes with a bounded read and a time limit per file
(:mod:`repository.formats.identify`); the identifier and the policy are loaded once per process.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..codes import Issue, issue
from ..config import Config
from ..formats.identify import FormatFact, Identifier
from ..formats.pdfactive import RUNS_CODE
from ..formats.pdfsig import inspect_pdf
from ..formats.policy import FormatPolicy, PolicyDecision, format_issues

_IDENTIFIERS: dict[tuple[int, float], Identifier] = {}
_IDENTIFIERS_LOCK = threading.Lock()


@dataclass(frozen=True)
class FileInfo:
    """One file of a received SIP (bag-relative path), with what ingest learnt about it."""

    path: str
    size: int
    sha512: str
    puid: str | None = None
    format_name: str = ""
    format_version: str | None = None
    method: str = "none"
    policy: str | None = None
    signatures: tuple[dict[str, Any], ...] = ()


def identifier_for(cfg: Config) -> Identifier:
    """The process's identifier for these settings, made once (compiling the signatures takes a second or
    two), also when several threads ask at the same time."""
    key = (int(cfg["formats.max_read_bytes"]), float(cfg["formats.timeout_seconds"]))
    with _IDENTIFIERS_LOCK:
        if key not in _IDENTIFIERS:
            _IDENTIFIERS[key] = Identifier(max_read_bytes=key[0], timeout_seconds=key[1])
        return _IDENTIFIERS[key]


def _forget_worker_pools() -> None:
    """In a forked child (``hsar ingest --workers N``): keep the compiled signatures, which is why ingest
    loads them before forking, but not the parent's identification workers: the child must never talk to
    them over the pipes it inherited. It starts its own on first use."""
    global _IDENTIFIERS_LOCK
    _IDENTIFIERS_LOCK = threading.Lock()
    for found in _IDENTIFIERS.values():
        found._pool = None  # not close(): the workers are the parent's


os.register_at_fork(after_in_child=_forget_worker_pools)


def policy_for(cfg: Config) -> FormatPolicy:
    return FormatPolicy.from_config(cfg)


def _security_issues(rel: str, fact: FormatFact, decision: PolicyDecision, policy: FormatPolicy) -> list[Issue]:
    """FMT008: content the policy refuses because it executes (programs, scripts, macros)."""
    if decision.accepted or decision.cause != "format" or fact.puid is None:
        return []
    if policy.is_executable(fact.puid) or any(policy.is_executable(p) for p in fact.candidates):
        return [issue("FMT008", rel, puid=fact.puid)]
    return []


def _active_issues(rel: str, active: tuple[str, ...]) -> list[Issue]:
    """FMT009 for PDF content that runs (JavaScript, launch actions), FMT010 for embedded files and rich media."""
    runs = [kind for kind in active if kind in RUNS_CODE]
    rest = [kind for kind in active if kind not in RUNS_CODE]
    return ([issue("FMT009", rel, kinds=", ".join(runs))] if runs else []) + \
        ([issue("FMT010", rel, kinds=", ".join(rest))] if rest else [])


def assess_formats(bag_dir: Path, payload: dict[str, FileInfo], cfg: Config) -> tuple[dict[str, FileInfo], list[Issue]]:
    """Format facts, policy level and embedded signatures for every payload file, plus the issues."""
    paths = sorted(payload)
    facts = identifier_for(cfg).identify_many([bag_dir / p for p in paths], workers=int(cfg["audit.workers"]))
    policy = policy_for(cfg)
    trust = cfg.paths("signing.trust_roots")
    trust = [p for p in trust if p.is_file()]
    assessed: dict[str, FileInfo] = {}
    found: list[Issue] = []
    for rel, fact in zip(paths, facts, strict=True):
        pdf = fact.mime == "application/pdf" or rel.lower().endswith(".pdf")
        sigs, active = inspect_pdf(bag_dir / rel, trust) if pdf else ((), ())
        decision = policy.classify(fact, sigs)
        found += format_issues(rel, fact, decision, sigs, timeout_seconds=float(cfg["formats.timeout_seconds"]))
        found += _security_issues(rel, fact, decision, policy) + _active_issues(rel, active)
        assessed[rel] = replace(payload[rel], puid=fact.puid, format_name=fact.name, format_version=fact.version or None,
                                method=fact.method, policy=decision.level,
                                signatures=tuple(s.to_dict() for s in sigs))
    return assessed, found
