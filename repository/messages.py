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
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
#: the zone of every time shown to a person (China Standard Time, as the pages show it); stored times stay UTC
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def local_time(value: datetime | date | str | None, with_seconds: bool = False, offset: bool = False) -> str:
    """The one way a time is shown to a person: in :data:`LOCAL_ZONE` (Beijing time), never UTC ``Z``.

    ``value`` is an aware time, a naive one (read as UTC, as the stores keep them) or an ISO 8601 string;
    ``2026-12-06 18:54`` (pages), ``with_seconds`` ``2026-12-06 18:54:03``, ``offset`` adds the zone's offset
    (``2026-12-06 18:54:03 +08:00``, the command line, whose output may be read anywhere). A date is shown as
    is; a string that is not a time is shown unchanged; ``None`` or ``""`` as ``""``."""
    if value is None or value == "":
        return ""
    moment: object = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(moment, datetime):
        return moment.isoformat() if isinstance(moment, date) else str(moment)
    local = (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).astimezone(LOCAL_ZONE)
    shown = local.strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")
    return f"{shown} {local.isoformat(timespec='seconds')[19:]}" if offset else shown  # +08:00


def local_stamp(value: datetime | date | str | None) -> str:
    """A time as the command line and the text reports show it (output that may be read anywhere): Beijing
    time to the second with its offset, ``2026-12-06 18:54:03 +08:00`` (:func:`local_time`)."""
    return local_time(value, True, offset=True)


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


def langs_for(setting: object) -> tuple[str, ...]:
    """The languages of a text written for whoever reads it (an audit report, an alert mail), from a setting
    naming one language or ``both``."""
    return LANGS if setting == "both" else (str(setting),) if setting in LANGS else LANGS[:1]


def normalise_lang(lang: str | None) -> str:
    """``zh``, ``zh-CN``, ``zh_Hans`` … -> ``zh``; ``en-GB`` -> ``en``; anything else -> the default (zh)."""
    if lang is not None and lang in LANGS:  # the common case (every text of a page asks): no string work
        return lang
    base = (lang or "").replace("_", "-").split("-")[0].lower()
    return base if base in LANGS else DEFAULT_LANG


@dataclass(frozen=True)
class Label:
    """A parameter shown as a label in the language of the message (``Label("verdict", "failed")``)."""

    kind: str
    value: object

    def __str__(self) -> str:
        return label(self.kind, self.value, "en")


@dataclass(frozen=True)
class Text:
    """A message not yet rendered: its ``key`` and ``params``, shown in whichever language a reader wants.

    Library code hands a :class:`Text` where a person will read a sentence (an issue's detail, a signature's
    reason); the edge renders it with :meth:`render` (or :func:`text`, when it is a parameter of another
    message). Frozen and made of plain values, so it pickles across processes; :meth:`to_dict` is its JSON
    form (key and parameters) and :meth:`from_dict` reads it back. ``str()`` gives the default language."""

    key: str
    params: tuple[tuple[str, object], ...] = ()

    @classmethod
    def of(cls, key: str, /, **params: object) -> Text:
        return cls(key, tuple(params.items()))

    def render(self, lang: str | None = DEFAULT_LANG) -> str:
        return text(self.key, lang, **dict(self.params))

    def both(self) -> dict[str, str]:
        return {lang: self.render(lang) for lang in LANGS}

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key, "params": {name: param_json(value) for name, value in self.params}}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Text:
        raw = data.get("params")
        params = raw if isinstance(raw, Mapping) else {}
        return cls(str(data["key"]), tuple((str(k), _param_value(v)) for k, v in params.items()))

    def __str__(self) -> str:
        return self.render(DEFAULT_LANG)


def param_json(value: object) -> object:
    """A message parameter in JSON form (a :class:`Text` as its key and parameters), which :func:`text` renders
    again in any language: so a message stored as JSON (a job's error) is still shown per reader."""
    if isinstance(value, Text):
        return value.to_dict()
    if isinstance(value, tuple | list):
        return [param_json(v) for v in value]
    return str(value) if isinstance(value, Label) else value


def _param_value(value: object) -> object:
    if isinstance(value, Mapping) and "key" in value:
        return Text.from_dict(value)
    if isinstance(value, list):
        return tuple(_param_value(v) for v in value)
    return value


_AS_IS = frozenset({str, int, float, bool, type(None)})


def shown(value: object, lang: str | None = DEFAULT_LANG) -> object:
    """A parameter as a reader of ``lang`` sees it: a :class:`Label` or :class:`Text` rendered, a tuple of
    them joined with ``"; "``, anything else as is."""
    if type(value) in _AS_IS:  # most parameters (a page fills in hundreds): no further test
        return value
    if isinstance(value, Label):
        return label(value.kind, value.value, lang)
    if isinstance(value, Text):
        return value.render(lang)
    if isinstance(value, tuple | list):
        return "; ".join(str(shown(v, lang)) for v in value)
    if isinstance(value, Mapping) and isinstance(value.get("key"), str) and value["key"] in catalogue():
        return Text.from_dict(value).render(lang)  # the JSON form of a Text (param_json)
    render = getattr(value, "message_in", None)  # an issue (codes.Issue): its text in that language
    if callable(render):
        return render(normalise_lang(lang))
    return value


def text(key: str, lang: str | None = DEFAULT_LANG, /, **params: object) -> str:
    """The message ``key`` in ``lang`` with ``params`` filled in (an unknown key is a defect: KeyError).

    A :class:`Label` or :class:`Text` parameter is shown in ``lang`` (a tuple of them joined with "; ")."""
    template = catalogue()[key][normalise_lang(lang)]
    if not params:
        return template
    return template.format_map(_Blank({name: shown(v, lang) for name, v in params.items()}))


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
