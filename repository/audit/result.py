"""Audit results: frozen values for one archive and one run, their PREMIS events and the BC-stage report.

Every archive checked yields PREMIS 3.0 events (LoC eventType vocabulary): one ``fixity check`` over every
copy, one ``digital signature validation`` of the version locks, and per repair a ``recovery`` (file
restored or rewritten from a verified copy), a ``quarantine`` (unexpected file moved out) or a ``replication``
(a copy caught up). The four-property report is stage BC of DA/T 70-2018 (long-term preservation), its items
in ``data/four_properties.json``: a repaired problem counts as a warning, an unrepaired one as a failure.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..codes import Issue, Severity
from ..divisions import NATIONAL
from ..messages import Text
from ..preservation.auditlog import LogHead
from ..preservation.copies import Finding
from ..preservation.four_properties import CheckReport, build_report
from ..preservation.premis import PremisEvent, hsar_agent, pyhanko_agent
from .repair import Repair

if TYPE_CHECKING:
    from .alerts import AlertOutcome

RESULTS = ("intact", "repaired", "failed")
FIXITY_CODES = frozenset(f"AUD{n:03d}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 17))
_CONTENT = re.compile(r"v[1-9][0-9]*/content/(.+)")
_EVENT_TYPES = {"restored": "recovery", "rewritten": "recovery", "quarantined": "quarantine",
                "removed": "quarantine", "caught-up": "replication"}


@dataclass(frozen=True)
class ArchiveResult:
    """One archive's audit: ``result`` is intact, repaired (every problem fixed and re-verified) or failed."""

    object_id: str
    archive_id: str
    head: str | None
    result: str
    findings: tuple[Finding, ...]
    repairs: tuple[Repair, ...]
    copies: tuple[str, ...]
    files_checked: int
    bytes_checked: int
    signature_ok: bool | None
    checks: CheckReport
    events: tuple[PremisEvent, ...]
    started: datetime
    finished: datetime
    log: LogHead | None = None

    @property
    def intact(self) -> bool:
        return self.result == "intact"

    def brief(self) -> dict[str, Any]:
        """The short form the run report keeps for an archive found intact without any finding."""
        return {"object_id": self.object_id, "archive_id": self.archive_id, "head": self.head, "result": self.result,
                "files_checked": self.files_checked, "bytes_checked": self.bytes_checked,
                "signature_ok": self.signature_ok, "log": self.log.to_dict() if self.log else None}

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "object_id": self.object_id, "archive_id": self.archive_id, "head": self.head, "result": self.result,
            "copies": list(self.copies), "files_checked": self.files_checked, "bytes_checked": self.bytes_checked,
            "signature_ok": self.signature_ok, "findings": [f.to_dict(lang) for f in self.findings],
            "repairs": [r.to_dict() for r in self.repairs], "checks": self.checks.to_dict(),
            "events": [event_dict(e) for e in self.events], "started": self.started.isoformat(),
            "finished": self.finished.isoformat(), "log": self.log.to_dict() if self.log else None,
        }


def event_dict(event: PremisEvent) -> dict[str, Any]:
    return {"identifier": event.identifier, "type": event.type, "datetime": event.datetime.isoformat(),
            "outcome": event.outcome, "detail": event.detail, "outcome_detail": event.outcome_detail}


def resolve(findings: Iterable[Finding], repairs: Iterable[Repair]) -> list[Finding]:
    """Mark each finding whose path a verified repair fixed (a repair never fixes AUD012, AUD014-AUD016,
    AUD025 or AUD026)."""
    fixed = {(r.copy, r.path): r for r in repairs if r.verified}
    out = []
    for finding in findings:
        repair = fixed.get(finding.key)
        if repair is not None and finding.code not in ("AUD012", "AUD014", "AUD015", "AUD016", "AUD025", "AUD026"):
            finding = dataclasses.replace(finding, repaired=True, source=repair.source)
        out.append(finding)
    return out


def verdict(findings: Iterable[Finding], repairs: Iterable[Repair]) -> str:
    findings, repairs = list(findings), list(repairs)
    if any(f.issue.severity is Severity.ERROR and not f.repaired for f in findings):
        return "failed"
    if any(r.verified for r in repairs) or any(f.repaired for f in findings):
        return "repaired"
    return "intact"


def bc_report(findings: Iterable[Finding], evidence: Mapping[str, Mapping[str, Any]], subject: Mapping[str, Any],
              created: datetime) -> CheckReport:
    """DA/T 70 stage BC items: an unrepaired error fails its item, a repaired one only warns."""
    issues: list[Issue] = []
    for f in findings:
        issues.append(dataclasses.replace(f.issue, severity=Severity.WARNING) if f.repaired else f.issue)
    return build_report("BC", issues, evidence, subject, created)


def _logical(path: str) -> str:
    match = _CONTENT.fullmatch(path)
    return match.group(1) if match else path


