"""The audit's format check (AUD016, BC-3-2) reads the head's PREMIS history: every per-version document in
its state, each file by its current object."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from repository.audit.run import Selection, run_audit
from repository.preservation.aip_layout import premis_path
from repository.preservation.premis import PremisObject, render_premis

from .test_audit import NOW, configure

ARCHIVE = "urn:hsar:archive:HH-004"
EXE, PDF = b"MZ... a program", b"%PDF-1.4 the replacement"


def _obj(path: str, data: bytes, puid: str) -> PremisObject:
    return PremisObject(path, path, len(data), hashlib.sha512(data).hexdigest(), puid, puid)


def test_a_refused_format_recorded_in_an_earlier_document_is_found_and_a_replaced_one_is_not(home, factory):
    repo = configure(home, replicas=())
    desc = f"<archive id='{ARCHIVE}'/>".encode()
    v1: dict[str, bytes] = {"data/x.exe": EXE, "data/y.exe": EXE, "metadata/descriptive.xml": desc}
    v1[premis_path("v1")] = render_premis([_obj(p, v1[p], "x-fmt/411") for p in ("data/x.exe", "data/y.exe")]
                                          + [_obj("metadata/descriptive.xml", desc, "fmt/101")], [], [])
    v2 = {**v1, "data/x.exe": PDF}  # x.exe replaced by a PDF; y.exe and the v1 document carried
    v2[premis_path("v2")] = render_premis([_obj("data/x.exe", PDF, "fmt/354")], [], [])

    def files(state: Mapping[str, bytes]):  # noqa: ANN202
        return lambda object_id, payload, puid="": dict(state)

    factory.state_files = files(v1)
    factory.add(repo.store, repo.staging, ARCHIVE, {})
    factory.state_files = files(v2)
    factory.add(repo.store, repo.staging, ARCHIVE, {})
    result = run_audit(repo, Selection("archive", ("HH-004",)), now=NOW).archives[0]
    assert [(f.code, f.issue.path) for f in result.findings] == [("AUD016", "data/y.exe")]
    assert result.result == "intact"
    repo.close()
