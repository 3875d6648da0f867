"""The catalogue (目录库): SQL tables caching what the OCFL store holds, and the queries ``hsar`` answers.

``Catalog(url)`` opens it (SQLite file by default, PostgreSQL by URL); ingest calls ``record_version``;
``hsar show`` calls ``show``; ``repository.catalog.rebuild.rebuild`` refills it from the store alone.

The names below are loaded when first asked for: importing a module of this package (the audit's
:mod:`.audits_sqlite`, say) does not import SQLAlchemy with :mod:`.store`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .records import EventRecord, FileRecord, VersionRecord
    from .store import Catalog, open_catalog
    from .views import ArchiveSummary, ArchiveView, CatalogStats

__all__ = ["ArchiveSummary", "ArchiveView", "Catalog", "CatalogStats", "EventRecord", "FileRecord", "VersionRecord",
           "open_catalog"]

_HOMES = {"EventRecord": "records", "FileRecord": "records", "VersionRecord": "records", "Catalog": "store",
          "open_catalog": "store", "ArchiveSummary": "views", "ArchiveView": "views", "CatalogStats": "views"}


def __getattr__(name: str) -> object:
    if name in _HOMES:
        return getattr(import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
