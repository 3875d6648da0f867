"""Is the search index behind the catalogue? The check the web's search page and search API run on every
request (issue 15), and ``hsar search`` and the library's search too (:func:`repository.services.search.index_gap`,
one count in a one-shot process), cheap in a long-running one: the
archives in the catalogue are counted again only when the catalogue's latest version id or the index's
document count has moved since the last count (or it is older than :data:`RECOUNT_SECONDS`), so a request asks
the index for its document count and, at most once per :data:`MARK_SECONDS`, the database for one indexed
maximum; never for a full count.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from .. import messages
from ..catalog import statistics
from ..errors import SearchError
from ..home import Repository

#: a count older than this is taken again even if nothing moved (an archive removed from the catalogue
#: alone, say by ``rebuild-catalog``, moves neither mark)
RECOUNT_SECONDS = 60.0
#: the catalogue's latest version id is asked again after this long (a search request asks no SQL in between;
#: an archive catalogued meanwhile is seen within this time, or at once when the index count moves)
MARK_SECONDS = 1.0

_COUNTS: dict[tuple[str, str], tuple[tuple[int, int], float, int]] = {}  # (catalogue, index) -> (mark, when, n)
_MARKS: dict[str, tuple[int, float]] = {}  # catalogue -> (latest version id, when asked)
_LOCK = threading.Lock()


@dataclass(frozen=True)
class IndexGap:
    """The index holds ``indexed`` archives of the ``catalogued`` ones: it answers, with the gap reported."""

    indexed: int
    catalogued: int
    engine: str
    national: bool = True  # False: asked for a user of one division, who is told no count of the whole

    def text(self, lang: str | None) -> str:
        """What to tell the user, in ``lang``: the counts only to a user who sees every division."""
        if self.national:
            return messages.text("faults.index_behind", lang, indexed=self.indexed, catalogued=self.catalogued,
                                 engine=self.engine)
        return messages.text("smallfix.index_behind_scoped", lang, engine=self.engine)


def catalogued(repo: Repository, indexed: int) -> int:
    """Archives in the catalogue, counted again only when a mark moved or the count is old."""
    key = (repo.catalog.url, str(repo.paths.index))
    now = time.monotonic()
    with _LOCK:
        found, latest = _COUNTS.get(key), _MARKS.get(key[0])
    if latest is not None and now - latest[1] < MARK_SECONDS:
        version = latest[0]  # asked less than MARK_SECONDS ago
    else:
        version = statistics.latest_version_id(repo.catalog)
        with _LOCK:
            _MARKS[key[0]] = (version, now)
    mark = (version, indexed)
    if found is not None and found[0] == mark and now - found[1] < RECOUNT_SECONDS:
        return found[2]
    count = repo.catalog.archive_count()
    with _LOCK:
        _COUNTS[key] = (mark, now, count)
    return count


def check_index(repo: Repository, *, national: bool = True) -> IndexGap | None:
    """None when the index holds every archive of the catalogue; an :class:`IndexGap` when it lacks some;
    SearchError ``SEARCH-STALE`` (naming ``hsar reindex``) when it holds none of them and cannot answer.
    Not ``national`` (a user of one division), the message names no count of the whole catalogue."""
    indexed = repo.search.count()
    return judged(indexed, catalogued(repo, indexed), str(repo.cfg["search.engine"]), national=national)


def judged(indexed: int, count: int, engine: str, *, national: bool = True) -> IndexGap | None:
    """The rule of :func:`check_index` (and of ``hsar search``) for an index of ``engine`` holding ``indexed``
    of the ``count`` catalogued archives."""
    if indexed >= count:
        return None
    if indexed == 0 and not national:
        raise SearchError(code="SEARCH-STALE", msgid="smallfix.index_behind_scoped", engine=engine)
    if indexed == 0:
        raise SearchError(code="SEARCH-STALE", msgid="faults.index_behind", indexed=indexed, catalogued=count,
                          engine=engine)
    return IndexGap(indexed, count, engine, national)
