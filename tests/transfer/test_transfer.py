"""Transfer (移交) and back: export from one home, ingest the packages in another, compare strictly.

The sender holds the demo: household ``hh-320116-2021-0001`` with three supplements (v1 … v4) and unit
``un-320105-0002`` with a supplement (v2), linked by a household-unit relation (房户对接).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from repository.access import Principal, Role
from repository.errors import HsarError
from repository.home import Repository
from repository.preservation.auditlog import AuditLog
from repository.preservation.ids import object_id
from repository.services.ingest import ingest
from repository.services.transfer import CONSOLE, export
from repository.transfer.lists import NAMESPACE, read_xml_totals

HOUSEHOLD = "hh-320116-2021-0001"  # v1 + three supplements
UNIT = "un-320105-0002"  # v1 + one supplement


def _export(home: Path, out: Path, ids: list[str], principal: Principal = CONSOLE) -> Any:  # noqa: ANN401
    with Repository.open(home) as repo:
        return export(repo, principal, ids, out)


def _receive(home: Path, *packages: Path) -> Any:  # noqa: ANN401
    with Repository.open(home) as repo:
        return ingest(repo, list(packages))


def _facts(home: Path, archive_id: str) -> dict[str, Any]:
    """What must be the same on both sides: versions with their states, files and digests, the paper
    references, the relations, the description, the PREMIS history and the inventory bytes."""
    with Repository.open(home) as repo:
        view = repo.catalog.show(archive_id)
        assert view is not None
        oid = object_id(archive_id)
        store = repo.store
        return {
            "id": view.identifier,
            "versions": [(v.to_dict()["version"] if hasattr(v, "to_dict") else v) for v in view.versions],
            "states": [store.state(oid, v.name) for v in store.versions(oid)],
            "files": [(f.path, f.sha512, f.size) for f in view.files],
            "paper": view.paper_references(),
            "relations": [r.__dict__ if hasattr(r, "__dict__") else r for r in view.relations],
            "events": sorted((e.identifier, e.type) for e in view.events),
            "inventory": (store.object_root(oid) / "inventory.json").read_bytes(),
        }


def test_round_trip_between_two_homes_is_exact(sender: Path, receiver: Path, tr: Any, tmp_path: Path) -> None:
    tr.trusting(receiver, sender)
    out = tmp_path / "out"
    result = _export(sender, out, [HOUSEHOLD, UNIT])
    assert [a.archive_id for a in result.archives] == [HOUSEHOLD, UNIT]
    assert [a.versions for a in result.archives] == [4, 2]
    summary = _receive(receiver, out / HOUSEHOLD, out / UNIT)
    assert [(o.status, o.archive_id, o.version) for o in summary.outcomes] == [
        ("ingested", HOUSEHOLD, "v4"), ("ingested", UNIT, "v2")]
    assert all(not o.issues for o in summary.outcomes)
    for archive_id in (HOUSEHOLD, UNIT):
        mine, theirs = _facts(sender, archive_id), _facts(receiver, archive_id)
        assert mine == theirs
    household = _facts(receiver, HOUSEHOLD)
    assert len(household["states"]) == 4 and household["relations"], "a multi-version archive with a relation"
    assert household["paper"], "paper references carried over"
    assert {t for _, t in household["events"]} >= {"ingestion", "digital signature generation"}
    # The receipt is in the receiver's audit log: the export event carried over, the receipt events added.
    entries = [json.loads(line) for line in (receiver / "audit" / "log.jsonl").read_text("utf-8").splitlines()]
    kinds = [(e["archive_id"], e["event"]["type"]) for e in entries if e.get("kind") == "premis-event"]
    assert (HOUSEHOLD, "exporting") in kinds and (HOUSEHOLD, "accession") in kinds
    assert (HOUSEHOLD, "digital signature validation") in kinds
    with Repository.open(receiver) as repo:
        assert AuditLog(repo.paths.audit).verify().ok
    from repository.search.results import SearchRequest
    from repository.services.search import search

    found = []
    for home in (sender, receiver):  # the receiver's index finds what the sender's finds
        with Repository.open(home) as repo:
            found.append(sorted(h.archive_id for h in search(repo, SearchRequest(query="冯文博")).hits))
    assert found[0] == found[1] and HOUSEHOLD in found[1]
    # The receiver's store is valid OCFL, and its audit verifies the sender's signatures (its CA is trusted).
    from repository.preservation.ocfl_validate import validate_with_ocfl_py
    from repository.services.audit import audit, selection

    with Repository.open(receiver) as repo:
        assert validate_with_ocfl_py(repo.store.root) == []
        run = audit(repo, selection([], [HOUSEHOLD, UNIT]))
        assert run.ok, [i.to_dict("en") for i in run.issues]
    # The same package again changes nothing.
    again = _receive(receiver, out / HOUSEHOLD)
    assert [o.status for o in again.outcomes] == ["duplicate"]


def test_show_lists_the_same_files_and_digests_on_both_sides(sender: Path, receiver: Path, tr: Any,
                                                             tmp_path: Path) -> None:
    from click.testing import CliRunner

    from repository.cli import cli

    tr.trusting(receiver, sender)
    runner = CliRunner()
    done = runner.invoke(cli, ["--home", str(sender), "--lang", "en", "export", HOUSEHOLD, str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    assert "transfer-list.xml" in done.output
    got = runner.invoke(cli, ["--home", str(receiver), "ingest", "--json", str(tmp_path / "out" / HOUSEHOLD)])
    assert got.exit_code == 0, got.output
    shown = [json.loads(runner.invoke(cli, ["--home", str(h), "show", "--json", HOUSEHOLD]).output)
             for h in (sender, receiver)]
    files = [[(f["path"], f["sha512"]) for f in s["files"]] for s in shown]
    assert files[0] == files[1] and len(files[0]) > 10
    assert shown[0]["versions"] == shown[1]["versions"]


def test_the_package_and_the_transfer_list(sender: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _export(sender, out, [HOUSEHOLD, UNIT])
    bag = out / HOUSEHOLD
    info = (bag / "bag-info.txt").read_text("utf-8")
    assert "Hsar-Package-Type: hsar-transfer-1.0" in info and f"External-Identifier: {HOUSEHOLD}" in info
    assert "Hsar-Versions: 4" in info
    manifest = (bag / "manifest-sha512.txt").read_text("utf-8")
    for member in ("data/object/v1/content/signature/manifest-sha512.txt.p7s",
                   "data/object/v4/content/metadata/premis/v4.xml", "data/object/v1/content/metadata/checks.json",
                   "data/object/v1/content/metadata/descriptive.xml", "data/object/inventory.json",
                   "data/transfer/premis.xml"):
        assert f"  {member}\n" in manifest, member
    assert all(len(line.split("  ")[0]) == 128 for line in manifest.splitlines())
    premis = etree.parse(str(bag / "data/transfer/premis.xml"))
    types = premis.xpath("//p:eventType/text()", namespaces={"p": "http://www.loc.gov/premis/v3"})
    assert "exporting" in types and "ingestion" in types
    # a plain copy, never a hard link into the store
    stored = next((sender / "storage").rglob("manifest-sha512.txt.p7s"))
    assert stored.stat().st_nlink == 1
    assert all(p.stat().st_nlink == 1 for p in bag.rglob("*") if p.is_file())
    # transfer list: per archive and totals, XML and CSV agree with the packages
    totals = read_xml_totals((out / "transfer-list.xml").read_bytes())
    payload = [sum(p.stat().st_size for p in (out / a.package / "data").rglob("*") if p.is_file())
               for a in result.archives]
    files = [sum(1 for p in (out / a.package / "data").rglob("*") if p.is_file()) for a in result.archives]
    assert totals == {"archives": 2, "versions": 6, "items": sum(a.items for a in result.archives),
                      "files": sum(files), "bytes": sum(payload)}
    entries = etree.parse(str(out / "transfer-list.xml")).findall(f"{{{NAMESPACE}}}archive")
    assert [e.findtext(f"{{{NAMESPACE}}}archiveId") for e in entries] == [HOUSEHOLD, UNIT]
    rows = list(csv.reader(io.StringIO((out / "transfer-list.csv").read_text("utf-8-sig"))))
    assert rows[0][:3] == ["序号", "档案标识", "档号"]
    assert [r[1] for r in rows[1:3]] == [HOUSEHOLD, UNIT]
    assert rows[3][0] == "合计" and int(rows[3][10]) == sum(payload) and int(rows[3][6]) == 6
    # the export is in the sender's audit log, not a new version
    with Repository.open(sender) as repo:
        assert repo.store.head(object_id(HOUSEHOLD)) == "v4"
    log = (sender / "audit" / "log.jsonl").read_text("utf-8")
    assert result.archives[0].export_event in log
    from repository.accounts.register import list_uses
    from repository.config import load
    from repository.state.db import open_state

    with open_state(load(sender).state_url) as state:  # each export is a use in the access register
        uses = [(u.username, u.action, u.archive_id, u.purpose) for u in list_uses(state)]
    assert uses[-2:] == [("console", "export", HOUSEHOLD, "移交"), ("console", "export", UNIT, "移交")]


def test_the_package_premis_validates_against_the_premis_schema(sender: Path, tmp_path: Path) -> None:
    schemas = Path(__file__).resolve().parents[2].parent / "shared" / "schemas"
    if not (schemas / "premis-v3.xsd").is_file():
        pytest.skip(f"PREMIS schema not found in {schemas} (the shared reference folder ../shared is absent)")

    class LocalSchemas(etree.Resolver):
        def resolve(self, url, pubid, context):  # noqa: ANN001, ANN201 - lxml's signature
            name = url.rsplit("/", 1)[-1]
            return self.resolve_filename(str(schemas / name), context) if (schemas / name).is_file() else None

    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(LocalSchemas())
    schema = etree.XMLSchema(etree.parse(str(schemas / "premis-v3.xsd"), parser))
    _export(sender, tmp_path / "out", [UNIT])
    document = etree.parse(str(tmp_path / "out" / UNIT / "data/transfer/premis.xml"))
    assert schema.validate(document), schema.error_log


def _tamper(bag: Path) -> None:
    target = next(p for p in sorted((bag / "data/object").rglob("*.pdf")))
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))


def test_a_tampered_package_is_refused_and_changes_nothing(sender: Path, receiver: Path, tr: Any,
                                                           tmp_path: Path) -> None:
    tr.trusting(receiver, sender)
    out = tmp_path / "out"
    _export(sender, out, [HOUSEHOLD])
    _tamper(out / HOUSEHOLD)
    before = sorted(p.relative_to(receiver / "storage") for p in (receiver / "storage").rglob("*"))
    outcome = _receive(receiver, out / HOUSEHOLD).outcomes[0]
    assert outcome.status == "rejected"
    assert "TRF001" in {i.code for i in outcome.issues}
    assert sorted(p.relative_to(receiver / "storage") for p in (receiver / "storage").rglob("*")) == before
    assert outcome.report and Path(outcome.report).is_file()


def test_a_tampered_package_with_a_rewritten_bag_manifest_is_still_refused(sender: Path, receiver: Path,
                                                                          tr: Any, tmp_path: Path) -> None:
    """The bag can be re-made by whoever changed a file; the inventory digests and the signatures cannot."""
    tr.trusting(receiver, sender)
    out = tmp_path / "out"
    _export(sender, out, [HOUSEHOLD])
    bag = out / HOUSEHOLD
    _tamper(bag)
    _rebag(bag)
    outcome = _receive(receiver, bag).outcomes[0]
    assert outcome.status == "rejected" and "TRF003" in {i.code for i in outcome.issues}


def test_a_changed_inventory_and_content_breaks_the_signature(sender: Path, receiver: Path, tr: Any,
                                                              tmp_path: Path) -> None:
    """Content, inventory and bag all changed consistently: the sender's signed manifest still says no."""
    import hashlib

    from repository.preservation.ocfl_inventory import serialize, sidecar_for

    tr.trusting(receiver, sender)
    out = tmp_path / "out"
    _export(sender, out, [HOUSEHOLD])
    bag = out / HOUSEHOLD
    obj = bag / "data/object"
    inventory = json.loads((obj / "inventory.json").read_bytes())
    digest, paths = next((d, p) for d, p in inventory["manifest"].items() if p[0].endswith(".pdf"))
    target = obj / paths[0]
    target.write_bytes(target.read_bytes() + b"%forged\n")
    new = hashlib.sha512(target.read_bytes()).hexdigest()
    text = serialize(inventory).decode().replace(digest, new)
    (obj / "inventory.json").write_text(text, "utf-8")
    (obj / "inventory.json.sha512").write_bytes(sidecar_for(text.encode())[1])
    _rebag(bag)
    outcome = _receive(receiver, bag).outcomes[0]
    assert outcome.status == "rejected" and "TRF004" in {i.code for i in outcome.issues}


