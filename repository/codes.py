"""Issue codes and validation results.

Every problem a validator can report has a stable code kept in one data file, ``data/codes.json``
(severity, stage, zh-CN and English message templates). Validators *return* :class:`Issue` values and
gather all of them before answering, as bagit-python and ocfl-py do; nothing here raises on bad input.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib import resources


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class CodeInfo:
    code: str
    severity: Severity
    stage: str
    zh: str
    en: str


@cache
def catalogue() -> dict[str, CodeInfo]:
    """All known codes, loaded once from ``repository/data/codes.json``."""
    raw = json.loads(resources.files("repository").joinpath("data/codes.json").read_text("utf-8"))
    return {
        code: CodeInfo(code, Severity(v["severity"]), v["stage"], v["zh"], v["en"])
        for code, v in raw.items()
        if not code.startswith("_")
    }


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "?"


#: Every code :func:`issue` has built in this process (the test suite checks each code is raised somewhere).
RAISED: set[str] = set()


@dataclass(frozen=True)
class Issue:
    """One problem found in a package: stable ``code``, ``severity``, message and path."""

    code: str
    severity: Severity
    message: str
    path: str = ""
    params: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def to_dict(self, lang: str = "zh") -> dict[str, str]:
        message = self.message if lang.startswith("zh") else self.message_in(lang)
        return {"code": self.code, "severity": self.severity.value, "message": message, "path": self.path}

    def message_in(self, lang: str) -> str:
        info = catalogue()[self.code]
        template = info.zh if lang.startswith("zh") else info.en
        return template.format_map(_Blank(dict(self.params)))


def issue(code: str, path: str = "", *, severity: Severity | None = None, **params: object) -> Issue:
    """Build an :class:`Issue` for ``code`` (message in zh-CN; :meth:`Issue.message_in` for English).

    Unknown codes are a programming error (KeyError).
    """
    info = catalogue()[code]
    RAISED.add(code)
    str_params = tuple((k, str(v)) for k, v in params.items())
    return Issue(code, severity or info.severity, info.zh.format_map(_Blank(dict(str_params))), path, str_params)


@dataclass(frozen=True)
class Report:
    """The verdict of one validation run: every issue found, in the order found."""

    issues: tuple[Issue, ...] = ()

    @property
    def valid(self) -> bool:
        return not any(i.severity is Severity.ERROR for i in self.issues)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.WARNING]

    def codes(self) -> set[str]:
        return {i.code for i in self.issues}

    def extend(self, more: Iterable[Issue]) -> Report:
        return Report(self.issues + tuple(more))

    def to_dict(self, lang: str = "zh") -> dict[str, object]:
        return {"valid": self.valid, "issues": [i.to_dict(lang) for i in self.issues]}
