"""Opening the search index: the engine named by ``search.engine`` (Whoosh or Tantivy) over its directory.

Kept apart from :mod:`.engine` (the interface both engines implement), so that imports run one way:
this module -> the engines -> the interface.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from ..errors import SearchError
from .engine import ENGINES, SearchEngine


def open_engine(kind: str, index_dir: str | Path, *, rebuild: bool = False, id_key: bytes | None = None
                ) -> SearchEngine:
    """Open (creating if needed) the ``kind`` index in ``<index_dir>/<kind>``.

    ``rebuild`` first removes that directory: ``hsar reindex`` uses it, so an index of an older schema
    never stands in the way. ``id_key`` (the home's secret, :mod:`.idkeys`) makes the index hold identity
    numbers as keyed digests only.
    """
    if kind not in ENGINES:
        raise SearchError(msgid="search.unknown_engine", kind=repr(kind), engines=", ".join(ENGINES))
    path = Path(index_dir) / kind
    if rebuild and (path.exists() or path.is_symlink()):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    engine_class: Callable[[Path], SearchEngine]
    if kind == "whoosh":  # each engine's library is imported only when that engine is used
        from .whoosh_engine import WhooshEngine as engine_class
    else:
        from .tantivy_engine import TantivyEngine as engine_class
    try:
        engine = engine_class(path)
        engine.id_key = id_key
        return engine
    except SearchError:
        raise
    except Exception as exc:  # noqa: BLE001 - each engine fails in its own ways on a damaged index
        raise SearchError(msgid="search.index_unopenable", path=str(path),
                          detail=f"{type(exc).__name__}: {exc}") from None
