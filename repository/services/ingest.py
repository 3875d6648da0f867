"""Use-case: ingest SIPs (接收入库): find the SIPs in the paths given, then run the ingest pipeline (transfer
packages from another repository, :mod:`repository.transfer`, are received by :mod:`repository.transfer.receive`).

A folder that is not itself a bag is expanded to the bags and packages inside it, sorted by name (one level
down). Broken bags and unsupported packages count as SIPs, so they are rejected with a reason instead of
being left out without a word.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..fixity import ByteProgress
from ..home import Repository
from ..ingest.pipeline import IngestOutcome
from ..ingest.pipeline import ingest as run_ingest

#: Told each SIP's outcome as soon as it is known.
IngestProgress = Callable[[IngestOutcome], None]
STATUSES = ("ingested", "duplicate", "rejected")
PACKAGE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".gz", ".bz2",
                    ".xz", ".rar", ".7z", ".zst")  # what an unsupported one is, receive tells (PKG001)


@dataclass(frozen=True)
class FoundSips:
    sips: tuple[Path, ...]
    skipped: tuple[Path, ...]  # entries of a folder that are neither a bag nor a package


@dataclass(frozen=True)
class IngestSummary:
    outcomes: tuple[IngestOutcome, ...]

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def counts(self) -> dict[str, int]:
        return {s: self.count(s) for s in STATUSES}

    @property
    def ok(self) -> bool:
        """Every SIP ingested or an exact duplicate."""
        return self.count("rejected") == 0


def looks_like_sip(path: Path) -> bool:
    """A bag (even a broken one: a folder with data/ or a manifest but no bagit.txt) or a package file."""
    if path.name.startswith("."):
        return False
    if path.is_dir():
        return (path / "bagit.txt").exists() or (path / "data").is_dir() or any(path.glob("manifest-*.txt"))
    return path.name.lower().endswith(PACKAGE_SUFFIXES)


def find_sips(paths: Iterable[Path]) -> FoundSips:
    """The bags and packages named, or found one level down in a folder that is not a bag itself."""
    sips: list[Path] = []
    skipped: list[Path] = []
    for path in paths:
        if path.is_dir() and not looks_like_sip(path):
            for child in sorted(path.iterdir()):
                (sips if looks_like_sip(child) else skipped).append(child)
        else:
            sips.append(path)
    return FoundSips(tuple(sips), tuple(skipped))


def sip_bytes(sip: Path) -> int:
    """The bytes of a SIP as it lies on disk (a folder's regular files, a package's own size): what a byte
    progress bar counts up to (a package may unpack to more; its receipt is counted up to this)."""
    if not sip.is_dir():
        return sip.stat().st_size if sip.is_file() else 0
    total = 0
    for folder, _dirs, names in os.walk(sip):
        for name in names:
            with contextlib.suppress(OSError):
                info = os.lstat(os.path.join(folder, name))
                total += info.st_size if stat.S_ISREG(info.st_mode) else 0
    return total


def ingest(repo: Repository, sips: Sequence[Path], *, workers: int = 1, progress: IngestProgress | None = None,
           on_bytes: ByteProgress | None = None) -> IngestSummary:
    """Ingest ``sips`` in the order given (a supplement after the archive it extends), under the home lock
    (IngestError ING-BUSY while another ingest runs), recovering first; UsageError when there are none.

    ``on_bytes`` is told the bytes copied while the SIP after the last one ``progress`` was told of is received
    (a large SIP's progress in bytes), from the copying threads; with worker processes, and for transfer
    packages, it is not called."""
    if not sips:
        raise UsageError(msgid="services.no_sips")
    from ..transfer.verify import is_transfer_package

    if not any(is_transfer_package(s) for s in sips):
        return IngestSummary(tuple(run_ingest(repo, sips, workers=workers, progress=progress, on_bytes=on_bytes)))
    from ..transfer.receive import receive_packages

    return IngestSummary(tuple(receive_packages(repo, sips, workers=workers, progress=progress)))
