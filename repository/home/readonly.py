"""A home that cannot be written (a read-only mount, a copy handed over on read-only media, a folder without
write permission): the commands that only read (``show``, ``search``, ``audit log``, ``access-copy`` to a
writable place) work there, writing nothing; those that must write are the error ``ENV-READONLY``.

SQLite cannot open a WAL database in a folder it cannot write (it needs its ``-shm`` index beside it), so the
catalogue and the state database of such a home are opened as immutable, read-only files
(:func:`repository.config.read_only_sqlite_url`): no lock, no WAL index, no journal. Nobody can change the
files meanwhile, which is what ``immutable`` asks. The search index is searched in a private copy
(:func:`index_copy`). Nothing is recovered or migrated: recovery runs only where staging holds leftovers, and
it then fails as a write (``ENV-READONLY``).
"""

from __future__ import annotations

from pathlib import Path

from ..config import home_read_only as is_read_only
from ..config import read_only_sqlite_url

__all__ = ["index_copy", "is_read_only", "read_only_sqlite_url"]


def index_copy(index_dir: Path, kind: str) -> Path:
    """A private temporary copy of the ``kind`` index under ``index_dir``, to search a read-only home: both
    engines write beside their files when they open them (Tantivy takes a lock file, each writes a marker).
    Its parent folder is returned, to open as the index folder and to remove when done. Costs one copy of the
    index; a home that can be written never takes this path."""
    import shutil
    import tempfile

    parent = Path(tempfile.mkdtemp(prefix="hsar-ro-index-"))
    source = index_dir / kind
    if source.is_dir():
        shutil.copytree(source, parent / kind, ignore=shutil.ignore_patterns(".tantivy-*.lock", "*.lock"))
    return parent
