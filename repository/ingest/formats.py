"""The format step of ingest: identify every payload file (FIDO/PRONOM), apply the format policy, verify
embedded PDF signatures (pyHanko), and turn all of it into coded issues (FMT001-FMT008).

Identification runs in worker processes with a bounded read and a time limit per file
(:mod:`repository.ingest.identify`); the identifier and the policy are loaded once per process.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

from ..codes import Issue, issue
from ..config import Config
from .identify import FormatFact, Identifier
from .pdfsig import verify_pdf_signatures
from .policy import FormatPolicy, PolicyDecision, format_issues
from .prepare import FileInfo


@cache
def _identifier(max_read: int, timeout: float) -> Identifier:
    return Identifier(max_read_bytes=max_read, timeout_seconds=timeout)


def identifier_for(cfg: Config) -> Identifier:
    return _identifier(int(cfg["formats.max_read_bytes"]), float(cfg["formats.timeout_seconds"]))


def policy_for(cfg: Config) -> FormatPolicy:
    return FormatPolicy.from_config(cfg)


def _security_issues(rel: str, fact: FormatFact, decision: PolicyDecision, policy: FormatPolicy) -> list[Issue]:
    """FMT008: content the policy refuses because it executes (programs, scripts, macros)."""
    if decision.accepted or decision.cause != "format" or fact.puid is None:
        return []
    if policy.is_executable(fact.puid) or any(policy.is_executable(p) for p in fact.candidates):
        return [issue("FMT008", rel, puid=fact.puid)]
    return []


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
        sigs = verify_pdf_signatures(bag_dir / rel, trust) if fact.mime == "application/pdf" or rel.lower().endswith(
            ".pdf") else ()
        decision = policy.classify(fact, sigs)
        found += format_issues(rel, fact, decision, sigs, timeout_seconds=float(cfg["formats.timeout_seconds"]))
        found += _security_issues(rel, fact, decision, policy)
        assessed[rel] = replace(payload[rel], puid=fact.puid, format_name=fact.name, format_version=fact.version or None,
                                method=fact.method, policy=decision.level,
                                signatures=tuple(s.to_dict() for s in sigs))
    return assessed, found
