"""Writing BagIt 1.0 bags (RFC 8493 §2.1.1, §2.1.3, §2.2.1, §2.2.2, §2.4) around a payload already in place.

:func:`write_bag` turns a directory holding ``data/`` (and any extra tag files, e.g.
``metadata/descriptive.xml``) into a bag:

- ``bagit.txt``: ``BagIt-Version: 1.0`` and ``Tag-File-Character-Encoding``, always UTF-8 without a BOM;
- ``manifest-<alg>.txt``: every payload file, sorted, ``checksum  path`` with CR, LF and ``%`` percent-encoded;
- ``bag-info.txt``: the given tags in the given order, plus Bagging-Date and Payload-Oxum when absent; values
  are never folded (folding would add a line break to the value), line breaks become continuation lines;
- ``tagmanifest-<alg>.txt``: every tag file, tag manifests excepted.

Each file is written under a temporary name and moved into place with ``os.replace``, so a crash leaves
either the old or the new file. Every payload and tag file is read exactly once (all algorithms together);
digests the caller already has are reused.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path

from ..errors import IngestError
from ..fixity import HEX_LENGTHS, FileDigest, check_algorithms, hash_many
from . import tagfiles
from .scan import display, scan
from .tagfiles import BAG_INFO, BAGIT_TXT, CURRENT_VERSION

TagValues = str | Sequence[str]


def write_bag(
    bag_dir: Path,
    bag_info: Mapping[str, TagValues],
    *,
    algorithms: Sequence[str] = ("sha512",),
    encoding: str = "UTF-8",
    digests: Mapping[str, dict[str, str]] | None = None,
) -> None:
    """Write the tag files that make ``bag_dir`` (payload under ``data/``) a valid BagIt 1.0 bag.

    ``bag_info`` maps labels to a value or a sequence of values (repeated tags). ``digests`` maps bag paths to
    precomputed ``{algorithm: hex}`` so those files are not read again. Manifests left from other algorithms
    are removed. Raises :class:`~repository.errors.IngestError` when the directory cannot be bagged (a link
    or special file in it, a name or tag the encoding cannot represent) and ``ValueError`` for a bad label,
    digest or Payload-Oxum; nothing is written in either case.
    """
    bag_dir = Path(bag_dir)
    algs = check_algorithms(algorithms)
    if not algs:
        raise ValueError("at least one checksum algorithm is needed")
    codec = tagfiles.codec_for(encoding)
    if codec is None:
        raise IngestError(f"unknown tag file character encoding: {encoding}")
    given = _given_digests(digests or {})
    tree = scan(bag_dir)
    if tree.special:
        raise IngestError(f"cannot bag a link or special file: {display(sorted(tree.special)[0])}")
    _check_encodable(tree.files, codec, encoding)
    (bag_dir / "data").mkdir(exist_ok=True)
    payload = tree.payload_files
    facts = _digests(bag_dir, payload, algs, given)
    oxum = f"{sum(facts[p][0] for p in payload)}.{len(payload)}"
    info_lines = list(tagfiles.render_tags(_complete_info(bag_info, oxum)))
    _check_encodable(info_lines, codec, encoding)
    _remove_stale_manifests(bag_dir, algs)
    _atomic_write(bag_dir / BAGIT_TXT,
                  [f"BagIt-Version: {CURRENT_VERSION}\n", f"Tag-File-Character-Encoding: {encoding}\n"], "utf-8")
    for alg in algs:
        _atomic_write(bag_dir / f"manifest-{alg}.txt", _manifest_lines(payload, facts, alg), codec)
    _atomic_write(bag_dir / BAG_INFO, info_lines, codec)
    _write_tag_manifests(bag_dir, algs, codec, given)
    _fsync_dir(bag_dir)


def _given_digests(digests: Mapping[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    checked: dict[str, dict[str, str]] = {}
    for path, values in digests.items():
        for alg, value in values.items():
            if alg not in HEX_LENGTHS or len(value) != HEX_LENGTHS[alg] or not _is_hex(value):
                raise ValueError(f"bad {alg} digest for {path!r}: {value!r}")
        checked[path] = {alg: value.lower() for alg, value in values.items()}
    return checked


def _is_hex(value: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in value)


def _digests(bag_dir: Path, paths: Sequence[str], algs: tuple[str, ...],
             given: Mapping[str, dict[str, str]]) -> dict[str, FileDigest]:
    """``(size, digests)`` of each path for ``algs``: given digests reused, the rest read once, in parallel."""
    results: dict[str, FileDigest] = {}
    to_hash: list[str] = []
    for path in paths:
        have = given.get(path, {})
        if all(a in have for a in algs):
            results[path] = ((bag_dir / path).stat().st_size, {a: have[a] for a in algs})
        else:
            to_hash.append(path)
    hashed = hash_many([bag_dir / p for p in to_hash], algs)
    for path in to_hash:
        results[path] = hashed[bag_dir / path]
    return results


def _complete_info(bag_info: Mapping[str, TagValues], oxum: str) -> list[tuple[str, str]]:
    """Given tags in order, then Bagging-Date and Payload-Oxum if the caller did not give them."""
    pairs: list[tuple[str, str]] = []
    for label, values in bag_info.items():
        for value in [values] if isinstance(values, str) else values:
            pairs.append((label, str(value)))
    labels = {label.casefold() for label, _ in pairs}
    if "bagging-date" not in labels:
        pairs.append(("Bagging-Date", date.today().isoformat()))
    if "payload-oxum" not in labels:
        pairs.append(("Payload-Oxum", oxum))
    for label, value in pairs:
        if label.casefold() == "payload-oxum" and value.strip() != oxum:
            raise ValueError(f"Payload-Oxum {value!r} does not match the payload ({oxum})")
    return pairs


def _check_encodable(lines: Iterable[str], codec: str, encoding: str) -> None:
    for line in lines:
        try:
            line.encode(codec)
        except UnicodeEncodeError:
            raise IngestError(f"{encoding} cannot represent {display(line.strip())!r}") from None


def _remove_stale_manifests(bag_dir: Path, algs: tuple[str, ...]) -> None:
    for entry in os.scandir(bag_dir):
        kind = tagfiles.manifest_kind(entry.name)
        if kind is not None and kind[1] not in algs and entry.is_file(follow_symlinks=False):
            os.unlink(entry.path)


def _write_tag_manifests(bag_dir: Path, algs: tuple[str, ...], codec: str,
                         given: Mapping[str, dict[str, str]]) -> None:
    tags = [p for p in scan(bag_dir, payload=False).tag_files if not tagfiles.is_tag_manifest(p)]
    written = {BAGIT_TXT, BAG_INFO, *(f"manifest-{a}.txt" for a in algs)}
    reusable = {p: d for p, d in given.items() if p not in written}
    facts = _digests(bag_dir, tags, algs, reusable)
    for alg in algs:
        _atomic_write(bag_dir / f"tagmanifest-{alg}.txt", _manifest_lines(tags, facts, alg), codec)


def _manifest_lines(paths: Sequence[str], facts: Mapping[str, FileDigest], alg: str) -> Iterator[str]:
    """``checksum  path`` lines, paths percent-encoded (RFC 8493 §2.1.3), in the order given (sorted)."""
    for path in paths:
        yield f"{facts[path][1][alg]}  {tagfiles.encode_path(path)}\n"


def _atomic_write(path: Path, lines: Iterable[str], codec: str) -> None:
    """Write ``lines`` to ``path`` through a temporary file in the same directory and ``os.replace``."""
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    try:
        with os.fdopen(fd, "w", encoding=codec, errors="strict", newline="") as out:
            out.writelines(lines)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
