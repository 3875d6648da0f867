"""A PREMIS document per version: each version stores what it added alone (``metadata/premis/vN.xml``), the
earlier documents stay in its state by reference, and every reader merges them (``premis_history``). Objects
written before (one cumulative ``metadata/premis.xml`` per version, see :mod:`.legacy_premis`) keep working:
a supplement to one adds only its own document, and the catalogue, the audit, ``show`` and the transfer export
agree before and after it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from repository.audit.run import Selection, run_audit
from repository.catalog.rebuild import rebuild
from repository.home import Repository, policy_of
from repository.ingest.pipeline import ingest
from repository.preservation.aip_layout import PREMIS_CUMULATIVE, is_premis, premis_path
from repository.preservation.ids import object_id
from repository.preservation.premis_history import described, read_history
from repository.preservation.premis_read import parse_premis
from repository.services.transfer import CONSOLE, export

from .legacy_premis import cumulative_premis
from .test_supplement_cost import _rows

HOUSEHOLD = "hh-320116-2021-0001"  # v1 and three supplements in the demo


def _sips(demo, archive: str = HOUSEHOLD) -> list[Path]:
    entries = sorted((e for e in demo.entries if e["archive"] == archive and e["kind"] != "defect"),
                     key=lambda e: e["version"])
    return [demo.root / e["path"] for e in entries]


def _doc(repo: Repository, oid: str, path: str, version: str) -> bytes:
    return repo.store.content_path(oid, path, version).read_bytes()


def test_a_supplement_stores_only_what_it_added(demo, repo, ih):
    outcomes = ingest(repo, _sips(demo)[:3])
    assert [o.version for o in outcomes] == ["v1", "v2", "v3"]
    oid, store, schema = object_id(HOUSEHOLD), repo.store, ih.premis_schema()
    before, state = store.state(oid, "v2"), store.state(oid, "v3")
    assert PREMIS_CUMULATIVE not in state
    assert [p for p in sorted(state) if is_premis(p)] == [premis_path(v) for v in ("v1", "v2", "v3")]
    for version in ("v1", "v2"):  # earlier documents are carried by reference: one stored copy each
        assert state[premis_path(version)] == before[premis_path(version)]
        where = store.content_path(oid, premis_path(version), "v3").relative_to(store.object_root(oid))
        assert where.parts[0] == version
    own = _doc(repo, oid, premis_path("v3"), "v3")
    schema.assertValid(etree.fromstring(own))
    objects, events, agents = parse_premis(own)
    changed = sorted(p for p in state if described(p) and before.get(p) != state[p])
    assert [o.identifier for o in objects] == changed  # no object of an unchanged file: no earlier object
    assert all(o.sha512 == state[o.identifier] for o in objects)
    unchanged = {p for p in state if described(p) and before.get(p) == state[p]}
    assert len(unchanged) > len(changed) // 2 and not unchanged & {o.identifier for o in objects}
    earlier = {e.identifier for v in ("v1", "v2") for e in parse_premis(_doc(repo, oid, premis_path(v), v))[1]}
    assert events and not earlier & {e.identifier for e in events}
    assert [e.type for e in events].count("ingestion") == 1
    assert {a.identifier for a in agents} == {link.identifier for e in events for link in e.agents}


def test_the_own_document_does_not_grow_with_the_archive(demo, repo):
    ingest(repo, _sips(demo))
    oid = object_id(HOUSEHOLD)
    sizes = [len(_doc(repo, oid, premis_path(f"v{n}"), f"v{n}")) for n in (2, 3, 4)]
    history, state = read_history(repo.store, oid)
    whole = len(history.to_xml(state))
    assert max(sizes) < whole / 2  # each supplement's own document is a part of the history, not all of it


def test_the_merged_history_is_what_the_cumulative_document_held(demo, repo, ih):
    ingest(repo, _sips(demo))
    oid, store, schema = object_id(HOUSEHOLD), repo.store, ih.premis_schema()
    own = [parse_premis(_doc(repo, oid, premis_path(f"v{n}"), f"v{n}")) for n in (1, 2, 3, 4)]
    for n in (1, 2, 3, 4):
        history, state = read_history(store, oid, f"v{n}")
        merged = history.to_xml(state)
        schema.assertValid(etree.fromstring(merged))
        objects, events, agents = parse_premis(merged)
        assert [o.identifier for o in objects] == sorted(p for p in state if described(p))
        digests = store.state(oid, f"v{n}")
        assert all(o.sha512 == digests[o.identifier] for o in objects)  # a replaced file has its newer object
        assert events == [e for doc in own[:n] for e in doc[1]]
        assert {a.identifier for a in agents} == {a.identifier for doc in own[:n] for a in doc[2]}


def _mixed(demo, repo, monkeypatch) -> tuple[str, dict[str, object]]:
    """The household's v1 and v2 written the old way, then its v3 and v4 the new way; the catalogue rows after
    the old versions."""
    sips = _sips(demo)
    with cumulative_premis(monkeypatch):
        assert [o.version for o in ingest(repo, sips[:2])] == ["v1", "v2"]
    oid = object_id(HOUSEHOLD)
    assert PREMIS_CUMULATIVE in repo.store.state(oid, "v2") and premis_path("v2") not in repo.store.state(oid, "v2")
    return oid, _rows(repo, HOUSEHOLD)


def test_a_supplement_to_an_object_of_cumulative_documents_adds_only_its_own(demo, repo, monkeypatch, ih):
    oid, _ = _mixed(demo, repo, monkeypatch)
    store = repo.store
    cumulative = _doc(repo, oid, PREMIS_CUMULATIVE, "v2")
    old_history, old_state = read_history(store, oid, "v2")
    assert old_history.to_xml(old_state) == cumulative  # the cumulative document is the history up to v2
    assert [o.version for o in ingest(repo, _sips(demo)[2:])] == ["v3", "v4"]
    state = store.state(oid, "v4")
    assert [p for p in sorted(state) if is_premis(p)] == [PREMIS_CUMULATIVE, premis_path("v3"), premis_path("v4")]
    assert state[PREMIS_CUMULATIVE] == store.state(oid, "v2")[PREMIS_CUMULATIVE]  # not rewritten, not copied
    where = store.content_path(oid, PREMIS_CUMULATIVE, "v4").relative_to(store.object_root(oid))
    assert where.parts[0] == "v2"
    old_objects, old_events, _ = parse_premis(cumulative)
    history, names = read_history(store, oid, "v4")
    merged = history.to_xml(names)
    ih.premis_schema().assertValid(etree.fromstring(merged))
    objects, events, _ = parse_premis(merged)
    assert [o.identifier for o in objects] == sorted(p for p in state if described(p))
    assert all(o.sha512 == state[o.identifier] for o in objects)
    kept = [o for o in old_objects if state.get(o.identifier) == o.sha512]
    assert kept and set(kept) <= set(objects)  # unchanged files keep their objects of the old document
    newer = [parse_premis(_doc(repo, oid, premis_path(v), v))[1] for v in ("v3", "v4")]
    assert events == old_events + newer[0] + newer[1]


def _intact(repo: Repository) -> None:
    run = run_audit(repo, Selection("archive", (HOUSEHOLD,)), now=datetime.now(UTC))
    assert run.ok and [a.result for a in run.archives] == ["intact"] and not run.archives[0].findings


def test_catalogue_audit_show_and_export_agree_on_a_store_of_old_and_new_versions(demo, repo, monkeypatch,
                                                                                   tmp_path, ih):
    oid, old_rows = _mixed(demo, repo, monkeypatch)
    _intact(repo)  # the audit's events go to the catalogue: the rows to compare are those before
    policies = policy_of(repo.cfg)
    repo.catalog.clear()
    rebuild(repo.catalog, repo.store, policy_of=policies)
    assert _rows(repo, HOUSEHOLD) == old_rows  # before the new supplements
    ingest(repo, _sips(demo)[2:])
    written = _rows(repo, HOUSEHOLD)
    assert [e for e in written["events"] if e[0] == "v4"] and len(written["versions"]) == 4
    view = ih.normalized_view(repo.catalog.show(HOUSEHOLD))
    repo.catalog.clear()
    rebuild(repo.catalog, repo.store, policy_of=policies)
    assert _rows(repo, HOUSEHOLD) == written  # the catalogue rebuilt from old and new versions alike
    assert ih.normalized_view(repo.catalog.show(HOUSEHOLD)) == view
    events = {e[1] for e in written["events"]}
    for n in (1, 2, 3, 4):  # every version's events are its own, each recorded once
        ids = {e[1] for e in written["events"] if e[0] == f"v{n}"}
        assert ids and ids <= events
    assert len(events) == len(written["events"])
    _intact(repo)
    result = export(repo, CONSOLE, [HOUSEHOLD], tmp_path / "out")
    package = etree.parse(str(tmp_path / "out" / result.archives[0].package / "data/transfer/premis.xml"))
    ih.premis_schema().assertValid(package)
    history, state = read_history(repo.store, oid)
    objects, merged_events, _ = parse_premis(etree.tostring(package))
    assert objects == history.objects(state)
    assert [e.identifier for e in merged_events] == [e.identifier for e in history.events] + [
        result.archives[0].export_event]
