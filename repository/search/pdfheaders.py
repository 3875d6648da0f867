"""Which of an archive's stored files are PDFs by their header, kept by SHA-512 in the home's text cache.

The index extracts text from the payload files that :func:`~repository.formats.pdfsig.is_pdf` calls PDFs (the
header within the first KiB). That is a pure function of the bytes, yet deciding it opens every file: for a
supplement of a few files to an archive of 20,000 that was 20,000 opens, reads and closes (0.2-0.35 s), the
largest cost of the index step that grew with the archive. So each time an ingest indexes a large archive it
keeps, for the archive, the digests of its payload whose bytes are PDFs and of those that are not (one entry
of :class:`~.textcache.TextCache`, kind ``pdf-headers``, found by the SHA-512 of the object id; each digest by
its first 128 bits, which no one can make two files share: a quarter of the bytes to read and write), and the
next supplement opens only the files whose digest it does not hold.

The answer is the one opening the file gives: the verdict was made by :func:`is_pdf` on bytes of that digest,
either a SIP's file hashed while it was received (the ingest worker examines every payload file of its SIP) or
a stored file whose digest the inventory records (the digests the audit verifies). The format a file was
identified as (its PUID) is not used: a PDF behind two newlines is identified as plain text (FIDO's PDF
signatures want the header at byte 0), and ``hsar reindex`` reads its text.

The entry is written again only when the verdicts it lacks are more than :func:`stale_after` (one in 64 of the
payload files): a supplement of a few files opens those few and writes nothing, instead of rewriting the
archive's whole entry each time. As with the rest of the text cache, nothing here is not derivable from the
store: a missing or damaged entry means the files are opened as before (and the entry written again), a rule
other than this one (``is_pdf``'s window changed) misses, disposal drops the entry. It is kept only for
archives of :data:`KEPT_FROM` payload files or more; opening the files of a small archive costs less than
reading an entry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from ..formats.pdfsig import PDF_HEADER_BYTES
from .textcache import PDF_HEADERS, TextCache

#: the verdicts are kept for archives with at least this many payload files
KEPT_FROM = 256
#: what made the verdicts: ``is_pdf``'s rule (a different window is another rule: old entries miss)
RULE = f"is_pdf %PDF- in first {PDF_HEADER_BYTES} bytes"
_DIGEST = 32  # hex digits of a SHA-512 kept: 128 bits


def _key(object_id: str) -> str:
    return hashlib.sha512(object_id.encode("utf-8")).hexdigest()


def _digests(joined: object) -> set[str] | None:
    if not isinstance(joined, str) or len(joined) % _DIGEST:
        return None
    return {joined[i:i + _DIGEST] for i in range(0, len(joined), _DIGEST)}


class PdfHeaders:
    """``{sha512: whether bytes with it are a PDF by their header}`` of one archive's payload: what was kept
    (:meth:`load`), and what this step learnt (:meth:`learn`), kept again by :meth:`keep`."""

    def __init__(self, object_id: str, verdicts: dict[str, bool] | None = None) -> None:
        self.object_id = object_id
        self.verdicts: dict[str, bool] = dict(verdicts or {})
        self._kept = dict(self.verdicts)

    @classmethod
    def load(cls, cache: TextCache | None, object_id: str) -> PdfHeaders:
        """The verdicts kept for the archive (none when there is no cache, no entry, or a damaged one)."""
        value = cache.get(PDF_HEADERS, _key(object_id), RULE) if cache is not None else None
        verdicts: dict[str, bool] = {}
        if isinstance(value, dict):
            pdf, other = _digests(value.get("pdf")), _digests(value.get("other"))
            if pdf is not None and other is not None and not pdf & other:
                verdicts = dict.fromkeys(other, False) | dict.fromkeys(pdf, True)
        return cls(object_id, verdicts)

    def judged(self, digests: Mapping[str, str]) -> dict[str, bool]:
        """``{path: is a PDF}`` for the paths (of ``{path: sha512}``) whose bytes have a verdict."""
        verdicts, n = self.verdicts, _DIGEST
        return {path: verdicts[digest[:n]] for path, digest in digests.items() if digest[:n] in verdicts}

    def learn(self, digest: str, pdf: bool) -> None:
        """The verdict on the bytes of SHA-512 ``digest`` (hex, lowercase as the inventory keeps it)."""
        self.verdicts[digest[:_DIGEST]] = pdf

    def keep(self, cache: TextCache | None, payload: Iterable[str]) -> bool:
        """Keep the verdicts on the digests ``payload`` (the archive's payload files now: verdicts on bytes it no
        longer holds are dropped) when there are at least :data:`KEPT_FROM` and nothing was loaded, or what was
        loaded lacks more of them than :func:`stale_after`, or holds others; whether an entry was written (best effort, as every
        text cache entry)."""
        if cache is None:
            return False
        wanted = {d[:_DIGEST] for d in payload}
        if len(wanted) < KEPT_FROM:
            return False
        kept = self._kept
        held = len(kept.keys() & wanted)
        if kept and len(wanted) - held <= stale_after(len(wanted)) and len(kept) == held:
            return False
        verdicts = {d: v for d, v in self.verdicts.items() if d in wanted}
        cache.put(PDF_HEADERS, _key(self.object_id), RULE,
                  {"pdf": "".join(sorted(d for d, v in verdicts.items() if v)),
                   "other": "".join(sorted(d for d, v in verdicts.items() if not v))})
        self._kept = verdicts
        return True


def stale_after(files: int) -> int:
    """How many of an archive's ``files`` may lack a kept verdict before the entry is written again."""
    return max(16, files // 64)


def forget(cache: TextCache | None, object_id: str) -> bool:
    """Drop the archive's entry (disposal); whether there was one."""
    return cache is not None and cache.forget([_key(object_id)]) > 0
