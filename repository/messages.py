"""The message catalogue (消息目录): every text hsar shows a person, in zh-CN and English, kept in one place.

Library code never builds a sentence for a person: it raises an error or returns a value carrying a message
key and parameters, and the edge (the command line in ``--lang``, the web application per user) renders it
with :func:`text`. The texts live in ``repository/data/messages/*.json``, one file per area, each entry
``{"key": {"zh": "…{param}…", "en": "…{param}…"}}``; a key is unique across all files and every entry has
both languages (checked when loaded, and by the test suite). Issue codes keep their own texts in
``data/codes.json`` (:mod:`repository.codes`).

Labels of values (status, material class, security type …) are entries too, keyed ``<kind>.<value>``, so a
page or a command shows ``控制使用`` or ``restricted`` rather than a code: :func:`label`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"


class CatalogueError(Exception):
    """The shipped catalogue itself is broken (a duplicate key, a missing language): a defect of hsar."""


class _Blank(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """Every message, loaded once from ``data/messages/*.json``; keys starting with ``_`` are comments."""
    entries: dict[str, dict[str, str]] = {}
    folder = resources.files("repository").joinpath("data/messages")
    for item in sorted(folder.iterdir(), key=lambda i: i.name):
        if not item.name.endswith(".json"):
            continue
        for key, value in json.loads(item.read_text("utf-8")).items():
            if key.startswith("_"):
                continue
            if key in entries:
                raise CatalogueError(f"message key {key!r} is defined twice (second time in {item.name})")
            if not isinstance(value, dict) or any(not isinstance(value.get(lang), str) or not value[lang]
                                                  for lang in LANGS):
                raise CatalogueError(f"message {key!r} in {item.name} needs a non-empty text for each of {LANGS}")
            entries[key] = {lang: value[lang] for lang in LANGS}
    return entries


def normalise_lang(lang: str | None) -> str:
    """``zh``, ``zh-CN``, ``zh_Hans`` … -> ``zh``; ``en-GB`` -> ``en``; anything else -> the default (zh)."""
    base = (lang or "").replace("_", "-").split("-")[0].lower()
    return base if base in LANGS else DEFAULT_LANG


@dataclass(frozen=True)
class Label:
    """A parameter shown as a label in the language of the message (``Label("verdict", "failed")``)."""

    kind: str
    value: object

    def __str__(self) -> str:
        return label(self.kind, self.value, "en")


def text(key: str, lang: str | None = DEFAULT_LANG, /, **params: object) -> str:
    """The message ``key`` in ``lang`` with ``params`` filled in (an unknown key is a defect: KeyError).

    A :class:`Label` parameter is shown as the label in ``lang``."""
    template = catalogue()[key][normalise_lang(lang)]
    if not params:
        return template
    shown = {name: label(v.kind, v.value, lang) if isinstance(v, Label) else v for name, v in params.items()}
    return template.format_map(_Blank(shown))


def has(key: str) -> bool:
    return key in catalogue()


def label(kind: str, value: object, lang: str | None = DEFAULT_LANG) -> str:
    """A value's label (``status.restricted`` -> 控制使用 / restricted); the value itself when none is kept."""
    key = f"{kind}.{value}"
    return text(key, lang) if key in catalogue() else str(value)


def printable(name: str) -> str:
    """The one way hsar shows a file name: a name that is not UTF-8 on disk (decoded by Python with surrogate
    escapes) shows its bytes as ``\\xff``; any other lone surrogate as ``\\udXXX``; every other name unchanged."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        try:
            return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:
            return name.encode("utf-8", "backslashreplace").decode("ascii")


def both(key: str, /, **params: object) -> Mapping[str, str]:
    """The message in every language (for JSON output and reports read by people of either language)."""
    return {lang: text(key, lang, **params) for lang in LANGS}
