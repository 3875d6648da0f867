"""The ingest pipeline end to end: demo SIPs in, a valid signed OCFL store and a matching catalogue out.

Proves the ingest issue's "Must show" list: every demo SIP (with its supplements) gives a store ocfl-py accepts,
XSD-valid PREMIS and signatures openssl verifies; every ``--defects`` SIP is rejected with its code and changes
nothing; duplicates change nothing; a supplement makes v2 with both versions readable; a payload tampered with
after bagging is caught; the catalogue rebuilt from storage equals the one ingest wrote; supplements that do
not fit the archive held are refused with ING001-ING006.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from repository.catalog.rebuild import rebuild
from repository.descriptive import parse
from repository.home import Repository
from repository.ingest.aip import DESCRIPTIVE
from repository.ingest.pipeline import ingest, policy_of
from repository.preservation.aip_layout import premis_path
from repository.preservation.ids import object_id
from repository.preservation.premis_history import read_history
from repository.preservation.premis_read import parse_premis
from repository.preservation.signing import (
    SIGNATURE_FILE,
    SIGNATURE_MANIFEST,
    SIGNATURE_PATHS,
    parse_manifest,
)
from repository.sip.build import write_sip

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not on PATH")


def codes(outcome) -> set[str]:
    return {i.code for i in outcome.issues}


# ------------------------------------------------------------------------------------------- the demo store


def test_demo_store_validates_and_every_version_is_recorded(demo, ingested_home, ih):
    with Repository.open(ingested_home) as repo:
        ih.assert_store_valid(repo)
        archives = {e["archive"] for e in demo.entries if e["kind"] != "defect"}
        assert set(repo.store.iter_object_ids()) == {object_id(a) for a in archives}
        for archive in archives:
            versions = sorted(e["version"] for e in demo.entries if e["kind"] != "defect" and e["archive"] == archive)
            assert repo.store.head(object_id(archive)) == f"v{versions[-1]}"
            view = repo.catalog.show(archive)
            assert view is not None and view.head_version == f"v{versions[-1]}"
            assert [v.number for v in view.versions] == [f"v{n}" for n in versions]
        assert ih.staging_leftovers(ingested_home) == []
        assert list((ingested_home / "rejected").iterdir()) == []


def test_every_premis_document_is_xsd_valid(ingested_home, ih):
    schema = ih.premis_schema()
    from lxml import etree

    checked = 0
    with Repository.open(ingested_home) as repo:
        for oid in repo.store.iter_object_ids():
            for info in repo.store.versions(oid):
                doc = etree.parse(str(repo.store.content_path(oid, premis_path(info.name), info.name)))
                assert schema.validate(doc), f"{oid} {info.name}: {schema.error_log}"
                history, state = read_history(repo.store, oid, info.name)
                merged = etree.fromstring(history.to_xml(state))
                assert schema.validate(merged), f"{oid} {info.name} merged: {schema.error_log}"
                checked += 1
    assert checked == 10


@needs_openssl
def test_every_version_signature_verifies_with_openssl(ingested_home, ih):
    ca = ingested_home / "keys" / "ca.pem"
    with Repository.open(ingested_home) as repo:
        for oid in repo.store.iter_object_ids():
            for info in repo.store.versions(oid):
                manifest = repo.store.content_path(oid, SIGNATURE_MANIFEST, info.name)
                result = ih.openssl_verify(manifest, repo.store.content_path(oid, SIGNATURE_FILE, info.name), ca)
                assert result.returncode == 0, f"{oid} {info.name}: {result.stderr}"
                # and the signed manifest locks exactly the version's state
                state = {p: d for p, d in repo.store.state(oid, info.name).items() if p not in SIGNATURE_PATHS}
                assert parse_manifest(manifest.read_bytes()) == state


@needs_openssl
def test_openssl_refuses_a_signature_over_altered_bytes(ingested_home, ih, tmp_path):
    with Repository.open(ingested_home) as repo:
        oid = next(iter(repo.store.iter_object_ids()))
        manifest = repo.store.content_path(oid, SIGNATURE_MANIFEST)
        altered = tmp_path / "manifest-sha512.txt"
        altered.write_bytes(manifest.read_bytes().replace(b"data/", b"date/", 1))
        result = ih.openssl_verify(altered, repo.store.content_path(oid, SIGNATURE_FILE), ingested_home / "keys/ca.pem")
    assert result.returncode != 0


def test_catalogue_rebuilt_from_storage_matches(ingested_home, ih, tmp_path):
    home = ih.copy_home(ingested_home, tmp_path / "copy")
    with Repository.open(home) as repo:
        ids = repo.catalog.archive_ids()
        before = {a: repo.catalog.show(a).to_dict() for a in ids}
        repo.catalog.clear()
        assert repo.catalog.archive_ids() == []
        assert rebuild(repo.catalog, repo.store, policy_of=policy_of(repo.cfg)) == len(ids) == 5
        after = {a: repo.catalog.show(a).to_dict() for a in repo.catalog.archive_ids()}
    assert after == before


def test_search_finds_every_ingested_archive(demo, ingested_home):
    from repository.search.results import SearchRequest

    archives = {e["archive"] for e in demo.entries if e["kind"] != "defect"}
    with Repository.open(ingested_home) as repo:
        for archive in archives:
            result = repo.search.search(SearchRequest(query=archive))
            assert [h.archive_id for h in result.hits] == [archive]
        assert repo.search.count() == len(archives)  # one document per archive, however many versions


# ----------------------------------------------------------------------------------------------- defects


def test_each_defect_is_rejected_with_its_code_and_changes_nothing(demo, repo, home, ih):
    before = ih.tree(home / "storage")
    catalogue_before = (home / "catalog.sqlite").read_bytes()
    defects = demo.defects()
    outcomes = ingest(repo, [demo.root / e["path"] for e in defects])
    assert len(outcomes) == len(defects) >= 50
    for entry, outcome in zip(defects, outcomes, strict=True):
        assert outcome.status == "rejected", entry["path"]
        assert outcome.version is None
        found = codes(outcome)
        assert {entry["expected"], *entry.get("also", [])} <= found, (entry["path"], found)
        assert all(i.severity.value in ("error", "warning", "info") for i in outcome.issues)
        report = json.loads(Path(outcome.report).read_text("utf-8"))
        assert Path(outcome.report).parent == home / "rejected"
        assert report["status"] == "rejected" and report["sip"] == str(demo.root / entry["path"])
        assert entry["expected"] in {i["code"] for i in report["issues"]}
    assert len(list((home / "rejected").iterdir())) == len(defects)
    assert ih.tree(home / "storage") == before
    assert (home / "catalog.sqlite").read_bytes() == catalogue_before
    assert repo.catalog.archive_ids() == []
    assert ih.staging_leftovers(home) == []


# ------------------------------------------------------------------------------------- duplicates, versions


def test_duplicate_sip_changes_nothing(demo, repo, home, ih):
    sip = demo.sips("household")[0]
    archive = demo.entry(sip)["archive"]
    [first] = ingest(repo, [sip])
    assert (first.status, first.archive_id, first.version) == ("ingested", archive, "v1")
    store_before = ih.tree(home / "storage")
    view_before = repo.catalog.show(archive).to_dict()
    again = ingest(repo, [sip, sip])  # in a later run, and twice in one run
    assert [(o.status, o.archive_id, o.version) for o in again] == [("duplicate", archive, "v1")] * 2
    assert all(o.report is None for o in again)
    assert ih.tree(home / "storage") == store_before
    assert repo.catalog.show(archive).to_dict() == view_before
    assert list((home / "rejected").iterdir()) == []
    assert ih.staging_leftovers(home) == []


def test_a_zip_of_the_same_bag_is_a_duplicate(demo, repo, tmp_path):
    sip = demo.sips("household")[0]
    package = Path(shutil.make_archive(str(tmp_path / sip.name), "zip", sip.parent, sip.name))
    outcomes = ingest(repo, [sip, package])
    assert [o.status for o in outcomes] == ["ingested", "duplicate"]


def test_supplement_creates_v2_and_both_versions_stay_readable(demo, repo, ih):
    original, supplement = demo.first_with_supplement()
    archive = demo.entry(original)["archive"]
    outcomes = ingest(repo, [original, supplement])
    assert [(o.status, o.version) for o in outcomes] == [("ingested", "v1"), ("ingested", "v2")]
    again = ingest(repo, [original])  # the first SIP once more: the version it became, not the newest
    assert [(o.status, o.version) for o in again] == [("duplicate", "v1")]
    oid, store = object_id(archive), repo.store
    v1, v2 = store.state(oid, "v1"), store.state(oid, "v2")
    payload_v1 = {p: d for p, d in v1.items() if p.startswith("data/")}
    added = {p for p in v2 if p.startswith("data/")} - set(payload_v1)
    assert added and all(v2[p] == d for p, d in payload_v1.items())  # appended, nothing replaced
    for version, state in (("v1", v1), ("v2", v2)):
        for path, digest in state.items():
            with store.open_file(oid, path, version) as handle:
                assert hashlib.sha512(handle.read()).hexdigest() == digest, (version, path)
    for path in payload_v1:  # unchanged payload is stored once (forward delta)
        assert store.content_path(oid, path, "v2").relative_to(store.object_root(oid)).parts[0] == "v1"
    described_v1 = parse(store.content_path(oid, DESCRIPTIVE, "v1").read_bytes())
    described_v2 = parse(store.content_path(oid, DESCRIPTIVE, "v2").read_bytes())
    assert {i.number for i in described_v1.items} < {i.number for i in described_v2.items}
    _, events_v1, _ = parse_premis(store.content_path(oid, premis_path("v1"), "v1").read_bytes())
    _, own_v2, _ = parse_premis(store.content_path(oid, premis_path("v2"), "v2").read_bytes())
    events_v2 = read_history(store, oid, "v2")[0].events
    assert [e.identifier for e in events_v2] == [e.identifier for e in events_v1 + own_v2]
    assert sum(e.type == "ingestion" for e in events_v2) == 2 and sum(e.type == "ingestion" for e in own_v2) == 1
    view = repo.catalog.show(archive)
    assert [v.number for v in view.versions] == ["v1", "v2"] and view.head_version == "v2"
    assert {f.path for f in view.files} == {p for p in v2 if p.startswith("data/")}
    ih.assert_store_valid(repo)


# ---------------------------------------------------------------------------------------------- tampering


def _copy_bag(sip: Path, target: Path) -> Path:
    shutil.copytree(sip, target)
    return target


def test_payload_tampered_after_bagging_is_caught(demo, repo, home, tmp_path, ih):
    sip = demo.sips("household")[0]
    changed = _copy_bag(sip, tmp_path / "changed")
    victim = sorted((changed / "data").rglob("*.*"))[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit, same size
    victim.write_bytes(bytes(data))
    added = _copy_bag(sip, tmp_path / "added")
    (added / "data" / "extra.txt").write_text("slipped in after bagging", "utf-8")
    removed = _copy_bag(sip, tmp_path / "removed")
    sorted((removed / "data").rglob("*.*"))[-1].unlink()
    before = ih.tree(home / "storage")
    outcomes = ingest(repo, [changed, added, removed])
    assert [o.status for o in outcomes] == ["rejected"] * 3
    assert "BAG011" in codes(outcomes[0])
    assert any(i.code == "BAG011" and i.path == victim.relative_to(changed).as_posix() for i in outcomes[0].issues)
    assert "BAG010" in codes(outcomes[1])
    assert "BAG009" in codes(outcomes[2])
    assert ih.tree(home / "storage") == before
    [ok] = ingest(repo, [sip])  # the untouched bag still goes in
    assert ok.status == "ingested"


# ------------------------------------------------------------------------------- supplements that do not fit


def _resip(sip: Path, out: Path, *, renames: dict[str, str] | None = None, **changes: object) -> Path:
    """Re-bag ``sip`` with its description changed (``dataclasses.replace``) and payload paths renamed."""
    archive = parse((sip / DESCRIPTIVE).read_bytes())
    renames = renames or {}
    if renames:
        items = tuple(dataclasses.replace(i, files=tuple(renames.get(f, f) for f in i.files)) for i in archive.items)
        changes.setdefault("items", items)
    archive = dataclasses.replace(archive, **changes)
    payload = {renames.get(p.relative_to(sip).as_posix(), p.relative_to(sip).as_posix()): p
               for p in (sip / "data").rglob("*") if p.is_file()}
    return write_sip(archive, payload, out, source_organization=archive.institution, bagging_date=date(2025, 1, 2))


def test_a_new_sip_for_a_held_archive_is_refused_ING001(demo, repo, tmp_path):
    sip = demo.sips("household")[0]
    rebagged = _resip(sip, tmp_path / "rebagged")  # same archive, another bagging date: not a duplicate
    outcomes = ingest(repo, [sip, rebagged])
    assert [o.status for o in outcomes] == ["ingested", "rejected"]
    assert codes(outcomes[1]) == {"ING001"}


def test_a_supplement_for_an_archive_not_held_is_refused_ING002(demo, repo, home):
    _, supplement = demo.first_with_supplement()
    [outcome] = ingest(repo, [supplement])
    assert outcome.status == "rejected" and codes(outcome) == {"ING002"}
    assert repo.catalog.archive_ids() == [] and list(repo.store.iter_object_ids()) == []


def _held_v1(demo, repo):
    original, supplement = demo.first_with_supplement()
    [first] = ingest(repo, [original])
    assert first.status == "ingested"
    return original, supplement, parse((supplement / DESCRIPTIVE).read_bytes()), parse((original / DESCRIPTIVE).read_bytes())


def test_supplement_naming_another_original_volume_is_refused_ING003(demo, repo, tmp_path):
    _, supplement, sup, _ = _held_v1(demo, repo)
    wrong = dataclasses.replace(sup.supplement_of, original_volume="1999-0999")
    volume = dataclasses.replace(sup.volume, original_volume="1999-0999")
    [outcome] = ingest(repo, [_resip(supplement, tmp_path / "s", supplement_of=wrong, volume=volume)])
    assert outcome.status == "rejected" and "ING003" in codes(outcome), codes(outcome)


def test_supplement_reusing_item_numbers_is_refused_ING004(demo, repo, tmp_path):
    _, supplement, sup, held = _held_v1(demo, repo)
    first = min(i.number for i in held.items)
    items = tuple(dataclasses.replace(i, number=first + n, paper=dataclasses.replace(i.paper, item=first + n))
                  for n, i in enumerate(sup.items))
    [outcome] = ingest(repo, [_resip(supplement, tmp_path / "s", items=items)])
    assert outcome.status == "rejected" and "ING004" in codes(outcome), codes(outcome)


def test_supplement_overwriting_a_stored_file_is_refused_ING005(demo, repo, tmp_path):
    _, supplement, sup, held = _held_v1(demo, repo)
    target = held.items[0].files[0]
    source = sup.items[0].files[0]
    assert Path(source).suffix == Path(target).suffix
    [outcome] = ingest(repo, [_resip(supplement, tmp_path / "s", renames={source: target})])
    assert outcome.status == "rejected" and "ING005" in codes(outcome), codes(outcome)
    assert any(i.code == "ING005" and i.path == target for i in outcome.issues)
    assert repo.store.head(object_id(held.identifier)) == "v1"


def test_supplement_of_another_archive_type_is_refused_ING006(demo, repo, tmp_path):
    unit_supplement = next(demo.root / e["path"] for e in demo.entries
                           if e["kind"] == "supplement" and e["archive"].startswith("un-"))
    unit = next(demo.root / e["path"] for e in demo.entries
                if e["kind"] == "unit" and e["archive"] == demo.entry(unit_supplement)["archive"])
    household = demo.sips("household")[0]
    held = parse((household / DESCRIPTIVE).read_bytes())
    sup = parse((unit_supplement / DESCRIPTIVE).read_bytes())
    assert ingest(repo, [household])[0].status == "ingested"
    retargeted = _resip(unit_supplement, tmp_path / "s", identifier=held.identifier,
                        supplement_of=dataclasses.replace(sup.supplement_of, archive=held.identifier))
    [outcome] = ingest(repo, [retargeted])
    assert outcome.status == "rejected" and "ING006" in codes(outcome), codes(outcome)
    assert unit.exists()


def test_ingest_writes_each_new_version_to_the_replicas(demo, home, tmp_path):
    from repository.preservation.ocfl import OcflStore
    from repository.preservation.ocfl_validate import validate_with_ocfl_py

    replica_root = tmp_path / "replicas" / "disk2"
    replica_root.parent.mkdir()  # a mounted disk; hsar never creates the mount point itself
    toml = home / "hsar.toml"
    toml.write_text(toml.read_text("utf-8").replace("replicas = []", f'replicas = ["{replica_root}"]'), "utf-8")
    original, supplement = demo.first_with_supplement()
    with Repository.open(home) as repo:
        outcomes = ingest(repo, [original, supplement])
        assert [o.status for o in outcomes] == ["ingested", "ingested"]
        oid = object_id(outcomes[0].archive_id)
        primary_inventory = (repo.store.object_root(oid) / "inventory.json").read_bytes()
    replica = OcflStore(replica_root)
    assert replica.head(oid) == "v2"
    assert (replica.object_root(oid) / "inventory.json").read_bytes() == primary_inventory
    assert validate_with_ocfl_py(replica_root) == []
    assert validate_with_ocfl_py(replica.object_root(oid)) == []


def test_versions_name_the_institution_and_its_contact_address(demo, home):
    """OCFL W008: a version's user SHOULD have an address; repository.contact supplies it (an e-mail
    becomes a mailto: URI). Without it the user is the institution alone, and ocfl-py warns."""
    from repository.preservation.ocfl_validate import validate_with_ocfl_py

    original, supplement = demo.first_with_supplement()
    with Repository.open(home) as repo:
        [first] = ingest(repo, [original])
        oid = object_id(first.archive_id)
        root = repo.store.object_root(oid)
    assert json.loads((root / "inventory.json").read_text("utf-8"))["versions"]["v1"]["user"] == {
        "name": "示范市住房保障中心"}
    assert any("W008" in w for w in validate_with_ocfl_py(root, warnings=True))
    toml = home / "hsar.toml"
    toml.write_text(toml.read_text("utf-8").replace('contact = ""', 'contact = "archives@example.gov.cn"', 1),
                    "utf-8")
    with Repository.open(home) as repo:
        assert [o.status for o in ingest(repo, [supplement])] == ["ingested"]
    versions = json.loads((root / "inventory.json").read_text("utf-8"))["versions"]
    assert versions["v2"]["user"] == {"name": "示范市住房保障中心", "address": "mailto:archives@example.gov.cn"}
    assert not any("v2" in w and "W008" in w for w in validate_with_ocfl_py(root, warnings=True))


# ------------------------------------------------------------------- one SIP's failure is that SIP's rejection


def test_an_error_while_one_sip_is_prepared_rejects_it_and_the_batch_goes_on(demo, repo, home, ih, monkeypatch):
    """ING007: an error raised while working on one SIP (here: a file that cannot be read) rejects that SIP
    with a report; errors about the installation (format signatures, the store) still stop the batch."""
    from repository.errors import IngestError, PreservationError
    from repository.ingest import prepare
    from repository.preservation.ocfl import OcflStore

    real, failing = prepare.validate_bag_dir, {"code": "INGEST", "left": 1}

    def validate_once_failing(*args, **kwargs):  # noqa: ANN202
        if failing["left"]:
            failing["left"] -= 1
            raise IngestError("cannot read data/x.pdf: Input/output error", failing["code"])
        return real(*args, **kwargs)

    monkeypatch.setattr(prepare, "validate_bag_dir", validate_once_failing)
    first, second = demo.sips("household")[:2]
    outcomes = ingest(repo, [first, second])
    assert [o.status for o in outcomes] == ["rejected", "ingested"]
    assert codes(outcomes[0]) == {"ING007"} and "Input/output error" in outcomes[0].issues[0].message_in("en")
    report = json.loads(Path(outcomes[0].report).read_text("utf-8"))
    assert [i["code"] for i in report["issues"]] == ["ING007"] and report["sip"] == str(first)
    assert ih.staging_leftovers(home) == []

    failing.update(code="FORMAT_SIGNATURES", left=1)  # the installation's signatures: every SIP would fail
    with pytest.raises(IngestError):
        ingest(repo, [first])
    assert ih.staging_leftovers(home) == []

    def store_unusable(*args, **kwargs):  # noqa: ANN202
        raise PreservationError("cannot write the storage root: No space left on device", "OCFL-IO")

    monkeypatch.setattr(OcflStore, "add_version", store_unusable)
    with pytest.raises(PreservationError):
        ingest(repo, [first])
    assert len(list((home / "rejected").iterdir())) == 1  # only the first run's rejection


def test_a_payload_name_with_a_line_break_is_refused_PAY004_before_anything_is_built(demo, repo, home, tmp_path):
    household = demo.sips("household")[0]
    pdf = next(p.relative_to(household).as_posix() for p in sorted((household / "data").rglob("*.pdf")))
    bad = _resip(household, tmp_path / "newline", renames={pdf: pdf[:-4] + "\n.pdf"})
    after = demo.sips("household")[1]
    outcomes = ingest(repo, [bad, after])
    assert [o.status for o in outcomes] == ["rejected", "ingested"]
    assert codes(outcomes[0]) == {"PAY004"}
    [found] = outcomes[0].issues
    assert found.path == pdf[:-4] + "%0A.pdf" and "U+000A" in found.message_in("en")


def test_a_supplement_file_inside_a_stored_file_is_rejected_not_fatal(demo, repo, home, tmp_path, ih):
    """A supplement's ``data/a.pdf/b.pdf`` when ``data/a.pdf`` is stored: no OCFL version state can hold both
    (E095). The store refused it with an error that stopped the batch and left an intent behind; now the
    SIP is rejected (ING007) before the store is touched."""
    _, supplement, sup, held = _held_v1(demo, repo)
    target, source = held.items[0].files[0], sup.items[0].files[0]
    inside = f"{target}/{Path(source).name}"
    other = next(s for s in demo.sips("household") if demo.entry(s)["archive"] != held.identifier)
    outcomes = ingest(repo, [_resip(supplement, tmp_path / "s", renames={source: inside}), other])
    assert [o.status for o in outcomes] == ["rejected", "ingested"]
    assert codes(outcomes[0]) == {"ING007"}, codes(outcomes[0])
    assert inside in outcomes[0].issues[0].message_in("en")
    assert repo.store.head(object_id(held.identifier)) == "v1"
    assert ih.staging_leftovers(home) == []


def test_nothing_the_warm_up_thread_raises_reaches_the_user(demo, repo, monkeypatch):
    """The jieba dictionary loads in a background thread while the first SIP is received; whatever it
    raises is not the user's business (the main thread meets it again where the analyser is used)."""
    import threading

    from repository.ingest import ahead

    seen: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args.exc_value))
    started: list[threading.Thread] = []
    real_start = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        started.append(thread)
        real_start(thread)

    def broken() -> None:
        raise ImportError("cannot import name 'ENGINES' from partially initialized module")

    monkeypatch.setattr(threading.Thread, "start", start)
    monkeypatch.setattr(ahead, "_warm_analyser", broken)
    broken_sip = demo.root / next(e["path"] for e in demo.defects() if e["expected"] == "BAG001")
    [outcome] = ingest(repo, [broken_sip])
    for thread in started:
        thread.join(30)
    assert outcome.status == "rejected" and codes(outcome) == {"BAG001"}
    assert [t.name for t in started if t.name == "hsar-warm-up"] == ["hsar-warm-up"]
    assert seen == []
