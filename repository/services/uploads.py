"""Use-cases on uploaded SIP files before and after their ingest job: whose division a SIP's archive lies in
(so an archivist outside it is refused at upload, :func:`repository.access.may_ingest_into`); removing an
upload once its job has ended is :func:`repository.jobs.uploads.discard_upload`.

:func:`sip_division` reads only ``metadata/descriptive.xml`` of a zip or tar package (or a bag folder), at
most :data:`MAX_DESCRIPTIVE` bytes, without unpacking anything else; a package it cannot read answers None
and is left to the ingest job, whose validation reports what is wrong with it.
"""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path

from lxml import etree

from ..descriptive import safe_parser
from ..preservation.aip_layout import DESCRIPTIVE

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


def sip_division(path: Path) -> str | None:
    """The division code the SIP at ``path`` describes its archive in; None when it cannot be read."""
    try:
        data = _read(Path(path))
        if data is None:
            return None
        root = etree.fromstring(data, safe_parser())
    except (OSError, ValueError, zipfile.BadZipFile, tarfile.TarError, etree.XMLSyntaxError, EOFError):
        return None
    found = next((el for el in root if isinstance(el.tag, str) and etree.QName(el).localname == "division"), None)
    text = (found.text or "").strip() if found is not None else ""
    return text or None
