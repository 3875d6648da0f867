"""Index text already extracted in this process, by SHA-512 of the file (a bounded, thread-safe memo).

Text extraction is a pure function of the bytes and the fixed bounds, so a supplement's search document reuses
the text of the earlier versions' PDFs that workers examined in this process instead of extracting it again
from storage. The memo is bounded in files and characters (oldest dropped first) and guarded by a lock, so
ingests in several threads of one process (a web server's jobs) may share it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

MAX_FILES = 20_000
MAX_CHARS = 64_000_000


class KnownTexts:
    """``{sha512: text or None}`` (None: the file has no text), at most ``max_files`` / ``max_chars``."""

    def __init__(self, max_files: int = MAX_FILES, max_chars: int = MAX_CHARS) -> None:
        self.max_files, self.max_chars = max_files, max_chars
        self._texts: dict[str, str | None] = {}
        self._chars = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._texts)

    def lookup(self, digests: Mapping[str, str]) -> dict[str, str | None]:
        """``{path: text}`` for the paths (of ``{path: sha512}``) whose text is known."""
        with self._lock:
            return {path: self._texts[d] for path, d in digests.items() if d in self._texts}

    def remember(self, digest: str, text: str | None) -> None:
        size = len(text or "")
        if size > self.max_chars:
            return
        with self._lock:
            if digest in self._texts:
                return
            while self._texts and (len(self._texts) >= self.max_files or self._chars + size > self.max_chars):
                self._chars -= len(self._texts.pop(next(iter(self._texts))) or "")  # oldest first
            self._texts[digest] = text
            self._chars += size
