"""Identifiers of archives in storage: OCFL object ids are URIs (OCFL 1.1 §3.1 recommends it).

``urn:hsar:archive:<archive id>``; the archive id is the catalogue's key. Kept apart from :mod:`.aip` so that
code that only names objects (audit, search, catalogue) does not import the ingest stack.
"""

from __future__ import annotations

OBJECT_PREFIX = "urn:hsar:archive:"


def object_id(archive_id: str) -> str:
    """The OCFL object id of an archive."""
    return f"{OBJECT_PREFIX}{archive_id}"


def archive_key(object_id: str) -> str:
    """The catalogue's archive id of an OCFL object id (other ids are returned unchanged)."""
    return object_id[len(OBJECT_PREFIX):] if object_id.startswith(OBJECT_PREFIX) else object_id
