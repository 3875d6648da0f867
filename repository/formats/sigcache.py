"""A per-user cache of the prepared FIDO signature table, so a process starts without re-deriving it.

Preparing :class:`~repository.formats.signatures.SignatureTable` (parsing FIDO's XML, deriving each
signature's necessary conditions with Python's regex parser) takes one to three seconds per process. The
result depends only on the signature files and on the code that derives it, so it is pickled once into
``$XDG_CACHE_HOME/hsar`` (default ``~/.cache/hsar``) under a key made of the SHA-256 of every signature file,
of ``signatures.py``, ``sigregex.py`` and ``container.py``, and the FIDO and Python versions. Another signature file
or another version of the code is another key: a stale table is never used.

The cache is only an accelerator and is safe to delete: anything unexpected (no usable folder, a folder or
file writable by others or owned by another user, a truncated or unreadable pickle, a key mismatch) means
the table is built from the signature files as without a cache, and rewritten atomically when possible.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

CACHE_FORMAT = 1
_SOURCES = ("signatures.py", "sigregex.py", "container.py")

#: Set to False (tests, read-only deployments) to build the table every time.
enabled = True


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hsar"


def cache_key(signature_files: Iterable[Path], fido_version: str) -> str:
    """SHA-256 over the cache format, FIDO and Python versions, the deriving code and the signature files."""
    digest = hashlib.sha256(f"{CACHE_FORMAT}|{fido_version}|{sys.implementation.cache_tag}|".encode())
    here = Path(__file__).resolve().parent
    for path in [here / name for name in _SOURCES] + list(signature_files):
        data = Path(path).read_bytes()
        digest.update(f"{Path(path).name}|{len(data)}|".encode())
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def _private(info: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else (a pickle is code: never load another user's)."""
    owner_ok = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    return owner_ok and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(path: Path, key: str) -> Any | None:  # noqa: ANN401 - whatever was pickled
    try:
        folder = os.stat(path.parent, follow_symlinks=False)
        if not stat.S_ISDIR(folder.st_mode) or not _private(folder):
            return None
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or not _private(info):
                return None
            stored_key, value = pickle.load(handle)
    except Exception:  # noqa: BLE001 - a missing, truncated or foreign cache file just means "build it"
        return None
    return value if stored_key == key else None


def _write(path: Path, key: str, value: object) -> None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump((key, value), handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except Exception:  # noqa: BLE001, S110 - an unwritable cache only costs the next process the build
        pass


def cached(signature_files: Iterable[Path], fido_version: str, build: Callable[[], object]) -> object:
    """``build()``'s result, from the cache when a table for exactly these files and this code is there."""
    if not enabled:
        return build()
    try:
        key = cache_key(signature_files, fido_version)
    except OSError:
        return build()  # a missing signature file: let the build report it as it always has
    path = cache_dir() / f"fido-table-{key[:32]}.pickle"
    value = _read(path, key)
    if value is None:
        value = build()
        _write(path, key, value)
    return value
