"""The member paths of an AIP (one OCFL object's content, the same in every version): the one place they are
spelled, for ingest (which writes them), audit, the catalogue rebuild and the index (which read them).

- ``metadata/descriptive.xml``: the archive's description (also the path inside a SIP, BagIt tag file);
- ``metadata/premis.xml``: every object and every PREMIS event so far, with the agents;
- ``metadata/checks.json``: the four-property report (四性检测, DA/T 70-2018) of the SIP of this version;
- ``metadata/sip/``: the SIP's own tag files (bag-info.txt, manifests …);
- ``signature/manifest-sha512.txt`` and its detached CMS signature ``….p7s``: the version lock.
"""

from __future__ import annotations

DESCRIPTIVE = "metadata/descriptive.xml"
PREMIS = "metadata/premis.xml"
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
