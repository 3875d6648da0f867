"""The layout of a transfer package (移交包) and of an export folder, spelled once.

Export folder ``OUT``::

    transfer-list.xml   移交清单: one entry per archive (versions, files, bytes) and the totals
    transfer-list.csv   the same list as CSV (UTF-8 with BOM, for spreadsheet programs)
    <archive id>/       one BagIt 1.0 bag per archive (RFC 8493, sha512 manifests)

A bag::

    bagit.txt  bag-info.txt  manifest-sha512.txt  tagmanifest-sha512.txt
    data/object/             the archive's OCFL 1.1 object, copied byte for byte (inventory, sidecar, every
                             version directory): all content, descriptive XML, PREMIS, checks, signatures
    data/transfer/premis.xml PREMIS 3: the head's merged history (its per-version documents) plus the export event

``bag-info.txt`` names the package type (:data:`PACKAGE_TYPE` in :data:`TYPE_TAG`), the archive, the OCFL
object id, the number of versions and the sending institution.
"""

from __future__ import annotations

import re

OBJECT_DIR = "data/object/"
TRANSFER_PREMIS = "data/transfer/premis.xml"
LIST_XML = "transfer-list.xml"
LIST_CSV = "transfer-list.csv"
PACKAGE_TYPE = "hsar-transfer-1.0"
TYPE_TAG = "Hsar-Package-Type"
ARCHIVE_TAG = "External-Identifier"
OBJECT_TAG = "Hsar-Object-Id"
VERSIONS_TAG = "Hsar-Versions"
SENDER_TAG = "Source-Organization"
EXPORTED_TAG = "Hsar-Exported"
EVENT_TAG = "Hsar-Export-Event"

_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


def package_name(archive_id: str) -> str:
    """The folder name of an archive's package: the identifier when it is a plain file name, else its
    percent-encoding (the identifier itself is in ``bag-info.txt``)."""
    if _SAFE.fullmatch(archive_id):
        return archive_id
    return "".join(c if c.isascii() and (c.isalnum() or c in "._-") else
                   "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in archive_id)[:200]
