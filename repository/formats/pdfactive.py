"""Active content in PDFs (DA/T 70 安全性; ISO 19005 PDF/A forbids it): JavaScript, launch actions,
embedded files and rich media.

:func:`active_content` walks the document's object graph from the catalogue and the trailer through
dictionaries and arrays (never decoding content streams, never following ``/Parent``, ``/Resources``,
``/Contents`` and the like, at most :data:`MAX_OBJECTS` objects) and names what it finds:

* ``javascript``: a ``/JavaScript`` name tree or action, or a ``/JS`` entry (document, page, field or
  annotation actions, ``/OpenAction``, ``/AA``);
* ``launch``: a ``/Launch`` action (starts a program or opens a file);
* ``embedded-file``: an embedded file stream or file-attachment annotation (its content is not identified);
* ``rich-media``: ``/RichMedia`` or Flash/3D content that runs code in the viewer.

Ingest refuses the first two (FMT009) and warns about the others (FMT010). Nothing here raises on a
malformed PDF: what could not be walked is simply not reported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pyHanko is imported when a PDF is checked, not with this module
    from pyhanko.pdf_utils.reader import PdfFileReader

MAX_OBJECTS = 200_000
_SKIP = frozenset({"/Parent", "/P", "/Resources", "/Contents", "/Thumb", "/Metadata", "/StructTreeRoot",
                   "/Font", "/ColorSpace", "/Outlines", "/Prev", "/Next", "/First", "/Last", "/Dest"})
RUNS_CODE = ("javascript", "launch")  # refused: they execute


def _kinds_of(obj: dict) -> set[str]:
    found = set()
    action = obj.get("/S")
    if "/JS" in obj or action == "/JavaScript":
        found.add("javascript")
    if action == "/Launch":
        found.add("launch")
    if obj.get("/Type") == "/EmbeddedFile" or "/EF" in obj or obj.get("/Subtype") == "/FileAttachment":
        found.add("embedded-file")
    if obj.get("/Subtype") in ("/RichMedia", "/Flash", "/3D") or "/RichMediaContent" in obj:
        found.add("rich-media")
    names = obj.get("/Names")
    if isinstance(names, dict):
        if "/JavaScript" in names:
            found.add("javascript")
        if "/EmbeddedFiles" in names:
            found.add("embedded-file")
    return found


def active_content(reader: PdfFileReader) -> tuple[str, ...]:
    """The kinds of active content reachable from the document catalogue and trailer, sorted."""
    from pyhanko.pdf_utils.generic import IndirectObject

    found: set[str] = set()
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = []  # PDF objects of any kind
    try:
        stack += [reader.root, reader.trailer]
    except Exception:  # noqa: BLE001 - a reader that cannot give its catalogue: nothing to report
        return ()
    visited = 0
    while stack and visited < MAX_OBJECTS:
        obj = stack.pop()
        try:
            if isinstance(obj, IndirectObject):
                key = (obj.idnum, obj.generation)
                if key in seen:
                    continue
                seen.add(key)
                obj = obj.get_object()
            visited += 1
            if isinstance(obj, dict):
                found |= _kinds_of(obj)
                stack += [value for name, value in dict.items(obj) if name not in _SKIP]  # not dereferenced
            elif isinstance(obj, list):
                stack += list.__iter__(obj)
        except Exception:  # noqa: BLE001, S112 - a broken object is skipped, the walk goes on
            continue
    return tuple(sorted(found))
