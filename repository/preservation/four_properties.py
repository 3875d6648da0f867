"""Four-property check report (四性检测) after DA/T 70-2018: authenticity, integrity, usability, security.

The items, their groups and which issue codes make each fail or warn live in one data file,
``data/four_properties.json``. A report is derived from the issues every earlier stage already reported
(validation, format identification, signatures), plus positive evidence (counts, bytes, algorithms), so that a
pass is as explicit as a failure. Stage ``GD`` is archiving (ingest); ``BC`` is long-term preservation (audit).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from .. import SOFTWARE
from ..codes import Issue, Severity

RESULTS = ("pass", "warn", "fail")


@dataclass(frozen=True)
class CheckItem:
    code: str
    group: str
    name_zh: str
    name_en: str
    result: str
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "group": self.group, "name": self.name_zh, "name_en": self.name_en,
                "result": self.result, "evidence": dict(self.evidence)}


@dataclass(frozen=True)
class CheckReport:
    stage: str
    items: tuple[CheckItem, ...]
    subject: Mapping[str, Any]
    created: str

    @property
    def result(self) -> str:
        return _worst(i.result for i in self.items)

    def group_results(self) -> dict[str, str]:
        groups: dict[str, list[str]] = {}
        for item in self.items:
            groups.setdefault(item.group, []).append(item.result)
        return {g: _worst(r) for g, r in groups.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "standard": "DA/T 70-2018",
            "stage": self.stage,
            "software": SOFTWARE,
            "created": self.created,
            "subject": dict(self.subject),
            "result": self.result,
            "groups": self.group_results(),
            "items": [i.to_dict() for i in self.items],
        }

    def summary(self) -> dict[str, Any]:
        """The verdicts without the evidence (what a job keeps of each SIP's report): the overall result, each
        property's and each item's (``code``, ``group``, ``result``); names come from :func:`definitions`."""
        return {"standard": "DA/T 70-2018", "stage": self.stage, "result": self.result,
                "groups": self.group_results(),
                "items": [{"code": i.code, "group": i.group, "result": i.result} for i in self.items]}

    def to_json(self) -> bytes:
        return (json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=False) + "\n").encode("utf-8")


def _worst(results: Iterable[str]) -> str:
    worst = 0
    for r in results:
        worst = max(worst, RESULTS.index(r))
    return RESULTS[worst]


@cache
def definitions() -> dict[str, Any]:
    return json.loads(resources.files("repository").joinpath("data/four_properties.json").read_text("utf-8"))


def item_result(fail_codes: Iterable[str], warn_codes: Iterable[str], issues: Iterable[Issue]) -> tuple[str, list]:
    """The result of one check item from the issues found, and the issues that decided it."""
    fail, warn = set(fail_codes), set(warn_codes)
    decisive = [i for i in issues if i.code in fail or i.code in warn]
    if any(i.code in fail and i.severity is Severity.ERROR for i in decisive):
        return "fail", decisive
    if decisive:
        return "warn", decisive
    return "pass", []


def build_report(
    stage: str,
    issues: Iterable[Issue],
    evidence: Mapping[str, Mapping[str, Any]],
    subject: Mapping[str, Any],
    created: datetime,
) -> CheckReport:
    """Derive every item of ``stage`` from ``issues``; ``evidence`` adds positive facts per item code."""
    issues = list(issues)
    items = []
    for d in definitions()["items"]:
        if not d["code"].startswith(stage + "-"):
            continue
        result, decisive = item_result(d.get("fail_codes", []), d.get("warn_codes", []), issues)
        ev = dict(evidence.get(d["code"], {}))
        if decisive:
            ev["issues"] = [i.to_dict() for i in decisive[:50]]
            ev["issue_count"] = len(decisive)
        items.append(CheckItem(d["code"], d["group"], d["zh"], d["en"], result, ev))
    return CheckReport(stage, tuple(items), subject, created.isoformat())
