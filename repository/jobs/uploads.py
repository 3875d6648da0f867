"""Uploaded SIP files (上传的提交包), kept under ``<home>/jobs/uploads/<owner>-<sha256>/<name>`` until ingested.

An upload is streamed to a temporary file while its SHA-256 is computed, then moved into place atomically
(a half-written upload never looks like a SIP). The same bytes uploaded twice by one user land in the same
place, and :func:`ingest_key` of their digest and that user is the dedupe key of their ingest job, so a page
reload or a second click never ingests twice. Another user's upload of the same bytes is a job of its own
(whose ingest finds the archive stored already, if it was): a user never gets another's job, which they could
not open, and whose scope the worker would check instead of theirs. ``<owner>`` is the first 16 hex digits of
the SHA-256 of the username.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..config import Config
from .queue import jobs_dir

CHUNK = 1024 * 1024
NAME_BYTES = 200
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


@dataclass(frozen=True)
class Upload:
    path: Path
    sha256: str
    size: int
    owner: str  # owner_tag of the uploader

    @property
    def dedupe_key(self) -> str:
        return ingest_key(self.sha256, self.owner)


def owner_tag(username: str) -> str:
    """A fixed-length tag of the uploader for folder names and keys (any username fits)."""
    return hashlib.sha256(username.encode("utf-8")).hexdigest()[:16]


def ingest_key(sha256: str, owner: str) -> str:
    """The dedupe key of one user's ingest job of a package with these bytes (``owner``: :func:`owner_tag`)."""
    return f"ingest:{owner}:sha256:{sha256}"


def safe_name(filename: str | None) -> str:
    """The last part of a client's file name, without control characters or separators, cut to
    :data:`NAME_BYTES` bytes (``upload`` when nothing usable is left); ingest recognises packages by their
    content, so the name is only a label."""
    base = _UNSAFE.sub("_", (filename or "").replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    # at most NAME_BYTES bytes of UTF-8 (a file system's limit is 255 bytes, not characters); a lone surrogate
    # (a name not in UTF-8) becomes "?"
    encoded = base.encode("utf-8", "replace")[:NAME_BYTES]
    return encoded.decode("utf-8", "ignore").strip(" .") or "upload"


def uploads_dir(cfg: Config) -> Path:
    return jobs_dir(cfg) / "uploads"


def is_upload(cfg: Config, path: str | Path) -> bool:
    """Whether ``path`` is an uploaded SIP (``<home>/jobs/uploads/<owner>-<sha256>/<name>``), not one named from
    elsewhere."""
    try:
        folder = Path(path).resolve().parent
        return folder.parent == uploads_dir(cfg).resolve()
    except OSError:
        return False


def discard_upload(cfg: Config, path: str | Path) -> bool:
    """Remove an uploaded SIP (``<home>/jobs/uploads/<owner>-<sha256>/<name>``) with its folder, once its job has
    ended; a path anywhere else is never touched. True when something was removed."""
    if not is_upload(cfg, path):
        return False
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True


def receive_upload(cfg: Config, source: BinaryIO, filename: str | None, username: str) -> Upload:
    """Stream ``source`` into the home's uploads folder, as ``username``'s upload; returns where it lies and its
    digest."""
    folder = jobs_dir(cfg) / "uploads"
    folder.mkdir(exist_ok=True)
    temporary = folder / f".part-{uuid.uuid4().hex}"
    digest, size = hashlib.sha256(), 0
    try:
        with open(temporary, "wb") as out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        owner = owner_tag(username)
        target_dir = folder / f"{owner}-{digest.hexdigest()}"
        target_dir.mkdir(exist_ok=True)
        existing = sorted(p for p in target_dir.iterdir() if p.is_file())
        if existing:  # the same bytes, uploaded before by this user (maybe under another name)
            temporary.unlink()
            return Upload(existing[0], digest.hexdigest(), size, owner)
        target = target_dir / safe_name(filename)
        os.replace(temporary, target)
        return Upload(target, digest.hexdigest(), size, owner)
    finally:
        temporary.unlink(missing_ok=True)
