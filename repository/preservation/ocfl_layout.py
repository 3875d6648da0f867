"""OCFL 1.1 storage root and the hashed n-tuple storage layout, plus the durable file helpers.

Implements:

* OCFL 1.1 §4.1 Root Structure and §4.2 Root Conformance Declaration (``0=ocfl_1.1``, the optional
  ``ocfl_1.1.md`` and ``ocfl_layout.json`` with ``extension`` and ``description``, E069-E080);
* §4.4 Storage Root Extensions: ``extensions/<layout>/config.json``;
* OCFL Community Extension 0003 "Hashed Truncated N-tuple Trees with Object ID Encapsulating Directory"
  (the layout of new roots; ocfl-py and ocfl-java read it): the identifier, UTF-8 encoded, is hashed
  (``digestAlgorithm``, default sha256), the first ``numberOfTuples`` × ``tupleSize`` characters of the
  lowercase hex digest become nested directories, and the object root is the identifier percent-encoded
  (lower-case hex, every byte but ``[A-Za-z0-9-_]``), cut at 100 characters and followed by ``-`` and the
  whole digest when longer, so staff can find an archive on disk by its identifier;
* OCFL Community Extension 0004 "Hashed N-tuple Storage Layout" (roots made before 0003 keep it; the root's
  ``ocfl_layout.json`` and config decide): the same tuples, and the object root directory is named with the
  whole digest (``shortObjectRoot`` false) or the unused remainder (true).

Also the small durable-write helpers shared by the OCFL modules: fsync of files and directories and
write-to-temp-then-``os.replace``. Every temporary file lives next to its target or in staging, never as a
stray file in an object.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Callable, Iterator
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
LAYOUT_0003 = "0003-hash-and-id-n-tuple-storage-layout"
LAYOUT_0003_DESCRIPTION = (
    "Hashed Truncated N-tuple Trees with Object ID Encapsulating Directory for OCFL Storage Hierarchies: "
    "the OCFL object identifier is hashed, the digest divided into n-tuples that form nested directories, "
    "and the object sits in a directory named with its percent-encoded identifier."
)
LAYOUT_0004 = "0004-hashed-n-tuple-storage-layout"
LAYOUT_0004_DESCRIPTION = (
    "OCFL object identifiers are hashed and encoded as lowercase hex strings. These digests are then divided "
    "into N n-tuple segments, which are used to create nested paths under the OCFL storage root."
)


def _spec_note(layout: str) -> str:
    return f"""# Oxford Common File Layout (OCFL) {SPEC_VERSION}

This directory is an OCFL {SPEC_VERSION} storage root written by hsar. The specification is published at
<https://ocfl.io/{SPEC_VERSION}/spec/> (the full text is not bundled here).