def test_a_foreign_ca_is_refused_by_default(sender: Path, receiver: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _export(sender, out, [UNIT])
    outcome = _receive(receiver, out / UNIT).outcomes[0]
    assert outcome.status == "rejected"
    assert {i.code for i in outcome.issues} == {"TRF005"}
    with Repository.open(receiver) as repo:
        assert not repo.store.exists(object_id(UNIT))


def test_a_foreign_ca_is_flagged_when_the_policy_says_so(sender: Path, receiver: Path, tr: Any,
                                                         tmp_path: Path) -> None:
    tr.set_setting(receiver, "transfer", "untrusted", '"flag"')
    out = tmp_path / "out"
    _export(sender, out, [UNIT])
    outcome = _receive(receiver, out / UNIT).outcomes[0]
    assert outcome.status == "ingested" and outcome.version == "v2"
    assert {i.code for i in outcome.issues} == {"TRF006"}
    assert [i.path for i in outcome.issues] == ["v1", "v2"]
    log = [json.loads(line) for line in (receiver / "audit" / "log.jsonl").read_text("utf-8").splitlines()]
    checks = [e["event"] for e in log if e.get("event", {}).get("type") == "digital signature validation"]
    assert checks and checks[-1]["outcome"] == "warning"
    from repository.services.audit import audit, selection

    with Repository.open(receiver) as repo:  # until the sender's CA is trusted, the audit says so
        run = audit(repo, selection([], [UNIT], repair=False))
    assert not run.ok and "AUD010" in {f.code for a in run.archives for f in a.findings}


def test_a_different_history_of_the_same_archive_is_refused(sender: Path, receiver: Path, tr: Any, demo: Any,
                                                            tmp_path: Path) -> None:
    tr.trusting(receiver, sender)
    first = next(p for p in demo.sips() if p.name.endswith(UNIT))
    assert _receive(receiver, first).outcomes[0].status == "ingested"  # the receiver's own v1 of the unit
    out = tmp_path / "out"
    _export(sender, out, [UNIT])
    outcome = _receive(receiver, out / UNIT).outcomes[0]
    assert outcome.status == "rejected" and {i.code for i in outcome.issues} == {"TRF007"}


def test_an_interrupted_receipt_continues(sender: Path, receiver: Path, tr: Any, tmp_path: Path) -> None:
    """A receiver holding the package's first versions only (a kill between versions) completes them."""
    from repository.preservation.ocfl import SourceFile
    from repository.transfer.receive import receive_transfer

    tr.trusting(receiver, sender)
    out = tmp_path / "out"
    _export(sender, out, [HOUSEHOLD])
    with Repository.open(sender) as src, Repository.open(receiver) as dst:
        oid = object_id(HOUSEHOLD)
        info = src.store.versions(oid)[0]
        files = {p: SourceFile(src.store.content_path(oid, p, "v1"), d, src.store.content_path(oid, p, "v1")
                               .stat().st_size) for p, d in src.store.state(oid, "v1").items()}
        block = src.store.inventory(oid)["versions"]["v1"]
        from datetime import datetime
        dst.store.add_version(oid, files, staging=dst.staging, message=block["message"],
                              user=(block["user"]["name"], block["user"].get("address")),
                              created=datetime.fromisoformat(block["created"].replace("Z", "+00:00")))
        assert info.name == "v1"
        with dst.lock():
            outcome = receive_transfer(dst, out / HOUSEHOLD)
    assert outcome.status == "ingested" and outcome.version == "v4"
    mine, theirs = _facts(sender, HOUSEHOLD), _facts(receiver, HOUSEHOLD)
    for key in ("states", "files", "paper", "inventory", "events"):  # relations: the unit was not sent here
        assert mine[key] == theirs[key], key


def test_only_archivists_and_admins_of_the_division_export(sender: Path, tmp_path: Path) -> None:
    researcher = Principal("r", Role.RESEARCHER, "000000")
    auditor = Principal("a", Role.AUDITOR, "000000")
    with pytest.raises(HsarError) as denied:
        _export(sender, tmp_path / "o1", [HOUSEHOLD], researcher)
    assert denied.value.code == "FORBIDDEN"
    with pytest.raises(HsarError):
        _export(sender, tmp_path / "o2", [HOUSEHOLD], auditor)
    elsewhere = Principal("x", Role.ARCHIVIST, "110000")  # Beijing: the demo city is in Jiangsu
    with pytest.raises(HsarError) as hidden:
        _export(sender, tmp_path / "o3", [HOUSEHOLD], elsewhere)
    assert hidden.value.code == "NOT-FOUND"
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o3").exists()
    mine = Principal("y", Role.ARCHIVIST, "320116")
    assert [a.archive_id for a in _export(sender, tmp_path / "o4", [HOUSEHOLD], mine).archives] == [HOUSEHOLD]


def test_export_refuses_a_folder_that_is_not_empty_and_an_unknown_archive(sender: Path, tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    with pytest.raises(HsarError) as full:
        _export(sender, busy, [HOUSEHOLD])
    assert full.value.code == "TRF-OUT"
    with pytest.raises(HsarError) as unknown:
        _export(sender, tmp_path / "new", ["hh-999999-2000-0001"])
    assert unknown.value.code == "NOT-FOUND" and not (tmp_path / "new").exists()


def test_export_of_a_damaged_store_refuses(sender: Path, tmp_path: Path) -> None:
    with Repository.open(sender) as repo:
        oid = object_id(UNIT)
        stored = repo.store.content_path(oid, "metadata/descriptive.xml", "v1")
    data = stored.read_bytes()
    stored.chmod(0o644)
    stored.write_bytes(data.replace(b"<", b"<", 1) + b"\n")
    with pytest.raises(HsarError) as damaged:
        _export(sender, tmp_path / "out", [UNIT])
    assert damaged.value.code == "TRF-DAMAGED"
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(UNIT)]


def test_cli_export_user_option_and_json(sender: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from repository.cli import cli

    runner = CliRunner()
    denied = runner.invoke(cli, ["--home", str(sender), "--lang", "en", "export", "--user", "nobody", HOUSEHOLD,
                                 str(tmp_path / "o")])
    assert denied.exit_code != 0 and "TRF-USER" in denied.output and "Traceback" not in denied.output
    done = runner.invoke(cli, ["--home", str(sender), "export", "--json", UNIT, str(tmp_path / "o2")])
    assert done.exit_code == 0, done.output
    body = json.loads(done.output)
    assert body["totals"]["archives"] == 1 and body["archives"][0]["versions"] == 2
    shutil.rmtree(tmp_path / "o2")


def _rebag(bag: Path) -> None:
    from repository.bags.write import write_bag

    info = [line.split(": ", 1) for line in (bag / "bag-info.txt").read_text("utf-8").splitlines()]
    for name in ("manifest-sha512.txt", "tagmanifest-sha512.txt", "bag-info.txt"):
        (bag / name).unlink()
    write_bag(bag, {k: v for k, v in info if k not in ("Payload-Oxum", "Bagging-Date")})


@pytest.mark.parametrize("damage", ["manifest-not-a-list", "state-digest-unknown", "path-escapes", "no-created"])
def test_a_hostile_inventory_is_a_finding_not_a_crash(sender: Path, receiver: Path, tr: Any, tmp_path: Path,
                                                      damage: str) -> None:
    from repository.preservation.ocfl_inventory import serialize, sidecar_for

    tr.trusting(receiver, sender)
    out = tmp_path / "out"
    _export(sender, out, [UNIT])
    obj = out / UNIT / "data/object"
    inventory = json.loads((obj / "inventory.json").read_bytes())
    digest = next(iter(inventory["manifest"]))
    if damage == "manifest-not-a-list":
        inventory["manifest"][digest] = 7
    elif damage == "state-digest-unknown":
        inventory["versions"]["v1"]["state"]["0" * 128] = ["data/extra.pdf"]
    elif damage == "path-escapes":
        inventory["versions"]["v1"]["state"][digest] = ["../../escape.pdf"]
    else:
        del inventory["versions"]["v2"]["created"]
    data = serialize(inventory)
    (obj / "inventory.json").write_bytes(data)
    (obj / "inventory.json.sha512").write_bytes(sidecar_for(data)[1])
    _rebag(out / UNIT)
    outcome = _receive(receiver, out / UNIT).outcomes[0]
    assert outcome.status == "rejected" and {i.code for i in outcome.issues} == {"TRF002"}
    with Repository.open(receiver) as repo:
        assert not repo.store.exists(object_id(UNIT))


def test_ingest_of_the_export_folder_receives_every_package(sender: Path, receiver: Path, tr: Any,
                                                            tmp_path: Path) -> None:
    from click.testing import CliRunner

    from repository.cli import cli

    tr.trusting(receiver, sender)
    _export(sender, tmp_path / "out", [UNIT, HOUSEHOLD])
    got = CliRunner().invoke(cli, ["--home", str(receiver), "--lang", "en", "ingest", str(tmp_path / "out")])
    assert got.exit_code == 0, got.output
    assert "2 ingested" in got.output and "transfer-list.csv" in got.output  # the lists: skipped, named


def test_a_zipped_package_is_received_and_a_zip_bomb_refused(sender: Path, receiver: Path, tr: Any,
                                                             tmp_path: Path) -> None:
    """The web's download (a zip holding the package folder) is what ``hsar ingest`` takes as it is."""
    from repository.transfer.bundle import zip_folder

    tr.trusting(receiver, sender)
    _export(sender, tmp_path / "out", [UNIT])
    zipped = zip_folder(tmp_path / "out" / UNIT, tmp_path / f"{UNIT}.zip")
    outcome = _receive(receiver, zipped).outcomes[0]
    assert (outcome.status, outcome.archive_id, outcome.version, outcome.sip) == ("ingested", UNIT, "v2", str(zipped))
    assert _facts(receiver, UNIT)["inventory"] == _facts(sender, UNIT)["inventory"]
    assert not [p for p in (receiver / "staging").iterdir() if p.name.startswith("hsar-sip-")]
    tr.set_setting(receiver, "limits", "max_unpacked_bytes", "1000")
    again = tmp_path / "again.zip"
    shutil.copyfile(zipped, again)
    refused = _receive(receiver, again).outcomes[0]
    assert refused.status == "rejected" and "PKG005" in {i.code for i in refused.issues}
