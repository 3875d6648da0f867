"""``hsar rebuild-catalog``: the catalogue rebuilt from the OCFL store alone gives the same answers.

The store is written here with the real store, PREMIS and descriptive writers, from the same facts the
ingest-side records in ``conftest.py`` are built from; the records are built independently of the reader.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

ocfl = pytest.importorskip("repository.preservation.ocfl", reason="repository.preservation.ocfl has not landed")
premis = pytest.importorskip("repository.preservation.premis", reason="repository.preservation.premis has not landed")
descriptive = pytest.importorskip("repository.descriptive", reason="repository.descriptive has not landed")

from repository.catalog import tables as t  # noqa: E402
from repository.catalog.rebuild import (  # noqa: E402
    object_records,
    rebuild,
    records_from_store,
    summarize_checks,
    version_record,
)
from repository.catalog.store import Catalog  # noqa: E402
from repository.errors import CatalogError  # noqa: E402

AGENTS = {"hsar": "hsar/0.1.0", "FIDO": "FIDO/1.6.1", "pyHanko": "pyHanko/0.29.0"}


def _report(sip_name: str, checks: dict) -> dict:
    """A checks.json whose summary is ``checks`` (as ``repository.preservation.four_properties`` writes it)."""
    items = [{"code": f"GD-{n}", "result": "pass"} for n in range(checks["counts"]["pass"])]
    return {k: v for k, v in checks.items() if k != "counts"} | {"subject": {"sip": sip_name}, "items": items}


def _premis_event(rec_event, payload_paths: list[str]):  # noqa: ANN202
    names = rec_event.agent.split("; ") if rec_event.agent else []
    objects = [rec_event.object_path] if rec_event.object_path else payload_paths
    return premis.PremisEvent(rec_event.identifier, rec_event.type, rec_event.datetime, rec_event.detail or "",
                              rec_event.outcome, "", tuple(AGENTS[n] for n in names), tuple(objects))


def _state_files(rec, events_so_far: list, build) -> dict[str, bytes]:  # noqa: ANN001
    archive = rec.archive
    files = {f.path: build.payload(f.path) for f in rec.files}
    objects = [premis.PremisObject(f.path, f.path, f.size, f.sha512, f.puid, f.format_name, f.format_version)
               for f in rec.files]
    agents = [premis.software_agent(name, ident.split("/")[1]) for name, ident in AGENTS.items()]
    files["metadata/descriptive.xml"] = descriptive.to_xml(archive)
    files["metadata/premis.xml"] = premis.render_premis(objects, events_so_far, agents)
    files["metadata/checks.json"] = json.dumps(_report(rec.sip_name, rec.checks_summary), ensure_ascii=False).encode()
    files["bag-info.txt"] = f"External-Identifier: {archive.identifier}\n".encode()
    files["signature/manifest-sha512.txt"] = b"".join(
        f"{hashlib.sha512(d).hexdigest()}  {p}\n".encode() for p, d in sorted(files.items()))
    return files


def store_versions(root: Path, records: list, build) -> ocfl.OcflStore:  # noqa: ANN001
    """Write ``records`` (each object's versions in order) into an OCFL store as ingest would."""
    store = ocfl.OcflStore.init(root / "storage")
    events: dict[str, list] = {}
    for rec in records:
        so_far = events.setdefault(rec.archive_id, [])
        so_far += [_premis_event(e, [f.path for f in rec.files]) for e in rec.events]
        sources = {}
        for path, data in _state_files(rec, list(so_far), build).items():
            source = root / "src" / rec.archive_id / rec.version / path
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_bytes(data)
            sources[path] = ocfl.SourceFile(source, hashlib.sha512(data).hexdigest(), len(data))
        store.add_version(f"urn:hsar:{rec.archive.type.value}:{rec.archive_id}", sources, staging=root / "staging",
                          message=rec.message, user=(rec.user, "archivist@example.org"), created=rec.created)
    return store


@pytest.fixture
def store(tmp_path, records, build):
    return store_versions(tmp_path, [records["hh1"], records["hh2"], records["un1"]], build)


def test_records_read_from_the_store_equal_the_ingest_records(store, records):
    assert list(records_from_store(store)) == [records["hh1"], records["hh2"], records["un1"]]
    head = version_record(store, "urn:hsar:household:hh-320102-2021-0001")
    assert head == records["hh2"]
    assert version_record(store, "urn:hsar:household:hh-320102-2021-0001", "v1") == records["hh1"]
    with pytest.raises(CatalogError, match="no version v9"):
        version_record(store, "urn:hsar:household:hh-320102-2021-0001", "v9")


def test_summarize_checks_keeps_results_and_counts(records):
    report = _report("x.zip", records["hh1"].checks_summary) | {"created": "2024-01-01T00:00:00+00:00"}
    assert summarize_checks(report) == records["hh1"].checks_summary | {"created": "2024-01-01T00:00:00+00:00"}


def test_policy_is_derived_when_a_policy_table_is_given(store):
    rec = version_record(store, "urn:hsar:unit:un-320102-0001", policy_of=lambda puid: f"policy-of-{puid}")
    assert {f.policy for f in rec.files} == {"policy-of-fmt/276"}


def test_rebuild_gives_the_same_answers(store, records, build, catalog_url, tmp_path):
    with Catalog(catalog_url) as catalog:
        catalog.create()
        for rec in records.values():
            catalog.record_version(rec)
        before = {i: catalog.show(i) for i in (build.HH, build.UN)}
        stats = catalog.stats()
        stray = dataclasses.replace(records["un1"], archive=dataclasses.replace(build.unit(), identifier="un-gone"))
        catalog.record_version(stray)
        with catalog.transaction(write=True) as conn:
            conn.execute(insert(t.audits).values(archive_id=build.HH, started=build.T2, finished=build.T2,
                                                 result="ok", files_checked=4, bytes_checked=1000))
        seen = []
        assert rebuild(catalog, store, progress=lambda oid, done, total: seen.append((oid, done, total))) == 2
        assert {i: catalog.show(i) for i in (build.HH, build.UN)} == before
        assert catalog.archive_ids() == [build.HH, build.UN]  # the stray archive is gone
        assert catalog.stats() == stats
        assert [s[1:] for s in seen] == [(1, 2), (2, 2)]
        with catalog.transaction() as conn:
            assert conn.scalar(select(func.count()).select_from(t.audits)) == 1
        catalog.clear()
        assert rebuild(catalog, store) == 2
        assert {i: catalog.show(i) for i in (build.HH, build.UN)} == before


def test_an_unreadable_object_is_reported_and_the_rest_rebuilt(tmp_path, records, build):
    broken = dataclasses.replace(records["un1"], archive=dataclasses.replace(build.unit(), identifier="un-broken"))
    store = store_versions(tmp_path, [records["hh1"], broken], build)
    content = store.content_path("urn:hsar:unit:un-broken", "metadata/descriptive.xml")
    content.chmod(0o644)
    content.write_bytes(b"<not-xml")
    with Catalog(f"sqlite:///{tmp_path / 'c.sqlite'}") as catalog:
        catalog.create()
        catalog.record_version(records["un1"])
        with pytest.raises(CatalogError, match="1 of 2 objects") as caught:
            rebuild(catalog, store)
        assert list(caught.value.failures) == ["urn:hsar:unit:un-broken"]
        # nothing was removed: the broken object's archive id could not be read
        assert catalog.archive_ids() == [build.HH, build.UN]
        assert object_records(store, "urn:hsar:household:hh-320102-2021-0001") == [records["hh1"]]
