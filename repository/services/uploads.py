"""Use-cases on uploaded SIP files before and after their ingest job: whether the uploader may ingest the
SIP at all (:func:`check_upload`: the division it declares and that of the archive its identifier names,
decided by :func:`repository.ingest.scope.check_scope`, which the ingest job's worker asks again); removing an
upload once its job has ended is :func:`repository.jobs.uploads.discard_upload`.

:func:`sip_claim` reads only ``metadata/descriptive.xml`` of a zip or tar package (or a bag folder), at
most :data:`MAX_DESCRIPTIVE` bytes, without unpacking anything else; a package it cannot read answers None
and is left to the ingest job, whose validation reports what is wrong with it (and whose worker checks the
scope of what it then reads).
"""

from __future__ import annotations

import lzma
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from ..access import Principal
from ..descriptive import safe_parser
from ..home import Repository
from ..ingest.scope import OutOfScope, check_scope
from ..preservation.aip_layout import DESCRIPTIVE

__all__ = ["MAX_DESCRIPTIVE", "Claim", "OutOfScope", "check_upload", "sip_claim", "sip_division"]

MAX_DESCRIPTIVE = 16 * 1024 * 1024
_DEPTH = 4  # the descriptive file at most this many path parts below the package's top ("<bag>/metadata/...")


def _pick(names: list[str]) -> str | None:
    found = [n for n in names if (n == DESCRIPTIVE or n.endswith("/" + DESCRIPTIVE))
             and n.count("/") <= _DEPTH and ".." not in n.split("/")]
    return min(found, key=lambda n: n.count("/"), default=None)


def _read(path: Path) -> bytes | None:
    if path.is_dir():
        xml = path / DESCRIPTIVE
        return xml.read_bytes() if xml.is_file() and xml.stat().st_size <= MAX_DESCRIPTIVE else None
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            name = _pick(zf.namelist())
            if name is None or zf.getinfo(name).file_size > MAX_DESCRIPTIVE:
                return None
            return zf.read(name)
    if tarfile.is_tarfile(path):
        with tarfile.open(path) as tf:
            members = {m.name.removeprefix("./"): m for m in tf.getmembers() if m.isfile()}
            name = _pick(list(members))
            if name is None or members[name].size > MAX_DESCRIPTIVE:
                return None
            handle = tf.extractfile(members[name])
            return handle.read() if handle is not None else None
    return None


@dataclass(frozen=True)
class Claim:
    """What a SIP says of the archive it is for: its identifier and its division (each None when absent)."""

    identifier: str | None
    division: str | None


def _text(root: etree._Element, name: str) -> str | None:
    found = next((el for el in root if isinstance(el.tag, str) and etree.QName(el).localname == name), None)
    text = (found.text or "").strip() if found is not None else ""
    return text or None


def sip_claim(path: Path) -> Claim | None:
    """The archive identifier and division the SIP at ``path`` describes; None when it cannot be read."""
    try:
        data = _read(Path(path))
        if data is None:
            return None
        root = etree.fromstring(data, safe_parser())
    except (OSError, ValueError, zipfile.BadZipFile, tarfile.TarError, etree.XMLSyntaxError, EOFError,
            NotImplementedError, RuntimeError, zlib.error, lzma.LZMAError):  # an unknown or broken compression,
        return None  # an encrypted member: the claim cannot be read (the ingest job refuses the package)
    return Claim(_text(root, "identifier"), _text(root, "division"))


def sip_division(path: Path) -> str | None:
    """The division code the SIP at ``path`` describes its archive in; None when it cannot be read."""
    claim = sip_claim(path)
    return claim.division if claim is not None else None


def check_upload(repo: Repository, principal: Principal, path: Path, name: str) -> None:
    """Raise :class:`OutOfScope` (naming the SIP ``name``) when ``principal`` may not ingest the SIP at
    ``path``: its declared division, or the division of the archive its identifier names, lies outside
    their scope. A SIP that cannot be read is left to its job (whose worker checks again)."""
    claim = sip_claim(path)
    if claim is not None:
        check_scope(repo, principal, name, claim.identifier, claim.division)
