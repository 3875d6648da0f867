"""The catalogue (目录库): SQL tables caching what the OCFL store holds, and the queries ``hsar`` answers.

``Catalog(url)`` opens it (SQLite file by default, PostgreSQL by URL); ingest calls ``record_version``;
``hsar show`` calls ``show``; ``repository.catalog.rebuild.rebuild`` refills it from the store alone.
"""

from .records import EventRecord, FileRecord, VersionRecord
from .store import Catalog, open_catalog
from .views import ArchiveSummary, ArchiveView, CatalogStats

__all__ = ["ArchiveSummary", "ArchiveView", "Catalog", "CatalogStats", "EventRecord", "FileRecord", "VersionRecord",
           "open_catalog"]