def archive_events(findings: list[Finding], repairs: list[Repair], *, files: int, size: int,
                   copies: tuple[str, ...], signature_ok: bool | None, versions: Iterable[str], when: datetime
                   ) -> list[PremisEvent]:
    """The PREMIS events of one archive's audit (see module docstring)."""
    hsar = hsar_agent().identifier
    bad = [f for f in findings if f.code in FIXITY_CODES]
    detail = f"sha512 of {files} files ({size} bytes) in {len(copies)} copies ({', '.join(copies)}) against the inventory"
    outcome_detail = "; ".join(f"{f.code} {f.copy}:{f.issue.path}" + (" repaired" if f.repaired else "")
                               for f in bad)[:4000]
    events = [PremisEvent.new("fixity check", when=when, agents=[hsar], detail=detail,
                              outcome="failure" if bad else "success", outcome_detail=outcome_detail,
                              objects=sorted({_logical(f.issue.path) for f in bad if f.issue.path})[:100])]
    if signature_ok is not None:
        versions = list(versions)
        sig_detail = f"locks of {', '.join(versions)} checked with pyHanko against the trust roots"
        sig_problems = "; ".join(f.issue.message for f in findings if f.code in ("AUD010", "AUD011", "AUD015"))
        events.append(PremisEvent.new("digital signature validation", when=when, detail=sig_detail,
                                      agents=[hsar, pyhanko_agent().identifier], outcome_detail=sig_problems[:4000],
                                      outcome="success" if signature_ok else "failure"))
    for repair in repairs:
        text = f"{repair.action} {repair.copy}:{repair.path}" + (f" from {repair.source}" if repair.source else "")
        text += "; re-verified" if repair.verified else "; verification failed"
        events.append(PremisEvent.new(_EVENT_TYPES[repair.action], when=when, agents=[hsar], detail=text,
                                      outcome="success" if repair.verified else "failure",
                                      outcome_detail=repair.detail[:4000],
                                      objects=[(_logical(repair.path), "outcome")] if repair.path else []))
    return events


@dataclass(frozen=True)
class AuditRun:
    """One ``hsar audit`` run; ``ok`` (exit code 0) when every archive checked is intact."""

    run_id: str
    mode: str
    started: datetime
    finished: datetime
    copies: tuple[tuple[str, str, str | None], ...]  # (label, root, error)
    archives: tuple[ArchiveResult, ...]
    issues: tuple[Issue, ...] = ()
    notes: tuple[Text, ...] = ()  # what the run could not do, rendered per reader
    selected: int = 0
    skipped: int = 0  # selected but not started (budget or stop)
    log_head: LogHead | None = None
    reports: tuple[str, ...] = ()
    alerts: tuple[AlertOutcome, ...] = ()
    repository: str = ""  # repository.name, in reports and alerts (one mailbox may serve several homes)
    stopped: bool = False  # a stop request (SIGTERM) ended the run before every selected archive was started
    scope: str = NATIONAL  # the division the run was confined to (select.run_scope): who may read its report

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(RESULTS, 0)
        for archive in self.archives:
            counts[archive.result] += 1
        return counts

    @property
    def ok(self) -> bool:
        return all(a.intact for a in self.archives) and not any(i.severity is Severity.ERROR for i in self.issues)

    @property
    def bytes_checked(self) -> int:
        return sum(a.bytes_checked for a in self.archives)

    @property
    def files_checked(self) -> int:
        return sum(a.files_checked for a in self.archives)

    @property
    def seconds(self) -> float:
        return max((self.finished - self.started).total_seconds(), 0.0)

    def summary(self, lang: str = "zh") -> dict[str, Any]:
        """The short form sent to alerts and printed by the CLI (each issue's text in ``lang`` and, under
        ``messages``, in every language)."""
        return {
            "repository": self.repository, "run_id": self.run_id, "mode": self.mode, "ok": self.ok,
            "started": self.started.isoformat(), "finished": self.finished.isoformat(), "counts": self.counts(),
            "archives_checked": len(self.archives),
            "selected": self.selected, "skipped": self.skipped, "stopped": self.stopped,
            "files_checked": self.files_checked,
            "bytes_checked": self.bytes_checked, "seconds": round(self.seconds, 3),
            "failed": [a.archive_id for a in self.archives if a.result == "failed"],
            "repaired": [a.archive_id for a in self.archives if a.result == "repaired"],
            "issues": [i.to_dict(lang, both=True) for i in self.issues], "notes": [n.render(lang) for n in self.notes],
            "reports": list(self.reports), "log_head": self.log_head.to_dict() if self.log_head else None,
        }

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {**self.summary(lang), "scope": self.scope,
                "copies": [{"label": c[0], "root": c[1], "error": c[2]} for c in self.copies],
                "archives": [a.to_dict(lang) if a.findings or not a.intact else a.brief() for a in self.archives],
                "alerts": [a.to_dict() if hasattr(a, "to_dict") else str(a) for a in self.alerts]}
