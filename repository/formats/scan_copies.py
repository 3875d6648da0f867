"""Proposed and approved researchers' copies of scans (:mod:`.scanredact`), made in a child process and kept in
the research cache beside the PDF copies (``cache/research/``), by the key of the file's bytes and the names they
are masked with (:meth:`.research_copies.ResearchCopies.names_key`, which starts with the SHA-512):

- ``<key>.scan.p0001.png`` …: each page with the proposed boxes painted, for the archivist who reviews them;
- ``<key>.scan-<boxes>.p0001.jpg`` … and ``<key>.scan-<boxes>.pdf``: each page with the approved boxes painted,
  and all of them as a PDF of page images, named by a digest of the boxes (another decision: other files).

Every file is an ordinary file of the cache: it may be dropped (an eviction, a disposal's
:meth:`~.research_copies.ResearchCopies.forget`, which drops every file named by the digest) and is made again from
the stored scan and the boxes, which the state database keeps (:mod:`repository.accounts.scanreviews`). Files are
written under a temporary name and renamed into place. One maker paints a set of files at a time (the proposal's
pages, a decision's copy: :func:`.copylock.painting` on ``.<key>.scan.lock``, ``.<key>.scan-<boxes>.lock``): a
second one waits for the first and uses what it painted. Reading a scan by OCR for a proposal is not locked here:
its caller holds :meth:`ScanCopies.proposing` while it also records the proposal.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import HsarError
from .cachebound import used
from .copylock import LOCK_MARGIN, lock_path, painting
from .scanredact import Rect

PROPOSE_SECONDS = 1800.0  # the child that reads a scan by OCR is stopped after this long
PAINT_SECONDS = 300.0  # the child that paints the boxes of a scan
_KEY = re.compile(r"[0-9a-f]{128}\.[0-9a-f]{16}")


class ScanCopyError(HsarError):
    """A scan that cannot be read, or not in time: no proposal, no copy."""

    code = "SCAN-COPY"


@dataclass(frozen=True)
class ApprovedScan:
    """The approved copy of a scan: its page images (JPEG) and the PDF of them."""

    pdf: Path
    pages: tuple[Path, ...]


def boxes_tag(boxes: dict[int, list[Rect]]) -> str:
    """A short digest of a decision's boxes (by page), naming the files painted with them."""
    plain = {str(k): sorted([list(b) for b in v]) for k, v in sorted(boxes.items())}
    return hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()[:16]


def _child(step: str, source: Path, prefix: str, given: dict[str, Any], seconds: float) -> dict[str, Any]:
    try:
        done = subprocess.run([sys.executable, "-m", "repository.formats.scanredact", step, str(source), prefix],
                              input=json.dumps(given, ensure_ascii=False).encode(), capture_output=True,
                              timeout=seconds, check=False)
    except subprocess.TimeoutExpired:
        raise ScanCopyError(msgid="scans.too_slow", seconds=int(seconds)) from None
    try:
        answer = json.loads(done.stdout.decode() or "null")
    except ValueError:
        answer = None
    if done.returncode != 0 or not isinstance(answer, dict) or "error" in answer:
        reason = answer.get("error") if isinstance(answer, dict) else f"exit status {done.returncode}"
        raise ScanCopyError(msgid="scans.failed", reason=str(reason))
    return answer


