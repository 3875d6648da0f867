"""Ingest, first half: everything about one SIP that needs no look at the store.

receive safely into staging (hashing while copying) -> validate (bag, profile, metadata, payload) ->
identify formats (FIDO) and apply the format policy -> verify embedded PDF signatures -> the four-property
report (stage GD). Runs in worker processes for ``hsar ingest --workers N``; returns a picklable
:class:`Prepared`. The second half (:mod:`repository.ingest.pipeline`) decides against the store and commits.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..bags.receive import Limits, receive
from ..codes import Issue, Report, issue
from ..config import Config
from ..errors import ConfigError, HsarError, UnsafePackageError
from ..fixity import ByteProgress
from ..model import Archive
from ..preservation.aip_layout import PREMIS_PREFIX
from ..preservation.four_properties import CheckReport, build_report
from ..sip.validate import Validation, validate_bag_dir
from .formats import FileInfo, assess_formats

RECEIVE_ALGORITHMS = ("sha512",)


@dataclass(frozen=True)
class Prepared:
    sip: str
    sip_name: str
    workdir: Path
    bag_dir: Path | None
    report: Report
    archive: Archive | None
    payload: dict[str, FileInfo] = field(default_factory=dict)
    tag_files: dict[str, FileInfo] = field(default_factory=dict)
    checks: CheckReport | None = None
    fingerprint: str = ""
    received: str = ""

    @property
    def valid(self) -> bool:
        return self.report.valid and self.archive is not None


def sip_name(path: Path) -> str:
    name = path.name
    for suffix in (".tar.gz", ".tgz", ".zip", ".tar"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def fingerprint(files: dict[str, tuple[int, dict[str, str]]]) -> str:
    """The identity of a SIP: sha512 over its sorted ``<sha512>  <path>`` lines (all files, tag and payload)."""
    h = hashlib.sha512()
    for path in sorted(files):
        h.update(f"{files[path][1]['sha512']}  {path}\n".encode())
    return h.hexdigest()


def _format_stage(bag_dir: Path, payload: dict[str, FileInfo], cfg: Config) -> tuple[dict[str, FileInfo], list[Issue]]:

    return assess_formats(bag_dir, payload, cfg)


def _evidence(validation: Validation, payload: dict[str, FileInfo], archive: Archive | None) -> dict[str, dict]:
    bag = validation.bag
    total = sum(f.size for f in payload.values())
    signed = [p for p, f in payload.items() if f.signatures]
    return {
        "GD-1-1": {"files_verified": len(payload) + (len(bag.tag_files) if bag else 0),
                   "algorithms": list(bag.payload_manifest_algorithms) if bag else []},
        "GD-1-2": {"signed_files": len(signed)},
        "GD-2-1": {"items": len(archive.items) if archive else 0, "files": len(payload)},
        "GD-2-2": {"payload_oxum": f"{total}.{len(payload)}", "declared": bag.info("Payload-Oxum") if bag else []},
        "GD-3-2": {"formats": sorted({f.puid or "unknown" for f in payload.values()})},
        "GD-4-3": {"recorded_as": PREMIS_PREFIX, "agents": ["hsar", "FIDO", "pyHanko"]},
    }


def _refusal_issues(sip: Path, exc: UnsafePackageError) -> tuple[Issue, ...]:
    """The issues of a refused SIP, in the codes ``hsar sip validate`` gives for the same SIP.

    A folder is a bag, not a package: with no bag root it is simply not a bag (BAG001), and a link or special
    file in it is BAG027. PKG004 and PKG009 stay for zip and tar packages.
    """
    issues = tuple(exc.issues)
    if not sip.is_dir():
        return issues
    if [i.code for i in issues] == ["PKG009"]:
        return (issue("BAG001", "bagit.txt"),)
    return tuple(issue("BAG027", i.path) if i.code == "PKG004" else i for i in issues)


#: Codes of errors that are about this installation, not about the SIP being worked on: every later SIP would
#: meet them too, so they stop the batch (as does any :class:`ConfigError`).
_INSTALLATION_CODES = frozenset({"FORMAT_SIGNATURES"})


def sip_fault(exc: HsarError) -> Issue | None:
    """The issue (ING007) that rejects a SIP for ``exc``, an error raised while working on that SIP alone, so
    the batch goes on with the next SIP; None when ``exc`` is about the installation and must stop the batch.

    Callers keep what every SIP needs (settings, format signatures, the signer, the store, the catalogue, the
    index) outside the guarded work, so an error there is never mistaken for a fault of one SIP.
    """
    if isinstance(exc, ConfigError) or exc.code in _INSTALLATION_CODES:
        return None
    return issue("ING007", "", detail=f"{exc} [{exc.code}]")


def prepare(sip: Path, cfg: Config, staging: Path, *, now: datetime | None = None,
            on_bytes: ByteProgress | None = None) -> Prepared:
    """Receive, validate, identify and check one SIP; never raises for bad input (see ``report``).

    An error raised while working on this SIP (an unreadable file, say) becomes its rejection (ING007, see
    :func:`sip_fault`); an error about the installation is raised, and nothing is left in ``staging``.
    """
    sip = Path(sip)
    now = now or datetime.now(UTC)
    workdir = Path(staging) / f"sip-{uuid.uuid4().hex}"
    workdir.mkdir(parents=True)
    name = sip_name(sip)
    try:
        return _prepare(sip, cfg, workdir, name, now, on_bytes)
    except HsarError as exc:
        fault = sip_fault(exc)
        if fault is None:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        return Prepared(str(sip), name, workdir, None, Report((fault,)), None, received=now.isoformat())
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def _prepare(sip: Path, cfg: Config, workdir: Path, name: str, now: datetime,
             on_bytes: ByteProgress | None = None) -> Prepared:
    try:
        got = receive(sip, workdir, limits=Limits.from_config(cfg), algorithms=RECEIVE_ALGORITHMS,
                      on_bytes=on_bytes)
    except UnsafePackageError as exc:
        return Prepared(str(sip), name, workdir, None, Report(_refusal_issues(sip, exc)), None,
                        received=now.isoformat())
    validation = validate_bag_dir(got.bag_dir, known=got.files, workers=cfg["audit.workers"])
    facts = {p: FileInfo(p, size, d["sha512"]) for p, (size, d) in got.files.items()}
    payload = {p: f for p, f in facts.items() if p.startswith("data/")}
    tags = {p: f for p, f in facts.items() if not p.startswith("data/")}
    issues = list(validation.report.issues)
    if validation.valid:
        payload, format_issues = _format_stage(got.bag_dir, payload, cfg)
        issues += format_issues
    report = Report(tuple(issues))
    archive = validation.archive
    subject: dict[str, Any] = {"sip": name, "archive_id": archive.identifier if archive else None,  # JSON
               "package_type": archive.package_type.value if archive else None, "fingerprint": fingerprint(got.files)}
    checks = build_report("GD", issues, _evidence(validation, payload, archive), subject, now)
    return Prepared(str(sip), name, workdir, got.bag_dir, report, archive, payload, tags, checks,
                    subject["fingerprint"], now.isoformat())


def discard(prepared: Prepared) -> None:
    shutil.rmtree(prepared.workdir, ignore_errors=True)
