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

from dataclasses import dataclass, field
from pathlib import Path

from . import config

SUBDIRS = ("staging", "rejected", "reports")


@dataclass
class InitResult:
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def init_home(home: Path, *, force: bool = False) -> InitResult:
    """Create (or complete) a repository home; existing files are kept unless ``force``."""
    from .catalog.store import Catalog
    from .preservation.ocfl import OcflStore
    from .preservation.pki import create_demo_pki

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
    return result
