"""A bounded memo of what a process makes once and prints on many requests (a page's header, the search form):
made on the first request of its key, kept in the application's ``extensions`` under ``name``, and all of it
dropped when ``limit`` keys are held (a new round of keys then starts afresh; no entry is ever wrong, only
made again)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import Flask

V = TypeVar("V")


def kept(app: Flask, name: str, key: Hashable, make: Callable[[], V], limit: int) -> V:
    """The value kept for ``key`` in ``app``'s memo ``name``, made by ``make`` when there is none."""
    memo: dict[Hashable, V] = app.extensions.setdefault(name, {})
    found = memo.get(key)
    if found is None:
        found = make()
        if len(memo) >= limit:
            memo.clear()
        memo[key] = found
    return found
