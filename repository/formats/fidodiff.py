"""Where hsar's identification deliberately differs from FIDO 1.6.1's (the ``fido`` command).

hsar matches FIDO's PRONOM signatures with FIDO's rules (:mod:`repository.formats.signatures`) except in
the classes below, where FIDO is wrong by PRONOM's and DROID's own definitions. Each class has a test that
builds a small file of that class and shows hsar's verdict and FIDO's differing one
(``tests/ingest/test_identify_beyond_fido.py``); the parity tests accept a difference from FIDO only for a
file of a listed class. Keys are stable names; texts are for developers and the docs.
"""

from __future__ import annotations

DIFFERENCES: dict[str, str] = {
    "container-files": (
        "Container signatures are read as DROID reads them: every file a signature names must be present and "
        "each keeps its own byte sequences, offsets and subsequences. FIDO pairs the first file's name with the "
        "first pattern of any file (22 of 161 signatures), so a Word 97-2003 .doc (pattern in CompObj, name "
        "WordDocument) is only OLE2 fmt/111, and ODF 1.0/1.1/1.2 all reduce to one manifest test."),
    "container-presence": (
        "A container signature naming streams without byte patterns (PowerPoint 97-2003: a 'PowerPoint "
        "Document' stream) is applied; FIDO skips such signatures and falls back to a byte pattern searched "
        "only in the first bytes of the file, missing a directory that sits further in."),
    "negated-byte": (
        "A negated byte ([!X], 'any byte but X') consumes that byte; FIDO's look-ahead consumes none, so the "
        "pattern after it is tested one byte early (HFS disk images, fmt/1105, are missed)."),
    "fido-local-formats": (
        "FIDO's own additions (fido-fmt/189.word, .xl, .ppt, ...) are not PRONOM PUIDs and are never reported; "
        "OOXML files are identified by PRONOM's container signatures (fmt/412, fmt/214, fmt/215)."),
    "var-both-ends": (
        "A pattern PRONOM places anywhere in the file (VAR) is searched in the last bytes read as well as the "
        "first: PDF/A identification metadata (XMP) near the end of a PDF is found."),
    "plain-text": (
        "A file no signature matches whose bytes are plain ASCII, UTF-8 or GB18030 text is x-fmt/111 "
        "(method 'text'); FIDO goes by the extension alone, or gives nothing."),
    "extension-generic-first": (
        "An extension-only identification lists every format using the extension, generic ones first; FIDO "
        "prunes them by signature priority, so a malformed .pdf leads with PDF/A-1a fmt/95."),
}
