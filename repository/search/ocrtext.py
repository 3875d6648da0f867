"""OCR text of scanned pages, read back from the store for the index and the archive page.

The derivatives of :mod:`repository.ingest.ocr_version` (``derivatives/ocr/<payload path>.ocr.json`` naming each
page's ``….p0001.txt``) are part of every version's state, so ``hsar reindex`` and ingest's index update
find them in storage alone (DESIGN principle 1). Records that cannot be read are left out: the index is a
cache, the audit reports damaged files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..preservation.aip_layout import OCR_PREFIX, OCR_RECORD_SUFFIX
from ..preservation.ocfl_inventory import logical_state

if TYPE_CHECKING:
    from ..preservation.ocfl import OcflStore

MAX_PAGE_CHARS = 200_000


@dataclass(frozen=True)
class OcrPage:
    """The text of page ``page`` (from 1) of payload file ``source``; ``error`` when it could not be read."""

    source: str
    page: int
    text: str
    error: str | None = None


def stored_path(object_root: Path, inventory: Mapping[str, Any], digest: str) -> Path:
    """Where the content of ``digest`` is stored, from an inventory already read."""
    manifest = inventory["manifest"]
    return object_root / (manifest.get(digest) or manifest[digest.upper()])[0]


def derivative_paths(store: OcflStore, oid: str) -> tuple[dict[str, str], dict[str, Path]]:
    """The head's state and where each of its ``derivatives/ocr/`` files is stored, from one inventory read
    (not one per file)."""
    inventory = store.inventory(oid)
    state = logical_state(inventory)
    root = store.object_root(oid)
    where = {p: stored_path(root, inventory, d) for p, d in state.items() if p.startswith(OCR_PREFIX)}
    return state, where


def stored_pages(store: OcflStore, oid: str, state: Mapping[str, str] | None = None) -> dict[str, list[OcrPage]]:
    """payload path -> its OCR pages in order, for the head (``state``, when given, must be the head's)."""
    return pages_at(derivative_paths(store, oid)[1])


def pages_at(paths: Mapping[str, Path]) -> dict[str, list[OcrPage]]:
    """payload path -> its OCR pages in order, from ``paths`` (logical path -> where it is stored, e.g.
    :meth:`OcflStore.content_paths` of the head: the caller's one inventory reading)."""
    where = {p: paths[p] for p in paths if p.startswith(OCR_PREFIX)}  # not a Path per file: most are not OCR
    found: dict[str, list[OcrPage]] = {}
    for path in sorted(p for p in where if p.endswith(OCR_RECORD_SUFFIX)):
        try:
            record = json.loads(where[path].read_bytes())
            source, pages = record["source"], record["pages"]
            found[source] = [_page(where, source, p) for p in pages]
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return found


def _page(where: Mapping[str, Path], source: str, entry: dict) -> OcrPage:
    number, text_path = int(entry["page"]), entry.get("text")
    if not text_path or text_path not in where:
        return OcrPage(source, number, "", entry.get("error") or "no text")
    with open(where[text_path], "rb") as f:
        text = f.read(MAX_PAGE_CHARS * 4).decode("utf-8", "replace").strip()
    return OcrPage(source, number, text)


def page_texts(pages: Mapping[str, list[OcrPage]]) -> dict[str, tuple[tuple[int, str], ...]]:
    """payload path -> (page number, text) of each page read, what :func:`~.documents.archive_document` takes."""
    return {source: tuple((p.page, p.text) for p in found if p.text) for source, found in pages.items()}
