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


def to_plain(value: Any) -> Any:  # noqa: ANN401 - any JSON value
    """``value`` as JSON-ready dicts, lists, strings and numbers."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
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
    return _decode(cls, data)


def _decode(tp: Any, data: Any) -> Any:  # noqa: ANN401 - a type annotation, any JSON value
    if data is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode(inner[0], data)
    if origin is tuple:
        args = typing.get_args(tp)
        return tuple(_decode(args[0], v) for v in data)
    if origin is list:
        return [_decode(typing.get_args(tp)[0], v) for v in data]
    if origin is dict:
        return dict(data)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = _hints(tp)
        return tp(**{f.name: _decode(hints[f.name], data[f.name])
                     for f in dataclasses.fields(tp) if f.name in data})
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(data)
    if tp is datetime:
        return datetime.fromisoformat(data)
    if tp is date:
        return date.fromisoformat(data)
    if tp is float:
        return float(data)
    return data
