"""Bounded looks inside files for format identification: buffers, container members, OFD, PDF encryption.

* Buffers: the first and last ``max_read_bytes`` of a file, exactly the BOF/EOF buffers FIDO builds.
* Container members (ZIP, OLE2) named by PRONOM container signatures, each read up to a cap
  (FIDO reads whole members; a cap keeps memory bounded, see :data:`MEMBER_CAP_FACTOR`).
* OFD (GB/T 33190-2016, 版式文档): a ZIP whose root holds ``OFD.xml`` with root element ``ofd:OFD`` in the
  namespace ``http://www.ofdspec.org/2016``, or ``http://www.ofdspec.org`` as files from major OFD vendors
  write it. PRONOM has no record for OFD.
* Plain text: bytes with no control characters but white space that decode as ASCII, UTF-8 or GB18030
  (GB 18030-2022, 信息技术 中文编码字符集), PRONOM x-fmt/111.
* PDF encryption: a ``/Encrypt`` entry in a trailer or cross-reference stream dictionary (which PDF
  places at the end, or at the start of a linearized file), confirmed with pypdf.
"""

from __future__ import annotations

import codecs
import os
import re
import zipfile
from pathlib import Path

import olefile
from lxml import etree

OFD_NAMESPACE = "http://www.ofdspec.org/2016"
OFD_NAMESPACES = (OFD_NAMESPACE, "http://www.ofdspec.org")
TEXT_ENCODINGS = ("ascii", "utf-8", "gb18030")
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
MEMBER_CAP_FACTOR = 8  # container members are read up to 8 x max_read_bytes (1 MiB by default)
_ENCRYPT = re.compile(rb"/Encrypt\s*(?:\d+\s+\d+\s+R|<<)")
# Untrusted containers fail in many ways (zlib.error, struct.error, NotImplementedError, ...): any failure
# to read one means "no container evidence", as FIDO's own container code treats its errors.
_UNREADABLE = Exception


def read_buffers(path: Path, bufsize: int) -> tuple[bytes, bytes, int]:
    """``(bof, eof, size)``: the first and the last ``bufsize`` bytes (the same bytes when the file is small)."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        bof = handle.read(bufsize)
        if size <= len(bof):
            return bof, bof, size
        if size - bufsize < bufsize:
            return bof, (bof + handle.read())[-bufsize:], size
        handle.seek(size - bufsize)
        return bof, handle.read(bufsize), size


def zip_members(path: Path, wanted: set[str], cap: int) -> dict[str, bytes]:
    """The first ``cap`` bytes of each wanted member present in the ZIP (``{}`` if unreadable)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            found = {}
            for name in wanted & names:
                with archive.open(name) as member:
                    found[name] = member.read(cap)
            return found
    except _UNREADABLE:
        return {}


def _ole_stream(ole: olefile.OleFileIO, name: str, cap: int) -> bytes:
    size = ole.get_size(name)
    if size <= cap:
        with ole.openstream(name) as stream:
            return stream.read()
    entry = ole.direntries[ole._find(name)]
    return ole._open(entry.isectStart, cap, force_FAT=True).read(cap)


def ole_members(path: Path, wanted: set[str], cap: int) -> dict[str, bytes]:
    """Streams of an OLE2 file named like FIDO does (``CompObj`` also finds ``\\x01CompObj``)."""
    try:
        with olefile.OleFileIO(str(path)) as ole:
            streams = ["/".join(parts) for parts in ole.listdir()]
            found = {}
            for name in wanted:
                match = next((s for s in streams if s == name or s[1:] == name), None)
                if match is not None:
                    found[name] = _ole_stream(ole, match, cap)
            return found
    except _UNREADABLE:
        return {}


def sniff_ofd(path: Path, cap: int) -> tuple[str, str] | None:
    """``(version, namespace)`` (``Version`` attribute, default ``1.0``) if ``path`` is an OFD package."""
    data = zip_members(path, {"OFD.xml"}, cap).get("OFD.xml")
    if not data:
        return None
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)  # one per call: not thread-safe
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None
    namespace = next((ns for ns in OFD_NAMESPACES if root.tag == f"{{{ns}}}OFD"), None)
    if namespace is None:
        return None
    return (root.get("Version") or "1.0").strip(), namespace


def _decodes(data: bytes, encoding: str, cut_start: bool, cut_end: bool) -> bool:
    """``data`` is text in ``encoding``; a character cut at a buffer edge (up to 3 bytes) is allowed."""
    for skip in range(4 if cut_start else 1):
        try:
            codecs.getincrementaldecoder(encoding)().decode(data[skip:], final=not cut_end)
        except UnicodeDecodeError:
            continue
        return True
    return False


def plain_text(bof: bytes, eof: bytes, size: int) -> str | None:
    """The encoding (``ascii``, ``utf-8``, ``gb18030``) both buffers are plain text in, else None."""
    if _CONTROL.search(bof) or _CONTROL.search(eof):
        return None
    whole = len(bof) >= size
    for encoding in TEXT_ENCODINGS:
        if _decodes(bof, encoding, False, not whole) and (whole or _decodes(eof, encoding, True, False)):
            return encoding
    return None


def looks_like_pdf(bof: bytes) -> bool:
    return b"%PDF-" in bof[:1024]


def pdf_encrypted(path: Path, bof: bytes, eof: bytes) -> tuple[bool, str]:
    """``(encrypted, evidence)`` for a PDF: trailer scan of both buffers, confirmed by pypdf."""
    if not (_ENCRYPT.search(eof) or _ENCRYPT.search(bof)):
        return False, ""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        encrypted = PdfReader(str(path), strict=False).is_encrypted
    except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError):
        return True, "trailer has /Encrypt (pypdf could not read the file)"
    return (True, "trailer has /Encrypt; pypdf: encrypted") if encrypted else (False, "")
