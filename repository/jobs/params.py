"""The parameters of each kind of job, checked and normalised when the job is submitted (JOB-PARAMS), so bad
input is refused before anything is queued."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import UsageError

AUDIT_MODES = ("due", "all", "archive", "sample")


class JobParamsError(UsageError):
    code = "JOB-PARAMS"


def _ingest_params(params: Mapping[str, Any]) -> dict[str, Any]:
    paths = params.get("paths")
    if not isinstance(paths, list | tuple) or not paths or not all(isinstance(p, str) for p in paths):
        raise JobParamsError(msgid="jobs.params-paths")
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise JobParamsError(msgid="jobs.params-missing", paths=", ".join(missing))
    return {"paths": [str(Path(p).resolve()) for p in paths]}


def _audit_params(params: Mapping[str, Any]) -> dict[str, Any]:
    mode = params.get("mode", "due")
    archives = params.get("archives", [])
    sample = params.get("sample", 0)
    ok = (mode in AUDIT_MODES and isinstance(archives, list | tuple) and all(isinstance(a, str) for a in archives)
          and isinstance(sample, int) and sample >= 0 and (mode != "archive" or archives)
          and (mode != "sample" or sample > 0))
    if not ok:
        raise JobParamsError(msgid="jobs.params-audit", modes=", ".join(AUDIT_MODES))
    return {"mode": mode, "archives": list(archives), "sample": sample, "repair": bool(params.get("repair", True))}


def _reindex_params(params: Mapping[str, Any]) -> dict[str, Any]:
    batch = params.get("batch", 500)
    if not isinstance(batch, int) or batch < 1:
        raise JobParamsError(msgid="jobs.params-batch")
    return {"batch": batch}


def _export_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Archives to export and who asked (name, role, division scope: the export checks them again)."""
    archives, who = params.get("archives"), [params.get(k) for k in ("user", "role", "division")]
    if not isinstance(archives, list | tuple) or not archives or not all(isinstance(a, str) and a for a in archives) \
            or not all(isinstance(w, str) and w for w in who):
        raise JobParamsError(msgid="jobs.params-export")
    return {"archives": list(archives), "user": who[0], "role": who[1], "division": who[2]}


def _ocr_params(params: Mapping[str, Any]) -> dict[str, Any]:
    archives, everything = params.get("archives", []), params.get("all", False)
    ok = (isinstance(archives, list | tuple) and all(isinstance(a, str) and a for a in archives)
          and isinstance(everything, bool) and bool(archives) != everything)
    if not ok:
        raise JobParamsError(msgid="ocr.params")
    return {"archives": list(archives), "all": everything}


def _paper_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Reconciliation takes no parameter: it reconciles the whole repository (the submitter is the job's user)."""
    if params:
        raise JobParamsError(msgid="paperjob.params")
    return {}


#: items an access copy's request may name at most (the service checks the rest: the archive, its items, the purpose)
MAX_COPY_ITEMS = 10_000


def _one_archive(params: Mapping[str, Any]) -> str | None:
    """The one archive identifier ``params`` names as ``archives`` (a list of one), or None."""
    archives = params.get("archives")
    if not isinstance(archives, list | tuple) or len(archives) != 1:
        return None
    one = archives[0]
    return one if isinstance(one, str) and 0 < len(one) <= 128 else None


def _access_copy_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """One archive's access copy (利用副本): its id (as ``archives``, one), the purpose of use, the items (None:
    every item), masked or not, what TIFF pages become, and the README's language. Who asked is the job's user."""
    from ..dip.copies import FORMATS
    from ..messages import LANGS

    archive, purpose, items = _one_archive(params), params.get("purpose"), params.get("items")
    mask, fmt, lang = params.get("mask", False), params.get("format", "pdf"), params.get("lang", "zh")
    if archive is None or not (isinstance(purpose, str) and 0 < len(purpose.strip()) <= 1000
            and (items is None or (isinstance(items, list | tuple) and 0 < len(items) <= MAX_COPY_ITEMS
                                   and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in items)))
            and isinstance(mask, bool) and fmt in FORMATS and lang in LANGS):
        raise JobParamsError(msgid="jobs.params-access-copy")
    return {"archives": [archive], "purpose": purpose, "items": None if items is None else list(items),
            "mask": mask, "format": fmt, "lang": lang}


def _research_copy_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """One PDF's researcher's copy (利用件): the archive (as ``archives``, one) and the file's path in it."""
    archive, path = _one_archive(params), params.get("path")
    if archive is None or not (isinstance(path, str) and 0 < len(path) <= 1024):
        raise JobParamsError(msgid="jobs.params-research-copy")
    return {"archives": [archive], "path": path}


def _scan_proposal_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """One scan's proposed researcher's copy (利用件, open review): the archive (as ``archives``, one) and the scan's
    path in it."""
    archive, path = _one_archive(params), params.get("path")
    if archive is None or not (isinstance(path, str) and 0 < len(path) <= 1024):
        raise JobParamsError(msgid="jobs.params-scan-proposal")
    return {"archives": [archive], "path": path}


def _scan_copy_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """One scan's approved researcher's copy (利用件): the archive (as ``archives``, one) and the scan's path in it."""
    archive, path = _one_archive(params), params.get("path")
    if archive is None or not (isinstance(path, str) and 0 < len(path) <= 1024):
        raise JobParamsError(msgid="jobs.params-scan-copy")
    return {"archives": [archive], "path": path}


def check_params(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The job's parameters, checked and normalised (JOB-PARAMS when unusable)."""
    if not isinstance(params, Mapping):
        raise JobParamsError(msgid="jobs.params-object")
    return {"ingest": _ingest_params, "audit": _audit_params, "reindex": _reindex_params,
            "export": _export_params, "ocr": _ocr_params, "paper": _paper_params,
            "access-copy": _access_copy_params, "research-copy": _research_copy_params,
            "scan-proposal": _scan_proposal_params, "scan-copy": _scan_copy_params,
            "lock-alert": _lock_alert_params}[kind](params)


#: the longest account name and address a lock alert carries (the security log's columns' widths)
ALERT_NAME_LENGTH, ALERT_ADDRESS_LENGTH = 100, 64


def _lock_alert_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """A sign-in lock's alert (:mod:`.lockalert`): the name locked, the failures that locked it, the lock's end
    (ISO 8601) and the last failure's address."""
    from datetime import datetime

    name, failures, until, address = (params.get("username"), params.get("failures"), params.get("locked_until"),
                                      params.get("address", ""))
    ok = (isinstance(name, str) and 0 < len(name) <= ALERT_NAME_LENGTH and isinstance(failures, int)
          and not isinstance(failures, bool) and failures > 0 and isinstance(address, str)
          and len(address) <= ALERT_ADDRESS_LENGTH and isinstance(until, str))
    try:
        ok = ok and datetime.fromisoformat(str(until)).tzinfo is not None
    except ValueError:
        ok = False
    if not ok:
        raise JobParamsError(msgid="jobs.params-lock-alert")
    return {"username": name, "failures": failures, "locked_until": until, "address": address}
