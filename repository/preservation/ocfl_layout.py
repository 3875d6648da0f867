"""OCFL 1.1 storage root and the hashed n-tuple storage layout, plus the durable file helpers.

Implements:

* OCFL 1.1 §4.1 Root Structure and §4.2 Root Conformance Declaration (``0=ocfl_1.1``, the optional
  ``ocfl_1.1.md`` and ``ocfl_layout.json`` with ``extension`` and ``description``, E069-E080);
* §4.4 Storage Root Extensions: ``extensions/0004-hashed-n-tuple-storage-layout/config.json``;
* OCFL Community Extension 0004 "Hashed N-tuple Storage Layout": the object identifier, UTF-8 encoded, is
  hashed (``digestAlgorithm``, default sha256), the lowercase hex digest is cut into ``numberOfTuples``
  segments of ``tupleSize`` characters that become nested directories, and the object root directory is named
  with the whole digest (``shortObjectRoot`` false) or the unused remainder (true).

Also the small durable-write helpers shared by the OCFL modules: fsync of files and directories and
write-to-temp-then-``os.replace``. Every temporary file lives next to its target or in staging, never as a
stray file in an object.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repository.errors import PreservationError

SPEC_VERSION = "1.1"
ROOT_DECLARATION = f"0=ocfl_{SPEC_VERSION}"
OBJECT_DECLARATION = f"0=ocfl_object_{SPEC_VERSION}"
LAYOUT_FILE = "ocfl_layout.json"
SPEC_NOTE_FILE = f"ocfl_{SPEC_VERSION}.md"
EXTENSIONS_DIR = "extensions"
LAYOUT_0004 = "0004-hashed-n-tuple-storage-layout"
LAYOUT_0004_DESCRIPTION = (
    "OCFL object identifiers are hashed and encoded as lowercase hex strings. These digests are then divided "
    "into N n-tuple segments, which are used to create nested paths under the OCFL storage root."
)
_SPEC_NOTE = f"""# Oxford Common File Layout (OCFL) {SPEC_VERSION}

This directory is an OCFL {SPEC_VERSION} storage root written by hsar. The specification is published at
<https://ocfl.io/{SPEC_VERSION}/spec/> (the full text is not bundled here).