Objects are arranged by storage layout extension `{layout}`
(<https://ocfl.github.io/extensions/{layout}.html>), configured in
`{EXTENSIONS_DIR}/{layout}/config.json`. An object's identifier is in its `inventory.json`.
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


def _digest(algorithm: str, object_id: str) -> str:
    return hashlib.new(algorithm, object_id.encode("utf-8")).hexdigest().lower()


def _check_tuples(algorithm: str, tuple_size: object, number_of_tuples: object, *,
                  whole_digest_allowed: bool = True) -> None:
    """The parameter rules extensions 0003 and 0004 share; PreservationError when one is broken."""
    if algorithm not in hashlib.algorithms_available:
        raise PreservationError(f"layout digestAlgorithm {algorithm!r} is not available", "OCFL-LAYOUT")
    sizes: dict[str, int] = {}
    for key, value in (("tupleSize", tuple_size), ("numberOfTuples", number_of_tuples)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 32:
            raise PreservationError(f"layout {key} must be an integer from 0 to 32", "OCFL-LAYOUT")
        sizes[key] = value
    if (sizes["tupleSize"] == 0) != (sizes["numberOfTuples"] == 0):
        raise PreservationError("layout tupleSize and numberOfTuples must both be 0 or neither", "OCFL-LAYOUT")
    used, length = sizes["tupleSize"] * sizes["numberOfTuples"], len(_digest(algorithm, "x"))
    if used > length or (not whole_digest_allowed and used == length):
        raise PreservationError("layout tuples use more of the digest than allowed", "OCFL-LAYOUT")


def _tuples(digest: str, tuple_size: int, number_of_tuples: int) -> list[str]:
    return [digest[i * tuple_size : (i + 1) * tuple_size] for i in range(number_of_tuples)]



@dataclass(frozen=True)
class HashedNTupleLayout:
    """Extension 0004 parameters and the identifier -> object root mapping."""

    digest_algorithm: str = "sha256"
    tuple_size: int = 3
    number_of_tuples: int = 3
    short_object_root: bool = False

    name = LAYOUT_0004

    def __post_init__(self) -> None:
        _check_tuples(self.digest_algorithm, self.tuple_size, self.number_of_tuples,
                      whole_digest_allowed=not self.short_object_root)

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

    def object_path(self, object_id: str) -> str:
        """The object root relative to the storage root, '/'-separated (extension 0004 §Procedure)."""
        if not object_id:
            raise PreservationError("an OCFL object id must not be empty", "OCFL-ID")
        digest = _digest(self.digest_algorithm, object_id)
        n, size = self.number_of_tuples, self.tuple_size
        parts = _tuples(digest, size, n)
        parts.append(digest[n * size :] if self.short_object_root else digest)
        return "/".join(parts)


# ------------------------------------------------------------------------------------------ extension 0003

_KEEP = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
MAX_ENCAPSULATION = 100


def encode_identifier(object_id: str) -> str:
    """The identifier percent-encoded as extension 0003 says: each UTF-8 byte outside ``[A-Za-z0-9-_]`` as
    ``%xx`` in lower-case hex."""
    return "".join(chr(b) if b in _KEEP else f"%{b:02x}" for b in object_id.encode("utf-8"))


@dataclass(frozen=True)
class HashAndIdNTupleLayout:
    """Extension 0003 parameters and the identifier -> object root mapping."""

    digest_algorithm: str = "sha256"
    tuple_size: int = 3
    number_of_tuples: int = 3

    name = LAYOUT_0003

    def __post_init__(self) -> None:
        _check_tuples(self.digest_algorithm, self.tuple_size, self.number_of_tuples)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> HashAndIdNTupleLayout:
        """Parameters from a ``config.json`` (absent keys take the extension's defaults)."""
        if config.get("extensionName", LAYOUT_0003) != LAYOUT_0003:
            raise PreservationError(f"layout config names {config.get('extensionName')!r}", "OCFL-LAYOUT")
        return cls(
            digest_algorithm=config.get("digestAlgorithm", "sha256"),
            tuple_size=config.get("tupleSize", 3),
            number_of_tuples=config.get("numberOfTuples", 3),
        )

    def config(self) -> dict[str, Any]:
        return {
            "extensionName": LAYOUT_0003,
            "digestAlgorithm": self.digest_algorithm,
            "tupleSize": self.tuple_size,
            "numberOfTuples": self.number_of_tuples,
        }

    def object_path(self, object_id: str) -> str:
        """The object root relative to the storage root, '/'-separated (extension 0003 §Procedure)."""
        if not object_id:
            raise PreservationError("an OCFL object id must not be empty", "OCFL-ID")
        digest = _digest(self.digest_algorithm, object_id)
        name = encode_identifier(object_id)
        if len(name) > MAX_ENCAPSULATION:
            name = f"{name[:MAX_ENCAPSULATION]}-{digest}"
        return "/".join([*_tuples(digest, self.tuple_size, self.number_of_tuples), name])


#: A storage layout: what :func:`read_storage_root` returns and an OCFL store maps identifiers with.
StorageLayout = HashAndIdNTupleLayout | HashedNTupleLayout
_LAYOUTS: dict[str, tuple[type[HashAndIdNTupleLayout] | type[HashedNTupleLayout], str]] = {
    LAYOUT_0003: (HashAndIdNTupleLayout, LAYOUT_0003_DESCRIPTION),
    LAYOUT_0004: (HashedNTupleLayout, LAYOUT_0004_DESCRIPTION),
}


# ------------------------------------------------------------------------------------------- storage root

_ROOT_FILES = {LAYOUT_FILE, SPEC_NOTE_FILE, EXTENSIONS_DIR}


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def is_storage_root(root: Path) -> bool:
    """Does ``root`` hold an OCFL storage root's declaration (``0=ocfl_1.1``)?"""
    return (Path(root) / ROOT_DECLARATION).is_file()


def init_storage_root(root: Path, layout: str = LAYOUT_0003) -> StorageLayout:
    """Create (or confirm) an OCFL 1.1 storage root using ``layout`` (0003 for new roots; 0004 is kept for
    tests and tools that make a root as older hsar did); idempotent: an existing root keeps its own layout.

    The declaration ``0=ocfl_1.1`` is written last, so an interrupted initialisation is simply redone.
    """
    if layout not in _LAYOUTS:
        raise PreservationError(f"unsupported storage layout {layout!r}", "OCFL-LAYOUT")
    if is_storage_root(root):
        return read_storage_root(root)
    for leftover in root.glob(".*.tmp") if root.exists() else ():
        leftover.unlink()  # a temp file of an interrupted initialisation
    if root.exists() and any(p.name not in _ROOT_FILES for p in root.iterdir()):
        raise PreservationError(f"{root} is not empty and is not an OCFL storage root", "OCFL-ROOT")
    kind, description = _LAYOUTS[layout]
    params = kind()
    for stale in (root / EXTENSIONS_DIR).glob("*/config.json") if root.exists() else ():
        stale.unlink()  # an interrupted initialisation with another layout: one layout config only
    config_dir = root / EXTENSIONS_DIR / layout
    config_dir.mkdir(parents=True, exist_ok=True)
    replace_atomic(config_dir / "config.json", _json_bytes(params.config()))
    layout_doc = {"extension": layout, "description": description}
    replace_atomic(root / LAYOUT_FILE, _json_bytes(layout_doc))
    replace_atomic(root / SPEC_NOTE_FILE, _spec_note(layout).encode("utf-8"))
    fsync_path(root / EXTENSIONS_DIR, directory=True)
    replace_atomic(root / ROOT_DECLARATION, f"ocfl_{SPEC_VERSION}\n".encode())
    if root.parent != root:
        fsync_path(root.parent, directory=True)
    return params


def read_storage_root(root: Path) -> StorageLayout:
    """Check the root declaration and return the layout ``ocfl_layout.json`` and its config name
    (E069, E070, E071)."""
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
    if not isinstance(extension, str) or extension not in _LAYOUTS:
        raise PreservationError(f"unsupported storage layout {extension!r}", "OCFL-LAYOUT")
    kind = _LAYOUTS[extension][0]
    config_file = root / EXTENSIONS_DIR / extension / "config.json"
    if not config_file.exists():
        return kind()
    try:
        config = json.loads(config_file.read_text("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise PreservationError(f"cannot read {config_file}: {exc}", "OCFL-LAYOUT") from exc
    if not isinstance(config, dict):
        raise PreservationError(f"{config_file} is not a JSON object", "OCFL-LAYOUT")
    return kind.from_config(config)


def walk(top: str | os.PathLike[str], onerror: Callable[[OSError], object] | None = None
         ) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk(top)`` top-down without recursion (Python 3.11's ``os.walk`` recurses once per level, and a
    tree 1,000 directories deep raised RecursionError): the same triples, ``dirnames`` pruned in place by the
    caller, links to directories listed as directories and never followed."""
    stack = [os.fspath(top)]
    while stack:
        here = stack.pop()
        dirs: list[str] = []
        files: list[str] = []
        try:
            with os.scandir(here) as listing:
                for entry in listing:
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        is_dir = False
                    (dirs if is_dir else files).append(entry.name)
        except OSError as exc:
            if onerror is not None:
                onerror(exc)
            continue
        yield here, dirs, files
        stack.extend(os.path.join(here, d) for d in reversed(dirs) if not os.path.islink(os.path.join(here, d)))
