"""Plain-JSON form of the domain dataclasses (:mod:`repository.model`) and of catalogue views.

The catalogue keeps each archive's whole current description as JSON so ``hsar show`` needs no store
access; :func:`from_plain` turns it back into the same frozen :class:`~repository.model.Archive` value.
Dates are ISO 8601 strings, enums their values, tuples lists.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


_PLAIN = frozenset({str, int, float, bool, type(None)})


@cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    """The field names of a dataclass type (None for any other type): looked up once per type."""
    if dataclasses.is_dataclass(cls):
        return tuple(f.name for f in dataclasses.fields(cls))
    return None


def to_plain(value: Any) -> Any:  # noqa: ANN401 - any JSON value
    """``value`` as JSON-ready dicts, lists, strings and numbers."""
    cls = type(value)
    if cls in _PLAIN:
        return value
    names = _field_names(cls)  # type: ignore[arg-type]  # a type is hashable
    if names is not None:
        return {name: to_plain(getattr(value, name)) for name in names}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_plain(cls: type[T], data: Any) -> T:  # noqa: ANN401 - any JSON value
    """Rebuild a dataclass value of type ``cls`` from :func:`to_plain` output."""
    return _decoder(cls)(data)  # type: ignore[arg-type]  # a type is hashable


Decoder = typing.Callable[[Any], Any]


def _optional(inner: Decoder) -> Decoder:
    return lambda data: None if data is None else inner(data)


@cache
def _decoder(tp: Any) -> Decoder:  # noqa: ANN401 - a type annotation
    """The function that rebuilds a value of annotation ``tp`` (None stays None), made once per annotation:
    reading the annotation on every value cost more than the values (the archive page decodes a description
    of a few hundred fields per view)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decoder(inner[0])
    if origin is tuple or origin is list:
        item, kind = _decoder(typing.get_args(tp)[0]), origin
        return _optional(lambda data: kind(item(v) for v in data))
    if origin is dict:
        return _optional(dict)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _dataclass_decoder(tp)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return _optional(tp)
    if tp is datetime:
        return _optional(datetime.fromisoformat)
    if tp is date:
        return _optional(date.fromisoformat)
    if tp is float:
        return _optional(float)
    return lambda data: data


def _dataclass_decoder(cls: type) -> Decoder:
    hints = _hints(cls)
    plan: list[tuple[str, Decoder]] = []

    def decode(data: Any) -> Any:  # noqa: ANN401 - a JSON object
        if data is None:
            return None
        if not plan:  # filled on first use: a field's type may be this very class (made lazily, no recursion)
            plan[:] = [(f.name, _decoder(hints[f.name])) for f in dataclasses.fields(cls)]
        return cls(**{name: dec(data[name]) for name, dec in plan if name in data})

    return decode


def normalised(cls: type, data: Any) -> Any:  # noqa: ANN401 - a JSON value
    """``to_plain(from_plain(cls, data))``, without building the dataclass values in between: what a value
    stored as JSON reads back as (floats as floats, enum values checked, dates in ISO form, missing fields as
    their defaults, unknown keys left out). The archive page reads each description so (a few hundred fields
    per view, a third of the time of the two walks)."""
    return _normaliser(cls)(data)


@cache
def _normaliser(tp: Any) -> Decoder:  # noqa: ANN401 - a type annotation
    """As :func:`_decoder`, each step followed by what :func:`to_plain` makes of its value."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _normaliser(inner[0])
    if origin is tuple or origin is list:
        item = _normaliser(typing.get_args(tp)[0])
        return _optional(lambda data: [item(v) for v in data])
    if origin is dict:
        return _optional(lambda data: to_plain(dict(data)))
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _dataclass_normaliser(tp)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return _optional(lambda data: tp(data).value)
    if tp is datetime:
        return _optional(lambda data: datetime.fromisoformat(data).isoformat())
    if tp is date:
        return _optional(lambda data: date.fromisoformat(data).isoformat())
    if tp is float:
        return _optional(float)
    return to_plain


def _dataclass_normaliser(cls: type) -> Decoder:
    hints = _hints(cls)
    plan: list[tuple[str, Decoder, dataclasses.Field[Any]]] = []

    def normalise(data: Any) -> Any:  # noqa: ANN401 - a JSON object
        if data is None:
            return None
        if not plan:  # filled on first use, as _dataclass_decoder's plan
            plan[:] = [(f.name, _normaliser(hints[f.name]), f) for f in dataclasses.fields(cls)]
        out = {}
        for name, norm, f in plan:
            if name in data:
                value = data[name]  # a string or number of a field kept as it is: no call (most fields)
                out[name] = value if norm is to_plain and type(value) in _PLAIN else norm(value)
            elif f.default is not dataclasses.MISSING:
                out[name] = to_plain(f.default)
            elif f.default_factory is not dataclasses.MISSING:
                out[name] = to_plain(f.default_factory())
            else:  # as the constructor would
                raise TypeError(f"{cls.__name__} needs {name}")
        return out

    return normalise
