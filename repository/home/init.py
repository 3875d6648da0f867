"""``hsar init``: create (or complete) a repository home with the layout of :mod:`.layout`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .. import config
from .layout import SUBDIRS, HomePaths, owner_only


@dataclass
class InitResult:
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _holds_objects(root: Path) -> bool:
    """True when an OCFL object (its ``0=ocfl_object_1.1`` declaration) lies anywhere under ``root``."""
    from ..preservation.ocfl_layout import OBJECT_DECLARATION

    return any(OBJECT_DECLARATION in files for _, _, files in os.walk(root))


def _storage_roots(home: Path) -> list[Path]:
    """The primary and replica storage roots the home's settings name (and the default root, in case the
    settings cannot be read: ``--force`` is also how a broken ``hsar.toml`` is replaced)."""
    from ..errors import ConfigError

    roots = [HomePaths.of(home).default_storage.resolve()]
    try:
        cfg = config.load(home)
    except ConfigError:
        return roots
    return [cfg.path("storage.root"), *cfg.paths("storage.replicas"), *roots]


def init_home(home: Path, *, force: bool = False) -> InitResult:
    """Create (or complete) a repository home; existing files are kept unless ``force``.

    ``force`` rewrites ``hsar.toml`` and the demo PKI, and is refused (UsageError INIT-FORCE, nothing
    written) once the store or a replica holds an object: every stored version is signed with the current
    key, and a new CA would make each of them fail its audit (AUD010). A home where nothing can be written
    (``/proc``, a read-only disk) is an HsarError ``INIT-WRITE`` naming the path and the cause.
    """
    from ..errors import UsageError

    home = Path(home)
    if force:
        held = next((root for root in _storage_roots(home) if _holds_objects(root)), None)
        if held is not None:
            raise UsageError(code="INIT-FORCE", msgid="home.init_force", root=held)
    owner_only()
    try:
        return _create(home, force)
    except OSError as exc:  # a home where nothing can be written (/proc, a read-only disk, a file in the way)
        from ..errors import HsarError
        from ..messages import printable

        raise HsarError(code="INIT-WRITE", msgid="cli.init_unwritable", home=printable(str(home)),
                        detail=printable(f"{exc.strerror or exc}: {exc.filename}" if exc.filename
                                         else str(exc.strerror or exc))) from None


def _create(home: Path, force: bool) -> InitResult:
    from ..catalog.store import Catalog
    from ..preservation.ocfl import OcflStore
    from ..preservation.pki import create_demo_pki
    from ..state.db import upgrade_state

    result = InitResult()
    home.mkdir(parents=True, exist_ok=True)
    paths = HomePaths.of(home)
    toml = paths.settings
    if toml.exists() and not force:
        result.kept.append(str(toml))
    else:
        toml.write_text(config.render_toml(), "utf-8")
        result.created.append(str(toml))
    cfg = config.load(home)
    for name in SUBDIRS:
        getattr(paths, name).mkdir(exist_ok=True)
    storage = cfg.path("storage.root")
    existed = (storage / "0=ocfl_1.1").exists()
    OcflStore.init(storage)
    (result.kept if existed else result.created).append(str(storage))
    keys = paths.keys
    if paths.ca.exists() and not force:
        result.kept.append(str(keys))
    else:
        create_demo_pki(keys, organisation=cfg["repository.institution"], force=force)
        result.created.append(str(paths.ca))
    if not paths.index_key.exists():  # the secret of the index's identity-number digests (owner-only)
        from ..search.idkeys import load_key

        load_key(paths.index_key)
        result.created.append(str(paths.index_key))
    with Catalog(cfg.catalog_url) as catalog:
        catalog.create()
    result.created.append(cfg.catalog_url)
    upgrade_state(cfg.state_url)  # accounts, tokens, jobs, the access register (not a cache; migrated)
    return result


