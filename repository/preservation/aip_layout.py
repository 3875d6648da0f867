"""The member paths of an AIP (one OCFL object's content, the same in every version): the one place they are
spelled, for ingest (which writes them), audit, the catalogue rebuild and the index (which read them).

- ``metadata/descriptive.xml``: the archive's description (also the path inside a SIP, BagIt tag file);
- ``metadata/premis/vN.xml`` (:func:`premis_path`): the PREMIS 3 document of version N alone: the objects of
  the files new or changed in that version, that version's events and the agents they name. Earlier versions'
  documents stay in the state by reference (OCFL keeps one copy of their bytes), so the PREMIS history of a
  version is the documents in its state merged in version order (:mod:`.premis_history`);
- ``metadata/premis.xml`` (:data:`PREMIS_CUMULATIVE`): the layout before per-version documents, one
  cumulative document per version (every object and event so far). Objects stored that way keep it: the
  newest one stays in the state of every later version as the history up to then, and the versions added
  later each carry their own ``metadata/premis/vN.xml``;
- ``metadata/checks.json``: the four-property report (四性检测, DA/T 70-2018) of the SIP of this version;
- ``metadata/sip/``: the SIP's own tag files (bag-info.txt, manifests …);
- ``signature/manifest-sha512.txt`` and its detached CMS signature ``….p7s``: the version lock.
"""

from __future__ import annotations

from collections.abc import Iterable

DESCRIPTIVE = "metadata/descriptive.xml"
PREMIS_CUMULATIVE = "metadata/premis.xml"
PREMIS_PREFIX = "metadata/premis/"
CHECKS = "metadata/checks.json"
SIP_PREFIX = "metadata/sip/"
SIGNATURE_DIR = "signature/"
SIGNATURE_MANIFEST = SIGNATURE_DIR + "manifest-sha512.txt"
SIGNATURE_FILE = SIGNATURE_MANIFEST + ".p7s"
SIGNATURE_PATHS = frozenset({SIGNATURE_MANIFEST, SIGNATURE_FILE})

#: Derivatives the repository made of the payload (never the original bytes), carried into every later version:
#: ``derivatives/ocr/<payload path>.p0001.txt`` (UTF-8 text of page 1, …) and ``<payload path>.ocr.json``
#: (source path and SHA-512, tool, version and model, and each page's text file), see ``ingest/ocr.py``.
DERIVATIVES_PREFIX = "derivatives/"
OCR_PREFIX = DERIVATIVES_PREFIX + "ocr/"
OCR_RECORD_SUFFIX = ".ocr.json"


def ocr_record_path(source: str) -> str:
    """The OCR record of a payload file: ``derivatives/ocr/data/….tif.ocr.json``."""
    return f"{OCR_PREFIX}{source}{OCR_RECORD_SUFFIX}"


def ocr_page_path(source: str, page: int) -> str:
    """The text of page ``page`` (from 1) of a payload file: ``derivatives/ocr/data/….tif.p0001.txt``."""
    return f"{OCR_PREFIX}{source}.p{page:04d}.txt"


def premis_path(version: str) -> str:
    """The PREMIS document of version ``version`` (``v3``): ``metadata/premis/v3.xml``."""
    return f"{PREMIS_PREFIX}{version}.xml"


def premis_version(path: str) -> int | None:
    """The version number of a per-version PREMIS document's path (``metadata/premis/v3.xml`` -> 3); 0 for
    the cumulative ``metadata/premis.xml`` (older than every per-version one); ``None`` for any other path."""
    if path == PREMIS_CUMULATIVE:
        return 0
    if path.startswith(PREMIS_PREFIX + "v") and path.endswith(".xml"):
        number = path[len(PREMIS_PREFIX) + 1:-4]
        if number.isascii() and number.isdigit():
            return int(number)
    return None


def is_premis(path: str) -> bool:
    """Is ``path`` a PREMIS document of the AIP (per-version or cumulative)?"""
    return premis_version(path) is not None


def premis_documents(state: Iterable[str]) -> list[str]:
    """The PREMIS documents among the logical paths ``state``, oldest first (the cumulative one first)."""
    found = [(number, path) for path in state if (number := premis_version(path)) is not None]
    return [path for _, path in sorted(found)]
