"""The repository home: its folders, ``hsar init``, and the open handles every job works with.

Layout of a home (``--home`` / ``HSAR_HOME``, default ``./hsar-data``)::

    hsar.toml        settings (commented; see repository/config.py)
    storage/         OCFL 1.1 storage root: the source of truth
    staging/         work area on the same file system; leftovers are cleared by the next command
    rejected/        one report per rejected SIP
    reports/         audit reports
    keys/            signing key and trust roots (a demo PKI from ``hsar init``, clearly marked)
    catalog.sqlite   the catalogue (a cache: ``hsar rebuild-catalog`` recreates it from storage)
    index/           the search index (a cache: ``hsar reindex`` recreates it from storage)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from . import config
from .state.db import upgrade_state

SUBDIRS = ("staging", "rejected", "reports")


@dataclass
class InitResult:
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _holds_objects(root: Path) -> bool:
    """True when an OCFL object (its ``0=ocfl_object_1.1`` declaration) lies anywhere under ``root``."""
    from .preservation.ocfl_layout import OBJECT_DECLARATION

    return any(OBJECT_DECLARATION in files for _, _, files in os.walk(root))


def _storage_roots(home: Path) -> list[Path]:
    """The primary and replica storage roots the home's settings name (and the default root, in case the
    settings cannot be read: ``--force`` is also how a broken ``hsar.toml`` is replaced)."""
    from .errors import ConfigError

    roots = [(home / "storage").resolve()]
    try:
        cfg = config.load(home)
    except ConfigError:
        return roots
    return [cfg.path("storage.root"), *cfg.paths("storage.replicas"), *roots]


def init_home(home: Path, *, force: bool = False) -> InitResult:
    """Create (or complete) a repository home; existing files are kept unless ``force``.

    ``force`` rewrites ``hsar.toml`` and the demo PKI, and is refused (UsageError INIT-FORCE, nothing
    written) once the store or a replica holds an object: every stored version is signed with the current
    key, and a new CA would make each of them fail its audit (AUD010).
    """
    from .catalog.store import Catalog
    from .errors import UsageError
    from .preservation.ocfl import OcflStore
    from .preservation.pki import create_demo_pki

    home = Path(home)
    if force:
        held = next((root for root in _storage_roots(home) if _holds_objects(root)), None)
        if held is not None:
            raise UsageError(
                f"存储 {held} 中已保存档案：--force 会重新生成签名密钥与 CA 并覆盖 hsar.toml，已存的每个版本都将"
                f"无法通过审计，旧 CA 也将丢失，故未做任何改动；不加 --force 运行 hsar init 可补全缺失的部分并保留现有"
                f"文件，需要新密钥请另建仓库主目录 / the store {held} already holds archives: --force would "
                f"regenerate the signing key and CA and overwrite hsar.toml, every stored version would then fail "
                f"its audit and the old CA would be lost, so nothing was changed; run `hsar init` without --force "
                f"to complete what is missing and keep the existing files, or use a new home for new keys",
                "INIT-FORCE")
    result = InitResult()
    home.mkdir(parents=True, exist_ok=True)
    toml = home / "hsar.toml"
    if toml.exists() and not force:
        result.kept.append(str(toml))
    else:
        toml.write_text(config.render_toml(), "utf-8")
        result.created.append(str(toml))
    cfg = config.load(home)
    for name in SUBDIRS:
        (home / name).mkdir(exist_ok=True)
    storage = cfg.path("storage.root")
    existed = (storage / "0=ocfl_1.1").exists()
    OcflStore.init(storage)
    (result.kept if existed else result.created).append(str(storage))
    keys = home / "keys"
    if (keys / "ca.pem").exists() and not force:
        result.kept.append(str(keys))
    else:
        create_demo_pki(keys, organisation=cfg["repository.institution"], force=force)
        result.created.append(str(keys / "ca.pem"))
    with Catalog(cfg.catalog_url) as catalog:
        catalog.create()
    result.created.append(cfg.catalog_url)
    upgrade_state(cfg.state_url)  # accounts, tokens, jobs, the access register (not a cache; migrated)
    return result


class Repository:
    """Open handles of one home, created lazily: settings, store, catalogue, search engine, signer.

    Jobs (ingest, audit, reindex, web requests) take a ``Repository`` instead of loose paths, so a later
    PostgreSQL catalogue or S3 store changes this class, not the jobs.
    """

    def __init__(self, cfg: config.Config) -> None:
        self.cfg = cfg
        self.home = cfg.home
        self._store = None
        self._catalog = None
        self._engine = None
        self._signer = None

    @classmethod
    def open(cls, home: Path | str | None = None) -> Repository:
        from .errors import ConfigError

        cfg = config.load(home)
        if not (cfg.home / "hsar.toml").is_file():
            raise ConfigError(f"{cfg.home} 不是仓库主目录（请运行 hsar --home {cfg.home} init）/ is not a repository "
                              f"home (run `hsar --home {cfg.home} init`)")
        return cls(cfg)

    @property
    def staging(self) -> Path:
        path = self.home / "staging"
        path.mkdir(exist_ok=True)
        return path

    @property
    def rejected(self) -> Path:
        path = self.home / "rejected"
        path.mkdir(exist_ok=True)
        return path

    @property
    def store(self):  # noqa: ANN201 - OcflStore (imported lazily to keep start-up fast)
        if self._store is None:
            from .preservation.ocfl import OcflStore

            self._store = OcflStore.init(self.cfg.path("storage.root"))
        return self._store

    @property
    def catalog(self):  # noqa: ANN201 - Catalog
        if self._catalog is None:
            from .catalog.store import Catalog

            self._catalog = Catalog(self.cfg.catalog_url)
            self._catalog.create()
        return self._catalog

    def set_aside_catalogue(self) -> Path | None:
        """Move the home's own SQLite catalogue out of the way (``catalog.sqlite.unreadable-<UTC time>``) so
        ``hsar rebuild-catalog`` can start afresh when it cannot be opened; None (nothing moved) for a
        catalogue at ``catalog.url`` or when there is no file. It is kept, never deleted: its audit rows may
        still be recovered by hand."""
        if self.cfg["catalog.url"] or not (self.home / "catalog.sqlite").is_file():
            return None
        self.close()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = self.home / f"catalog.sqlite.unreadable-{stamp}"
        os.replace(self.home / "catalog.sqlite", target)
        return target

    @property
    def search(self):  # noqa: ANN201 - SearchEngine
        if self._engine is None:
            from .search.opening import open_engine

            self._engine = open_engine(self.cfg["search.engine"], self.cfg.path("search.index"))
        return self._engine

    @property
    def signer(self):  # noqa: ANN201 - pyHanko Signer
        if self._signer is None:
            from .preservation.signing import load_signer

            self._signer = load_signer(self.cfg)
        return self._signer

    @property
    def trust_roots(self) -> list[Path]:
        return self.cfg.paths("signing.trust_roots")

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None
        if self._engine is not None and hasattr(self._engine, "close"):
            self._engine.close()
            self._engine = None

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
