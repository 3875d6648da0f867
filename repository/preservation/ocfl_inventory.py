"""OCFL 1.1 inventories: building the next version, reading versions back, the inventory digest sidecar.

Implements OCFL 1.1 (https://ocfl.io/1.1/spec/):

* §3.3 Version Directories: ``v1``, ``v2``... (not zero-padded, W001), content under ``vN/content`` (the
  default ``contentDirectory``, E021), no content directory when a version adds no new content (W003);
* §3.4 Digests: ``sha512``, lowercase hex (E025, W004);
* §3.5 Inventory: keys ``id``, ``type`` (``https://ocfl.io/1.1/spec/#inventory``), ``digestAlgorithm``,
  ``head``, ``manifest`` and ``versions`` and no others (E036, E102); each version has ``created`` (RFC 3339,
  to the second, with a time zone, E049), ``state``, ``message`` and ``user`` {``name``, ``address``}
  (W007-W009); logical and content paths are '/'-separated, without ``.``/``..``/empty elements, and do not
  conflict (E052, E053, E095, E099-E101);
* §3.6 Inventory Digest: sidecar ``inventory.json.sha512`` holding ``DIGEST inventory.json`` (E058-E061);
* §3.7 Version Inventory: each version directory holds the inventory as it was when that version was the head,
  byte-identical to the root inventory at that time (E064, W010, W011).

Content is forward-delta deduplicated: a digest already in the manifest is never stored again; new content is
stored once per digest at ``vN/content/<first logical path with that digest>``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from repository.errors import PreservationError

INVENTORY = "inventory.json"
DIGEST_ALGORITHM = "sha512"
SIDECAR = f"{INVENTORY}.{DIGEST_ALGORITHM}"
INVENTORY_TYPE = "https://ocfl.io/1.1/spec/#inventory"
CONTENT_DIRECTORY = "content"
_SHA512 = re.compile(r"[0-9a-fA-F]{128}")
_VERSION = re.compile(r"v([1-9][0-9]*)")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True)
class VersionInfo:
    """One version of an object as its inventory records it."""

    number: int
    created: datetime
    message: str
    user: tuple[str, str | None]
    state: Mapping[str, str]  # logical path -> sha512 (from the inventory when first looked at)

    @property
    def name(self) -> str:
        """The version directory name, e.g. ``v2``."""
        return version_name(self.number)


def version_name(number: int) -> str:
    return f"v{number}"


def version_number(name: str) -> int | None:
    """``v12`` -> 12; None for anything that is not an unpadded version directory name."""
    match = _VERSION.fullmatch(name)
    return int(match.group(1)) if match else None


# ----------------------------------------------------------------------------------------- input checks


def all_sha512_hex(digests: list[Any]) -> bool:
    """Whether every value is a SHA-512 in hex (either case): one pass over them all, not a match each."""
    if not all(type(d) is str and len(d) == 128 for d in digests):
        return False
    joined = "".join(digests)
    return joined.isascii() and len(joined.encode("ascii").translate(None, _HEX_DIGITS)) == 0


_HEX_DIGITS = b"0123456789abcdefABCDEF"


def normalize_digest(digest: str) -> str:
    if not isinstance(digest, str) or not _SHA512.fullmatch(digest):
        raise PreservationError(f"not a sha512 hex digest: {digest!r}", "OCFL-DIGEST")
    return digest.lower()


def logical_path_problems(paths: list[str]) -> list[str]:
    """Every reason these logical paths cannot form one version state (E052, E053, E095); empty if fine."""
    if _all_plain(paths):  # the common case, checked in one pass over the joined paths
        plain = set(paths)
        if not _directories(plain) & plain:
            return []
    problems: list[str] = []
    good: set[str] = set()
    for path in paths:
        if not isinstance(path, str) or not path:
            problems.append(f"empty or non-text logical path {path!r}")
        elif path.startswith("/") or path.endswith("/"):
            problems.append(f"logical path begins or ends with '/': {path}")
        elif _bad_element(path.split("/")):
            problems.append(f"logical path has an empty, '.' or '..' element: {path}")
        elif "\x00" in path:
            problems.append(f"logical path has a NUL character: {path!r}")
        else:
            good.add(path)
    if not _directories(good) & good:  # no path lies inside another: the common case, checked in one pass
        return problems
    for path in sorted(good):
        parts = path.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in good:
                problems.append(f"logical path {path} lies inside file {'/'.join(parts[:i])}")
                break
    return problems


def _all_plain(paths: list[str]) -> bool:
    """Whether every path is a non-empty str without a NUL, without a leading or trailing '/' and without an
    empty, '.' or '..' element: joined as ``/p1/\\0/p2/...`` the text then holds no ``//``, ``/./`` nor ``/../``
    and as many NULs as the separators put there."""
    if not all(type(p) is str for p in paths):
        return False
    joined = "/" + "/\x00/".join(paths) + "/"
    return (joined.count("\x00") == len(paths) - 1 and "//" not in joined and "/./" not in joined
            and "/../" not in joined)


def _bad_element(parts: list[str]) -> bool:
    return "" in parts or "." in parts or ".." in parts


def _directories(paths: set[str]) -> set[str]:
    """Every directory the paths lie in (each walked up once, however many files it holds)."""
    found: set[str] = set()
    for path in paths:
        parent = path.rpartition("/")[0]
        while parent and parent not in found:
            found.add(parent)
            parent = parent.rpartition("/")[0]
    return found


def format_created(created: datetime | None) -> str:
    """RFC 3339 in UTC to the second, e.g. ``2024-05-01T08:30:00Z`` (E049)."""
    moment = created or datetime.now(UTC)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise PreservationError("a version's created time must carry a time zone", "OCFL-CREATED")
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def user_block(user: tuple[str, str | None]) -> dict[str, str]:
    """``{"name", "address"}``; a bare e-mail address becomes a ``mailto:`` URI (W009)."""
    name, address = user
    if not isinstance(name, str) or not name.strip():
        raise PreservationError("a version's user needs a name", "OCFL-USER")
    block = {"name": name}
    if address:
        block["address"] = address if _SCHEME.match(address) else f"mailto:{address}"
    return block


# ------------------------------------------------------------------------------------- building versions


def state_block(state: Mapping[str, str]) -> dict[str, list[str]]:
    """``{logical path: digest}`` -> the inventory form ``{digest: [logical paths]}``, sorted."""
    block: dict[str, list[str]] = {}
    for digest, path in sorted(zip(state.values(), state.keys(), strict=True)):  # one sort: by digest, then path
        paths = block.get(digest)
        if paths is None:
            block[digest] = [path]
        else:
            paths.append(path)
    return block


def next_inventory(
    object_id: str,
    previous: dict[str, Any] | None,
    state: Mapping[str, str],
    version_block: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, str]]:
    """The inventory with one more version, and the new content paths ``{content path: digest}``.

    ``state`` maps logical path -> normalised sha512; ``version_block`` holds created, message and user.
    """
    manifest: dict[str, list[str]] = dict((previous or {}).get("manifest", {}))  # lists shared, never changed
    versions: dict[str, Any] = dict((previous or {}).get("versions", {}))
    number = len(versions) + 1
    vname = version_name(number)
    new_content: dict[str, str] = {}
    for path, digest in sorted((p, d) for p, d in state.items() if d not in manifest):  # new content alone sorted
        if digest not in manifest:  # a digest two new paths share is stored once, at the first of them
            content_path = f"{vname}/{CONTENT_DIRECTORY}/{path}"
            manifest[digest] = [content_path]
            new_content[content_path] = digest
    versions[vname] = {**version_block, "state": state_block(state)}
    inventory = {
        "id": object_id,
        "type": INVENTORY_TYPE,
        "digestAlgorithm": DIGEST_ALGORITHM,
        "head": vname,
        "manifest": manifest,
        "versions": versions,
    }
    return inventory, new_content


def serialize(inventory: dict[str, Any]) -> bytes:
    """UTF-8 JSON, readable (Chinese paths are not escaped): one line per key, per version and per entry of
    the manifest, the fixity blocks and each version's state.

    Not ``json.dumps(indent=2)``: with an indent Python's JSON encoder runs its pure-Python loop and puts
    every path on a line of its own. Here each string goes through the C string encoder: for an inventory of
    20,000 files in three versions, 0.14-0.21 s instead of 0.21-0.28 s, and 13.0 MB instead of 14.5 MB to
    write and hash on every version (a cProfile run had suggested more: its overhead inflated the loop)."""
    return (_layout(inventory, 0, _BLOCKS) + "\n").encode("utf-8")


#: the inventory's keys whose values are laid out one entry per line, nested: versions -> vN -> state
_BLOCKS: dict[str, Any] = {"manifest": {}, "fixity": {"*": {}}, "versions": {"*": {"state": {}}}}


def _layout(value: Any, depth: int, blocks: dict[str, Any] | None) -> str:  # noqa: ANN401 - JSON value
    """``value`` as JSON at ``depth``: a dict with ``blocks`` (a plan: key -> plan of its value, ``"*"`` any key;
    ``{}`` a leaf block, one line per entry) is spread over lines, everything else is one C-encoded value."""
    if blocks is None or not isinstance(value, dict) or not value:
        return json.dumps(value, ensure_ascii=False)
    pad, inner = "  " * depth, "  " * (depth + 1)
    if not blocks:  # a leaf block: digest -> paths, tens of thousands of entries
        return "{\n" + ",\n".join(f"{inner}{_string(key)}: {_paths(item)}" for key, item in value.items()) + (
            "\n" + pad + "}")
    lines = []
    for key, item in value.items():
        nested = blocks.get(key, blocks.get("*"))
        lines.append(f"{inner}{_string(key)}: {_layout(item, depth + 1, nested)}")
    return "{\n" + ",\n".join(lines) + "\n" + pad + "}"


def _string(value: Any) -> str:  # noqa: ANN401 - a key, a str in every inventory we write
    return _encode_str(value) if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _paths(value: Any) -> str:  # noqa: ANN401 - a list of paths in every inventory we write
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[" + ", ".join(map(_encode_str, value)) + "]"
    return json.dumps(value, ensure_ascii=False)


#: the JSON encoder's own string encoder (C), as ``json.dumps(ensure_ascii=False)`` uses it
_encode_str = json.encoder.encode_basestring


def sidecar_for(inventory_bytes: bytes) -> tuple[str, bytes]:
    """The inventory digest and the sidecar file content ``DIGEST inventory.json\\n`` (E061)."""
    digest = hashlib.sha512(inventory_bytes).hexdigest()
    return digest, f"{digest} {INVENTORY}\n".encode("ascii")


# ------------------------------------------------------------------------------------------------ reading


def load_inventory(path: Path) -> dict[str, Any]:
    """Read and structurally check an inventory (enough for readers; full checks are the validator's)."""
    try:
        inventory = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise PreservationError(f"cannot read inventory {path}: {exc}", "OCFL-INVENTORY") from exc
    ok = (
        isinstance(inventory, dict)
        and isinstance(inventory.get("id"), str)
        and inventory.get("digestAlgorithm") == DIGEST_ALGORITHM
        and isinstance(inventory.get("manifest"), dict)
        and isinstance(inventory.get("versions"), dict)
        and inventory.get("head") in inventory["versions"]
        and inventory.get("contentDirectory", CONTENT_DIRECTORY) == CONTENT_DIRECTORY
    )
    if not ok:
        raise PreservationError(
            f"inventory {path} is not a sha512 OCFL inventory hsar can use", "OCFL-INVENTORY"
        )
    return inventory


def read_sidecar(path: Path) -> str | None:
    """The digest a sidecar states, or None if it is missing or malformed."""
    try:
        text = path.read_text("ascii")
    except (OSError, UnicodeDecodeError):
        return None
    fields = text.split()
    if len(fields) != 2 or fields[1] != INVENTORY or not _SHA512.fullmatch(fields[0]):
        return None
    return fields[0].lower()


def logical_state(inventory: dict[str, Any], version: str | None = None) -> dict[str, str]:
    """``{logical path: digest}`` of ``version`` (default the head)."""
    vname = version or inventory["head"]
    try:
        block = inventory["versions"][vname]["state"]
    except KeyError as exc:
        raise PreservationError(f"{inventory['id']} has no version {vname}", "OCFL-NOT-FOUND") from exc
    return {path: digest.lower() for digest, paths in block.items() for path in paths}


def stored_paths(inventory: dict[str, Any], version: str | None = None) -> dict[str, str]:
    """``{logical path: content path relative to the object root}`` of ``version`` (default the head), from
    one parsed inventory: callers touching many files of a version read the inventory once, not per file."""
    vname = version or inventory["head"]
    try:
        block = inventory["versions"][vname]["state"]
    except KeyError as exc:
        raise PreservationError(f"{inventory['id']} has no version {vname}", "OCFL-NOT-FOUND") from exc
    manifest = inventory["manifest"]
    get = manifest.get
    found: dict[str, str] = {}
    for digest, paths in block.items():
        content = get(digest) or get(digest.upper()) or get(digest.lower())
        if not content:
            raise PreservationError(f"{inventory['id']}: digest of {paths[0]!r} not in manifest", "OCFL-INVENTORY")
        first = content[0]
        for path in paths:  # a plain loop: most digests have one path, a generator per entry cost more
            found[path] = first
    return found


def diff_states(old: Mapping[str, str], new: Mapping[str, str]) -> tuple[list[str], list[str], list[str]]:
    """Logical paths (added, modified, removed) going from ``old`` to ``new``."""
    added = sorted(p for p in new if p not in old)
    modified = sorted(p for p in new if p in old and old[p] != new[p])
    removed = sorted(p for p in old if p not in new)
    return added, modified, removed