class ScanCopies:
    """The scan files of the research cache (see the module), under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _name(self, key: str, tail: str) -> Path:
        if not _KEY.fullmatch(key):
            raise ValueError(f"not a names key: {key!r}")
        return self.root / f"{key}.{tail}"

    def _made(self, key: str, step: str, source: Path, given: dict[str, Any], seconds: float,
              finals: dict[str, str]) -> dict[str, Any]:
        """Run the child writing under a temporary prefix, then rename each file it wrote to its final name
        (``finals``: temporary tail -> final tail, e.g. ``.p0001.png`` -> ``scan.p0001.png``)."""
        self.root.mkdir(parents=True, exist_ok=True)
        prefix = str(self._name(key, f"tmp-{os.getpid()}-{os.urandom(4).hex()}"))
        try:
            answer = _child(step, source, prefix, given, seconds)
            written = sorted(Path(prefix).parent.glob(Path(prefix).name + ".*"))
            for path in sorted(written, key=lambda p: p.suffix == ".pdf"):  # the PDF last: it says "made"
                tail = path.name[len(Path(prefix).name):]
                os.replace(path, self._name(key, finals.get(tail[-4:], "") + tail))
            return answer
        finally:
            for left in Path(prefix).parent.glob(Path(prefix).name + "*"):
                left.unlink(missing_ok=True)

    def _painting(self, key: str, tail: str, seconds: float) -> AbstractContextManager[bool]:
        """The lock of the files ``<key>.<tail>…`` (:func:`.copylock.painting`), waited for up to the child's
        ``seconds`` and :data:`.copylock.LOCK_MARGIN`."""
        self.root.mkdir(parents=True, exist_ok=True)
        return painting(lock_path(self.root, self._name(key, tail).name), wait=seconds + LOCK_MARGIN)

    # ------------------------------------------------------------------ the proposal

    def proposing(self, key: str) -> AbstractContextManager[bool]:
        """The lock a proposal of the scan ``key`` is read by OCR and recorded under: its caller looks again for a
        proposal recorded (by the maker it waited for) once it holds it."""
        return self._painting(key, "scan-propose", PROPOSE_SECONDS)

    def proposal_page(self, key: str, page: int) -> Path:
        return self._name(key, f"scan.p{page:04d}.png")

    def propose(self, source: Path, key: str, people: list[Any]) -> list[dict[str, Any]]:
        """Read ``source`` by OCR and paint the proposed boxes (:func:`.scanredact.propose`); its pages."""
        answer = self._made(key, "propose", source, {"people": people}, PROPOSE_SECONDS, {".png": "scan"})
        return list(answer["pages"])

    def proposal_pages(self, source: Path, key: str, boxes: dict[int, list[Rect]], pages: int) -> list[Path]:
        """The proposal's page images, painted again from ``boxes`` when one is missing (a cache emptied); each one's
        use recorded (:func:`.cachebound.used`), so the cache's bound does not remove it while it is being sent."""
        found = [self.proposal_page(key, n) for n in range(1, pages + 1)]
        if not all([used(p) for p in found]):
            with self._painting(key, "scan", PAINT_SECONDS):
                if not all([used(p) for p in found]):  # (painted by the maker this one waited for)
                    self._made(key, "proposal", source, {"boxes": boxes}, PAINT_SECONDS, {".png": "scan"})
        return found

    # ------------------------------------------------------------------ the approved copy

    def _approved_files(self, key: str, boxes: dict[int, list[Rect]], pages: int) -> ApprovedScan:
        tag = boxes_tag(boxes)
        return ApprovedScan(self._name(key, f"scan-{tag}.pdf"),
                            tuple(self._name(key, f"scan-{tag}.p{n:04d}.jpg") for n in range(1, pages + 1)))

    def kept_approved(self, key: str, boxes: dict[int, list[Rect]], pages: int) -> ApprovedScan | None:
        """The copy painted with the approved ``boxes`` when every file of it is kept (each one's use recorded:
        :func:`.cachebound.used`), else None."""
        files = self._approved_files(key, boxes, pages)
        return files if all(used(p) for p in (files.pdf, *files.pages)) else None

    def approved(self, source: Path, key: str, boxes: dict[int, list[Rect]], pages: int) -> ApprovedScan:
        """The copy painted with the approved ``boxes``, made now unless kept (by another maker meanwhile, too:
        one paints it while the others wait for it)."""
        files = self.kept_approved(key, boxes, pages)
        if files is not None:
            return files
        tag = boxes_tag(boxes)
        with self._painting(key, f"scan-{tag}", PAINT_SECONDS):
            files = self.kept_approved(key, boxes, pages)  # painted by the maker this one waited for
            if files is None:
                self._made(key, "approved", source, {"boxes": boxes}, PAINT_SECONDS,
                           {".jpg": f"scan-{tag}", ".pdf": f"scan-{tag}"})
                files = self._approved_files(key, boxes, pages)
        return files
