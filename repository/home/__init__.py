"""The repository home (仓库主目录): its layout (every path, in one table), ``hsar init``, the home lock,
recovery after a killed ingest, and the open handles every job works with.

Layout of a home (``--home`` / ``HSAR_HOME``, default ``./hsar-data``), :data:`LAYOUT`::

    hsar.toml        settings (commented; see repository/config.py)
    storage/         OCFL 1.1 storage root: the source of truth (``storage.root``)
    staging/         work area on the same file system; leftovers are cleared by the next command
      .ingest.lock   the home lock: one ingest (or rebuild, reindex) at a time
      intent-*.json  commits not yet fully recorded in the catalogue and the index (see :meth:`recover`)
      dispose-*.json approved disposals not yet carried out to the end (:mod:`.disposal`)
    rejected/        one report per rejected SIP
    reports/         audit reports
    keys/            signing key and trust roots (a demo PKI from ``hsar init``, clearly marked)
    audit/           the hash-chained audit log (log.jsonl), the audit lock, quarantined copies
    catalog.sqlite   the catalogue (a cache: ``hsar rebuild-catalog`` recreates it from storage)
    index/           the search index (a cache: ``hsar reindex`` recreates it from storage; ``search.index``)
    exports/         transfer packages made by the web's export jobs, one folder per job (made when used)

Opening a home writes nothing: :meth:`Repository.open` and its handles only read, and a missing store or
catalogue is an error naming ``hsar init`` (only :func:`init_home` and ``rebuild-catalog`` create). The
handles are safe to share between threads (a web server): each is created once, under a lock.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .. import config
from .init import InitResult, init_home
from .layout import INTENT_PREFIX, INTENT_SUFFIX, LAYOUT, HomePaths, owner_only
from .readonly import index_copy, is_read_only, read_only_sqlite_url

if TYPE_CHECKING:
    from pyhanko.sign.signers import Signer

    from ..catalog.store import Catalog
    from ..formats.research_copies import ResearchCopies
    from ..preservation.ocfl import OcflStore
    from ..search.engine import SearchEngine
    from ..search.textcache import TextCache

_Handle = TypeVar("_Handle")

#: One thread lock per home lock file, process-wide: ``lockf`` locks belong to the process, so two threads
#: (two web requests, say) would both get it; this keeps them apart as well. Guarded by ``_THREAD_LOCKS_GUARD``.
_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def _thread_lock(path: Path) -> threading.Lock:
    with _THREAD_LOCKS_GUARD:
        return _THREAD_LOCKS.setdefault(str(path.resolve()), threading.Lock())


def _busy() -> Exception:
    from ..errors import IngestError

    return IngestError(code="ING-BUSY", msgid="ingest.busy")


def policy_of(cfg: config.Config | None = None) -> Callable[[str | None], str | None]:
    """PUID -> policy level, by the configured format policy (``formats.policy``; bundled without ``cfg``)."""
    from ..formats.policy import FormatPolicy

    policy = FormatPolicy.from_config(cfg) if cfg is not None else FormatPolicy.load(None)
    return lambda puid: policy.level_of(puid) if puid else None


class Repository:
    """Open handles of one home, created lazily and once (thread-safe): settings, store, catalogue, search
    engine, signer; its :attr:`paths`, its :meth:`lock` and :meth:`recover`.

    Jobs (ingest, audit, reindex, web requests) take a ``Repository`` instead of loose paths, so a later
    PostgreSQL catalogue or S3 store changes this class, not the jobs.
    """

    def __init__(self, cfg: config.Config) -> None:
        self.cfg = cfg
        self.home = cfg.home
        self.paths = HomePaths.of(cfg.home, cfg)
        self._guard = threading.RLock()
        self._store: OcflStore | None = None
        self._catalog: Catalog | None = None
        self._engine: SearchEngine | None = None
        self._signer: Signer | None = None
        self._read_only: bool | None = None
        self._index_copy: Path | None = None  # a read-only home's index, copied to be searched

    @classmethod
    def open(cls, home: Path | str | None = None) -> Repository:
        """The home's handles, nothing opened yet and nothing written (ConfigError when it is not a home)."""
        from ..errors import ConfigError

        cfg = config.load(home)
        if not HomePaths.of(cfg.home).settings.is_file():
            raise ConfigError(msgid="home.not_a_home", home=cfg.home)
        owner_only()  # whatever the home's work creates from here on is owner-only
        return cls(cfg)

    @property
    def read_only(self) -> bool:
        """Whether the home cannot be written (:mod:`.readonly`): its catalogue is then opened read-only."""
        if self._read_only is None:
            self._read_only = is_read_only(self.home)
        return self._read_only

    @property
    def staging(self) -> Path:
        return self.paths.staging

    @property
    def rejected(self) -> Path:
        return self.paths.rejected

    def _handle(self, name: str, make: Callable[[], _Handle]) -> _Handle:
        """The handle in attribute ``name``, made by ``make`` the first time (once, whatever the threads)."""
        value = getattr(self, name)
        if value is None:
            with self._guard:
                value = getattr(self, name)
                if value is None:
                    value = make()
                    setattr(self, name, value)
        return value

    @property
    def store(self) -> OcflStore:
        return self._handle("_store", self._open_store)

    def _open_store(self) -> OcflStore:
        from ..errors import PreservationError
        from ..preservation.ocfl import OcflStore
        from ..preservation.ocfl_layout import ROOT_DECLARATION

        root = self.paths.storage
        if not (root / ROOT_DECLARATION).is_file():
            raise PreservationError(msgid="home.no_store", code="HOME-STORE", root=root, home=self.home)
        return OcflStore(root)

    @property
    def catalog(self) -> Catalog:
        """The catalogue, its schema checked (CatalogError HOME-CATALOG when it has none: run ``hsar init``)."""
        return self._handle("_catalog", self._open_catalog)

    def _open_catalog(self) -> Catalog:
        from sqlalchemy.engine import make_url

        from ..catalog.schemacheck import checked
        from ..catalog.store import Catalog
        from ..catalog.tables import SCHEMA_VERSION
        from ..errors import CatalogError
        from ..sqlengine import normalize_url

        url = normalize_url(self.cfg.catalog_url)
        parsed = make_url(url)
        missing = CatalogError(msgid="home.no_catalogue", code="HOME-CATALOG", url=parsed.render_as_string(True),
                               home=self.home)
        database = parsed.database or ""
        if (parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:") and "mode=memory" not in url
                and (not Path(database).is_file() or Path(database).stat().st_size == 0)):
            raise missing  # connecting would create the file (or, empty, make it a WAL database)
        if self.read_only and parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:"):
            url = read_only_sqlite_url(Path(database))  # no WAL index can be made beside it: read it as it is
        return checked(Catalog(url), missing, SCHEMA_VERSION)

    def create_catalog(self) -> Catalog:
        """Open the catalogue creating its missing tables (``init`` and ``rebuild-catalog`` only)."""
        from ..catalog.store import Catalog

        with self._guard:
            if self._catalog is None:
                catalog = Catalog(self.cfg.catalog_url)
                try:
                    catalog.create()
                except BaseException:
                    catalog.close()
                    raise
                self._catalog = catalog
            return self._catalog

    def set_aside_catalogue(self) -> Path | None:
        """Move the home's own SQLite catalogue out of the way (``catalog.sqlite.unreadable-<UTC time>``) so
        ``hsar rebuild-catalog`` can start afresh when it cannot be opened; None (nothing moved) for a
        catalogue at ``catalog.url`` or when there is no file. It is kept, never deleted: its audit rows may
        still be recovered by hand."""
        current = self.paths.catalog_file
        if self.cfg["catalog.url"] or not current.is_file():
            return None
        self.close()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = current.with_name(f"{current.name}.unreadable-{stamp}")
        os.replace(current, target)
        return target

    @property
    def search(self) -> SearchEngine:
        from ..search.idkeys import load_key
        from ..search.opening import open_engine

        def make() -> SearchEngine:
            index, kind = self.paths.index, self.cfg["search.engine"]
            if self.read_only:  # opening writes beside the index: search a private copy of it
                index = self._index_copy = index_copy(index, kind)
            engine = open_engine(kind, index, id_key=load_key(self.paths.index_key))
            cache = getattr(engine, "results", None)
            if cache is not None:  # answers kept per process (search/resultcache.py); 0 keeps none
                cache.entries = self.cfg["search.result_cache"]
            return engine

        return self._handle("_engine", make)

    @property
    def signer(self) -> Signer:
        from ..preservation.signing import load_signer

        return self._handle("_signer", lambda: load_signer(self.cfg))

    @property
    def text_cache(self) -> TextCache:
        """PDF texts and scan verdicts by SHA-512 (``cache/texts/``): what indexing and OCR need not redo."""
        from ..search.textcache import TextCache

        return TextCache(self.paths.text_cache)

    @property
    def research_copies(self) -> ResearchCopies:
        """Researchers' copies of PDF documents by SHA-512 and people (``cache/research/``, a cache)."""
        from ..formats.research_copies import ResearchCopies

        return ResearchCopies(self.paths.research_cache)

    @property
    def trust_roots(self) -> list[Path]:
        return self.cfg.paths("signing.trust_roots")

    # -- the home lock and recovery ------------------------------------------------------------------------

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive per home, or IngestError ING-BUSY at once. A POSIX record lock (``lockf``), not
        ``flock``: processes forked while it is held (identification and preparation workers) do not inherit
        it, so a worker orphaned by a ``kill -9`` of the ingest cannot keep the home locked; the kernel drops
        it when the process dies. A thread lock keeps two threads of one process apart as well."""
        path = self.paths.ingest_lock
        path.parent.mkdir(exist_ok=True)
        in_process = _thread_lock(path)
        if not in_process.acquire(blocking=False):
            raise _busy()
        try:
            with open(path, "w") as handle:
                try:
                    fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as exc:
                    if exc.errno not in (errno.EACCES, errno.EAGAIN):
                        raise
                    raise _busy() from None
                yield
        finally:
            in_process.release()

    def needs_recovery(self) -> bool:
        """True when staging holds anything but the lock file: what a killed ingest (or one running) left."""
        staging = self.paths.staging
        return staging.is_dir() and any(p != self.paths.ingest_lock for p in staging.iterdir())

    def recover(self) -> list[str]:
        """Clear what a killed ingest left: store leftovers, work dirs, and re-record unfinished commits from
        storage (catalogue, then index). Call it holding :meth:`lock`; others use :meth:`recover_if_idle`."""
        from ..preservation.ids import object_id

        staging = self.paths.staging
        done = self.store.recover(staging)
        for workdir in sorted(staging.glob("sip-*")):
            shutil.rmtree(workdir, ignore_errors=True)
            done.append(f"removed work directory {workdir.name}")
        for partial in sorted(staging.glob(f".{INTENT_PREFIX}*.tmp")):  # an intent killed while being written
            partial.unlink(missing_ok=True)
            done.append(f"removed {partial.name}")
        intents = self.paths.intents()
        for intent in intents:
            archive_id = intent.name[len(INTENT_PREFIX):-len(INTENT_SUFFIX)]  # the name says it, even unreadable
            if self.store.exists(object_id(archive_id)):
                self.record_from_store(archive_id)
                done.append(f"re-recorded {archive_id} from storage")
        if intents:
            self.finish_intents()
        from .disposal import finish_disposals

        done += finish_disposals(self)  # approved disposals a crash interrupted
        return done

    def recover_if_idle(self) -> list[str]:
        """:meth:`recover` when there is anything to recover, unless an ingest is running in this home (its
        leftovers are its own business). A clean home is not touched: nothing is written."""
        from ..errors import IngestError

        if not self.needs_recovery():
            return []
        try:
            with self.lock():
                return self.recover()
        except IngestError as exc:
            if exc.code != "ING-BUSY":
                raise
            return []

    def record_from_store(self, archive_id: str) -> None:
        """Catalogue the archive's head version from storage (the same path rebuild takes), then index it
        (the caller commits the index batch)."""
        from ..catalog.rebuild import version_record
        from ..preservation.ids import object_id
        from ..search.indexing import index_archive

        rec = version_record(self.store, object_id(archive_id), policy_of=policy_of(self.cfg))
        self.catalog.record_version(rec)
        index_archive(self, archive_id)

    def finish_intents(self) -> None:
        """Commit the index batch, then drop the intents it covers (catalogue rows are already committed)."""
        self.search.commit()
        for intent in self.paths.intents():
            intent.unlink()

    def close(self) -> None:
        with self._guard:
            if self._catalog is not None:
                self._catalog.close()
                self._catalog = None
            if self._engine is not None and hasattr(self._engine, "close"):
                self._engine.close()
                self._engine = None
            if self._index_copy is not None:
                shutil.rmtree(self._index_copy, ignore_errors=True)
                self._index_copy = None

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["INTENT_PREFIX", "INTENT_SUFFIX", "LAYOUT", "HomePaths", "InitResult", "Repository", "init_home",
           "policy_of"]
