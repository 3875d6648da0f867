"""Use-cases on submission packages, no home needed: validate a SIP (校验), build one (生成), write demo SIPs.

Each takes paths (and the home's settings when there is a home) and returns values; nothing prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..codes import Report
from ..config import Config
from ..errors import EnvironmentFault
from ..sip.build import build_sip
from ..sip.validate import validate_sip


def validate(path: Path, *, cfg: Config | None = None, bagit_only: bool = False) -> Report:
    """Every problem of the SIP at ``path`` (a bag directory or a .zip/.tar/.tar.gz of one)."""
    return validate_sip(path, config=cfg, bagit_only=bagit_only).report


def build(documents: Path, metadata: Path, out: Path, *, source_organization: str,
          algorithms: Sequence[str] = ("sha512",)) -> Path:
    """A profile-conformant SIP in ``out`` from a folder of documents and a metadata file; its path."""
    return build_sip(documents, metadata, out, source_organization=source_organization,
                     algorithms=tuple(algorithms))


#: Top-level modules of the packages of pyproject's ``demo`` extra.
DEMO_EXTRA = frozenset({"reportlab"})


@dataclass(frozen=True)
class DemoData:
    out: Path
    sips: tuple[Path, ...]


def demo_data(out: Path, *, households: int = 10, units: int = 5, seed: int = 1, defects: bool = False
              ) -> DemoData:
    """Realistic, deterministic demo SIPs in ``out`` (names sort in ingest order).

    The demo's drawing packages (reportlab) are the ``demo`` extra, imported here only: without them every
    other command works, and this one is the error ``ENV-NOEXTRA`` naming the extra."""
    try:
        from ..demo.generate import write_demo_data
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in DEMO_EXTRA:
            raise
        raise EnvironmentFault(msgid="smallfix.no_demo_extra", code="ENV-NOEXTRA", package=exc.name) from exc
    paths = write_demo_data(out, households=households, units=units, seed=seed, defects=defects)
    return DemoData(out, tuple(paths))