Objects are arranged by storage layout extension `{LAYOUT_0004}`
(<https://ocfl.github.io/extensions/{LAYOUT_0004}.html>), configured in
`{EXTENSIONS_DIR}/{LAYOUT_0004}/config.json`. An object's identifier is in its `inventory.json`.
"""


# --------------------------------------------------------------------------------------------- durable I/O


def fsync_path(path: Path, *, directory: bool = False) -> None:
    """Flush a file's or a directory's data and metadata to stable storage."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durable(path: Path, data: bytes) -> None:
    """Create ``path`` (which must not exist yet) with ``data`` and fsync it."""
    with open(path, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def replace_atomic(path: Path, data: bytes, tmp_dir: Path | None = None) -> None:
    """Atomically give ``path`` the content ``data``: durable temp file, ``os.replace``, fsync the directory.

    ``tmp_dir`` (same filesystem) keeps the temporary file out of the target directory.
    """
    tmp = (tmp_dir or path.parent) / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        write_durable(tmp, data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_path(path.parent, directory=True)


# ------------------------------------------------------------------------------------------ extension 0004


@dataclass(frozen=True)
class HashedNTupleLayout:
    """Extension 0004 parameters and the identifier -> object root mapping."""

    digest_algorithm: str = "sha256"
    tuple_size: int = 3
    number_of_tuples: int = 3
    short_object_root: bool = False

    name = LAYOUT_0004

    def __post_init__(self) -> None:
        if self.digest_algorithm not in hashlib.algorithms_available:
            raise PreservationError(
                f"layout digestAlgorithm {self.digest_algorithm!r} is not available", "OCFL-LAYOUT"
            )
        for key, value in (("tupleSize", self.tuple_size), ("numberOfTuples", self.number_of_tuples)):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 32:
                raise PreservationError(f"layout {key} must be an integer from 0 to 32", "OCFL-LAYOUT")
        if (self.tuple_size == 0) != (self.number_of_tuples == 0):
            raise PreservationError(
                "layout tupleSize and numberOfTuples must both be 0 or neither", "OCFL-LAYOUT"
            )
        used, length = self.tuple_size * self.number_of_tuples, len(self._digest("x"))
        if used > length or (self.short_object_root and used == length):
            raise PreservationError("layout tuples use more of the digest than allowed", "OCFL-LAYOUT")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> HashedNTupleLayout:
        """Parameters from a ``config.json`` (absent keys take the extension's defaults)."""
        if config.get("extensionName", LAYOUT_0004) != LAYOUT_0004:
            raise PreservationError(f"layout config names {config.get('extensionName')!r}", "OCFL-LAYOUT")
        return cls(
            digest_algorithm=config.get("digestAlgorithm", "sha256"),
            tuple_size=config.get("tupleSize", 3),
            number_of_tuples=config.get("numberOfTuples", 3),
            short_object_root=bool(config.get("shortObjectRoot", False)),
        )

    def config(self) -> dict[str, Any]:
        return {
            "extensionName": LAYOUT_0004,
            "digestAlgorithm": self.digest_algorithm,
            "tupleSize": self.tuple_size,
            "numberOfTuples": self.number_of_tuples,
            "shortObjectRoot": self.short_object_root,
        }

    def _digest(self, object_id: str) -> str:
        return hashlib.new(self.digest_algorithm, object_id.encode("utf-8")).hexdigest().lower()

    def object_path(self, object_id: str) -> str:
        """The object root relative to the storage root, '/'-separated (extension 0004 §Procedure)."""
        if not object_id:
            raise PreservationError("an OCFL object id must not be empty", "OCFL-ID")
        digest = self._digest(object_id)
        n, size = self.number_of_tuples, self.tuple_size
        parts = [digest[i * size : (i + 1) * size] for i in range(n)]
        parts.append(digest[n * size :] if self.short_object_root else digest)
        return "/".join(parts)


# ------------------------------------------------------------------------------------------- storage root

_ROOT_FILES = {LAYOUT_FILE, SPEC_NOTE_FILE, EXTENSIONS_DIR}


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def is_storage_root(root: Path) -> bool:
    """Does ``root`` hold an OCFL storage root's declaration (``0=ocfl_1.1``)?"""
    return (Path(root) / ROOT_DECLARATION).is_file()


def init_storage_root(root: Path, layout: str = LAYOUT_0004) -> HashedNTupleLayout:
    """Create (or confirm) an OCFL 1.1 storage root using ``layout``; idempotent.

    The declaration ``0=ocfl_1.1`` is written last, so an interrupted initialisation is simply redone.
    """
    if layout != LAYOUT_0004:
        raise PreservationError(f"unsupported storage layout {layout!r}", "OCFL-LAYOUT")
    if is_storage_root(root):
        return read_storage_root(root)
    for leftover in root.glob(".*.tmp") if root.exists() else ():
        leftover.unlink()  # a temp file of an interrupted initialisation
    if root.exists() and any(p.name not in _ROOT_FILES for p in root.iterdir()):
        raise PreservationError(f"{root} is not empty and is not an OCFL storage root", "OCFL-ROOT")
    params = HashedNTupleLayout()
    config_dir = root / EXTENSIONS_DIR / LAYOUT_0004
    config_dir.mkdir(parents=True, exist_ok=True)
    replace_atomic(config_dir / "config.json", _json_bytes(params.config()))
    layout_doc = {"extension": LAYOUT_0004, "description": LAYOUT_0004_DESCRIPTION}
    replace_atomic(root / LAYOUT_FILE, _json_bytes(layout_doc))
    replace_atomic(root / SPEC_NOTE_FILE, _SPEC_NOTE.encode("utf-8"))
    fsync_path(root / EXTENSIONS_DIR, directory=True)
    replace_atomic(root / ROOT_DECLARATION, f"ocfl_{SPEC_VERSION}\n".encode())
    if root.parent != root:
        fsync_path(root.parent, directory=True)
    return params


def read_storage_root(root: Path) -> HashedNTupleLayout:
    """Check the root declaration and return the configured layout (E069, E070, E071)."""
    declaration = root / ROOT_DECLARATION
    if not declaration.is_file():
        raise PreservationError(f"{root} is not an OCFL {SPEC_VERSION} storage root", "OCFL-ROOT")
    if declaration.read_text("utf-8") != f"ocfl_{SPEC_VERSION}\n":
        raise PreservationError(f"{declaration} has the wrong content", "OCFL-ROOT")
    try:
        layout_doc = json.loads((root / LAYOUT_FILE).read_text("utf-8"))
        extension = layout_doc["extension"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise PreservationError(f"cannot read {root / LAYOUT_FILE}: {exc}", "OCFL-LAYOUT") from exc
    if extension != LAYOUT_0004:
        raise PreservationError(f"unsupported storage layout {extension!r}", "OCFL-LAYOUT")
    config_file = root / EXTENSIONS_DIR / LAYOUT_0004 / "config.json"
    if not config_file.exists():
        return HashedNTupleLayout()
    try:
        config = json.loads(config_file.read_text("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise PreservationError(f"cannot read {config_file}: {exc}", "OCFL-LAYOUT") from exc
    return HashedNTupleLayout.from_config(config)
