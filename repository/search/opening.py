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


def _unknown_engine(kind: str) -> str:
    return (f"未知的检索引擎 {kind!r}；可用 {'、'.join(ENGINES)} / "
            f"unknown search engine {kind!r}; use one of {', '.join(ENGINES)}")


def open_engine(kind: str, index_dir: str | Path, *, rebuild: bool = False) -> SearchEngine:
    """Open (creating if needed) the ``kind`` index in ``<index_dir>/<kind>``.

    ``rebuild`` first removes that directory: ``hsar reindex`` uses it, so an index of an older schema
    never stands in the way.
    """
    if kind not in ENGINES:
        raise SearchError(_unknown_engine(kind))
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
        return engine_class(path)
    except SearchError:
        raise
    except Exception as exc:  # noqa: BLE001 - each engine fails in its own ways on a damaged index
        raise SearchError(f"{path} 中的检索索引无法打开（{type(exc).__name__}: {exc}）：请运行 hsar reindex / the "
                          f"search index in {path} cannot be opened ({type(exc).__name__}: {exc}): run "
                          "hsar reindex") from None
