"""A small cache of what a search engine answered, per index generation, shared by a process's threads.

The web application keeps one engine per process and its searches repeat: a common word, the empty query of a
division's search page, the next page of the same search. What the engine answers (total, the page's stored
payloads, the facet counts) depends only on the engine-neutral query — which holds every filter and the
user's division scope — and on the index's state; never on who asks. So it is kept here under the query and the
index generation, and a result never crosses scopes (the scope is part of the query). The rendered answer (hits
with their highlights) is kept too, under the query and the text and filters it lights up, once that query is
asked a second time, and pickled (:meth:`ResultCache.again`); masking for the user who asks still runs on every
request, after the cache.

An index generation is an opaque value that changes on every commit (for Tantivy: the identity of its
``meta.json``, rewritten on each commit by any process); entries of an older generation are dropped at the
first look-up that sees the new one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

#: entries kept (least recently used dropped first); a page entry is at most :data:`MAX_PAGE` payloads
ENTRIES = 256
MAX_PAGE = 100


class ResultCache:
    """Least-recently-used values under ``(generation, key)``; a new generation empties it."""

    def __init__(self, entries: int = ENTRIES) -> None:
        self.entries = entries
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._generation: Hashable = None
        self._asked: OrderedDict[int, None] = OrderedDict()  # hashes of keys asked once (see again)
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._asked.clear()

    def again(self, generation: Hashable, key: Hashable, compute: Callable[[], T], pack: Callable[[T], Any],
              unpack: Callable[[Any], T]) -> T:
        """The value under ``key`` in ``generation`` (``unpack`` of what was kept), else ``compute()``: kept, as
        ``pack`` makes it, only when ``key`` was asked before in this generation. For values worth keeping only
        when they repeat (a rendered answer): a stream of different searches keeps none of them, and a kept one
        (bytes) gives the garbage collector nothing to walk and each caller a copy of its own."""
        full = (generation, key)
        with self._lock:
            found = self._found(generation, full)
            if found is self:
                self.misses += 1
                mark = hash(full)  # a collision only keeps an answer one search early
                repeated = mark in self._asked
                self._asked[mark] = None
                while len(self._asked) > 4 * self.entries:
                    self._asked.popitem(last=False)
        if found is not self:
            return unpack(found)
        value = compute()
        if repeated and self.entries > 0:
            self._keep(generation, full, pack(value))
        return value

    def get(self, generation: Hashable, key: Hashable, compute: Callable[[], T]) -> T:
        """The value under ``key`` in ``generation``, computed (outside the lock) and kept when missing."""
        full = (generation, key)
        with self._lock:
            found = self._found(generation, full)
            if found is not self:
                return found
            self.misses += 1
        value = compute()
        if self.entries > 0:
            self._keep(generation, full, value)
        return value

    def _found(self, generation: Hashable, full: Hashable) -> Any:  # noqa: ANN401 - a kept value, or self
        """What is kept under ``full`` (counted as a hit), or ``self``; a new ``generation`` forgets all (the
        caller holds the lock)."""
        if generation != self._generation:
            self._data.clear()
            self._asked.clear()
            self._generation = generation
        found = self._data.get(full, self)
        if found is not self:
            self._data.move_to_end(full)
            self.hits += 1
        return found

    def _keep(self, generation: Hashable, full: Hashable, value: Any) -> None:  # noqa: ANN401
        """Keep ``value`` under ``full`` unless the generation moved meanwhile, the oldest dropped past
        :attr:`entries`."""
        with self._lock:
            if generation == self._generation:
                self._data[full] = value
                while len(self._data) > self.entries:
                    self._data.popitem(last=False)
