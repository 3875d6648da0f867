"""Researchers' copies made in a child process and kept by the stored file's SHA-512 (:mod:`.redact`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .cachebound import Pruned, prune, used
from .copylock import LOCK_MARGIN, lock_path, painting
from .redact import SECONDS, VERSION, Redacted, RedactError

RETRY_SECONDS = 3600  # a copy whose child failed (a crash, the memory limit) is tried again after this long


def redact_in_child(source: Path, out: Path, people: list[Any], *, seconds: float = SECONDS) -> Redacted:
    """:func:`redact_pdf` of ``source`` into ``out`` in a child process (limited to ``seconds`` and
    :data:`.redact.MEMORY`), masked with the names of ``people`` (the archive's household records, JSON-ready) as
    :func:`repository.privacy.mask_with_people` masks them; :class:`RedactError` when it fails."""
    try:  # (the child sets its own memory limit: a preexec_fn may deadlock in a parent that runs threads)
        done = subprocess.run([sys.executable, "-m", "repository.formats.redact", str(source), str(out)],
                              input=json.dumps(people, ensure_ascii=False).encode(), capture_output=True,
                              timeout=seconds, check=False)
    except subprocess.TimeoutExpired:
        out.unlink(missing_ok=True)
        raise RedactError(msgid="redact.too_slow", seconds=int(seconds)) from None
    try:
        answer = json.loads(done.stdout.decode() or "null")
    except ValueError:
        answer = None
    if done.returncode != 0 or not isinstance(answer, dict):
        out.unlink(missing_ok=True)
        if isinstance(answer, dict) and answer.get("error"):
            raise RedactError(msgid=answer["error"]["msgid"], **answer["error"]["params"])
        raise RedactError(msgid="redact.failed", status=done.returncode)
    return Redacted(**answer)


class ResearchCopies:
    """Researchers' copies kept by the stored file's SHA-512 and the people they are masked with
    (``cache/research/<sha512>.<people>.v<VERSION>.pdf``): a cache, made again when missing. A file that cannot be
    made into a copy keeps its error beside (``.err``), so a broken or too slow PDF is not tried on every request (a
    child that crashed or hit its memory limit: not for :data:`RETRY_SECONDS`). Each copy served is marked used
    (:func:`.cachebound.used`), and :meth:`prune` keeps the folder within a bound, least recently used first."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _stem(self, sha512: str, people: list[Any]) -> Path:
        import hashlib

        if len(sha512) != 128 or not all(c in "0123456789abcdef" for c in sha512):
            raise ValueError(f"not a SHA-512 digest: {sha512!r}")
        names = hashlib.sha256(json.dumps(people, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:16]
        return self.root / f"{sha512}.{names}.v{VERSION}"

    def key(self, sha512: str, people: list[Any]) -> str:
        """The name the copy of these bytes masked with ``people`` is kept under (without its suffix)."""
        return self._stem(sha512, people).name

    def names_key(self, sha512: str, people: list[Any]) -> str:
        """These bytes masked with ``people``, whatever way a copy of them is made (:meth:`key` without the PDF
        copies' :data:`VERSION`): what an archivist's review of a scan is recorded under, which a better way of
        painting PDFs must not void."""
        return self._stem(sha512, people).name.rsplit(".", 1)[0]

    def kept(self, sha512: str, people: list[Any]) -> Path | None:
        """The copy made earlier, or None; :class:`RedactError` when making it failed and is not tried again yet."""
        stem = self._stem(sha512, people)
        made, failed = stem.with_name(stem.name + ".pdf"), stem.with_name(stem.name + ".err")
        if used(made):  # (its use recorded: the cache's bound removes the least recently used first)
            return made
        if failed.is_file():
            try:
                error = json.loads(failed.read_text("utf-8"))
                if error["msgid"] != "redact.failed" or time.time() - failed.stat().st_mtime < RETRY_SECONDS:
                    raise RedactError(msgid=error["msgid"], **error["params"])
                failed.unlink(missing_ok=True)  # a crash is tried again after a while: it may have been the host's
            except (ValueError, KeyError, TypeError, OSError):
                failed.unlink(missing_ok=True)
        return None

    def copy_of(self, source: Path, sha512: str, people: list[Any]) -> Path:
        """The researcher's copy of ``source`` (whose digest is ``sha512``), made now unless kept;
        :class:`RedactError` when it cannot be made (now or before). One maker paints a copy at a time
        (:func:`.copylock.painting`): a second one, in this process or another, waits for the first and returns
        what it made (or raises the error it kept)."""
        found = self.kept(sha512, people)
        if found is not None:
            return found
        stem = self._stem(sha512, people)
        self.root.mkdir(parents=True, exist_ok=True)
        with painting(lock_path(self.root, stem.name), wait=SECONDS + LOCK_MARGIN):
            found = self.kept(sha512, people)  # made (or failed) by the maker this one waited for
            return found if found is not None else self._paint(source, stem, people)

    def _paint(self, source: Path, stem: Path, people: list[Any]) -> Path:
        made, failed = stem.with_name(stem.name + ".pdf"), stem.with_name(stem.name + ".err")
        partial = stem.with_name(f"{stem.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            redact_in_child(source, partial, people)
        except RedactError as exc:  # kept: a file that fails (a bomb stopped at the memory limit) is not tried on every request
            _write_atomic(failed, json.dumps({"msgid": exc.msgid, "params": exc.params}, default=str).encode())
            raise
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        finally:
            if not partial.is_file() or not partial.stat().st_size:
                partial.unlink(missing_ok=True)
        os.replace(partial, made)
        return made

    def prune(self, bound: int) -> Pruned:
        """Keep the folder within ``bound`` bytes (0: no bound), least recently used files first, every file
        under it alike (:func:`.cachebound.prune`). Copies of names no longer the archive's (a household linked
        since) are not looked for: unused, they are the first to go. Not a preservation action: no PREMIS event."""
        return prune(self.root, bound)

    def forget(self, digests: Iterable[str]) -> int:
        """Drop every copy of these bytes (disposal: the copies carry the archive's content); how many files."""
        gone = 0
        if not self.root.is_dir():
            return 0
        wanted = {d.lower() for d in digests}
        for path in self.root.iterdir():
            if path.name.split(".", 1)[0] in wanted:
                path.unlink(missing_ok=True)
                gone += 1
        return gone


def _write_atomic(path: Path, data: bytes) -> None:
    partial = path.with_name(f"{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    partial.write_bytes(data)
    os.replace(partial, path)
