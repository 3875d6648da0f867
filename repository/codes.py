"""Issue codes and validation results.

Every problem a validator can report has a stable code kept in one data file, ``data/codes.json``
(severity, stage, zh-CN and English message templates). Validators *return* :class:`Issue` values and
gather all of them before answering, as bagit-python and ocfl-py do; nothing here raises on bad input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib import resources

from .messages import Label, Text, shown


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


_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def explanation(code: str, lang: str) -> str:
    """What ``code`` means, from codes.json in ``lang``, its placeholders (whose values a job or an audit run
    does not keep) shown as …; the code itself when unknown."""
    info = catalogue().get(code)
    if info is None:
        return code
    return _PLACEHOLDER.sub("…", info.zh if lang == "zh" else info.en)


class _Blank(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "?"


#: An issue's parameter: a plain text, or a :class:`~repository.messages.Text` / ``Label`` shown per language.
Param = str | Text | Label


#: Every code :func:`issue` has built in this process (the test suite checks each code is raised somewhere).
RAISED: set[str] = set()


@dataclass(frozen=True)
class Issue:
    """One problem found in a package: stable ``code``, ``severity``, message and path.

    ``message`` is the zh-CN text; :meth:`message_in` renders any language from the code's templates and
    ``params``, whose :class:`~repository.messages.Text` values (a detail such as a signature's reason) are
    rendered in that language too. Plain frozen values: an issue pickles across processes."""

    code: str
    severity: Severity
    message: str
    path: str = ""
    params: tuple[tuple[str, Param], ...] = field(default=(), compare=False)

    def to_dict(self, lang: str = "zh", *, both: bool = False) -> dict[str, object]:
        """The JSON form: ``message`` in ``lang``; with ``both``, ``messages`` holds it in every language
        (for files read by people of either language)."""
        message = self.message if lang.startswith("zh") else self.message_in(lang)
        out: dict[str, object] = {"code": self.code, "severity": self.severity.value, "message": message,
                                  "path": self.path}
        if both:
            out["messages"] = {"zh": self.message_in("zh"), "en": self.message_in("en")}
        return out

    def message_in(self, lang: str) -> str:
        return message(self.code, lang, self.params)


def message(code: str, lang: str, params: Iterable[tuple[str, Param]]) -> str:
    """``code``'s message in ``lang`` (zh-CN for ``zh…``, else English) with ``params`` filled in (a missing
    one shown as ``?``): what :class:`Issue` renders, for findings that keep only their code and parameters."""
    info = catalogue()[code]
    template = info.zh if lang.startswith("zh") else info.en
    return template.format_map(_Blank({k: shown(v, lang) for k, v in params}))


def issue(code: str, path: str = "", *, severity: Severity | None = None, **params: object) -> Issue:
    """Build an :class:`Issue` for ``code`` (message in zh-CN; :meth:`Issue.message_in` for English).

    Unknown codes are a programming error (KeyError).
    """
    info = catalogue()[code]
    RAISED.add(code)
    kept: tuple[tuple[str, Param], ...] = tuple((k, v if isinstance(v, Text | Label) else str(v))
                                                for k, v in params.items())
    return Issue(code, severity or info.severity, message(code, "zh", kept), path, kept)


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
