"""A supplement's catalogue record and store reads cost what the supplement adds, with the same results.

The record of a supplement takes its new objects and events from the version's own PREMIS document
(``metadata/premis/vN.xml``) and reads neither the earlier versions' documents nor their event ids; the store uses the inventory it has just written without parsing it again; listing
versions builds no state. Each is checked against the long way round.
"""

from __future__ import annotations

import json

from repository.catalog import rebuild as catalog_rebuild
from repository.catalog.rebuild import rebuild
from repository.home import policy_of
from repository.ingest.pipeline import ingest
from repository.preservation import ocfl_inventory, ocfl_versions
from repository.preservation.ids import object_id
from repository.preservation.ocfl_inventory import INVENTORY, load_inventory

from .test_supplement_cost import _rows


def test_a_supplements_record_reads_no_earlier_premis_and_equals_the_rebuilt_one(demo, repo, monkeypatch):
    original, supplement = demo.first_with_supplement()
    [first] = ingest(repo, [original])

    def refuse(*args, **kwargs):
        raise AssertionError("an earlier PREMIS document was read for the record")

    with monkeypatch.context() as m:
        m.setattr(catalog_rebuild._ObjectReader, "_premis", refuse)
        m.setattr(catalog_rebuild._ObjectReader, "_event_ids", refuse)
        m.setattr(catalog_rebuild._ObjectReader, "_current", refuse)
        [second] = ingest(repo, [supplement])
    assert second.status == "ingested" and second.version == "v2"
    written = _rows(repo, first.archive_id)
    assert [e for e in written["events"] if e[0] == "v2"]  # the new version's events are recorded
    repo.catalog.clear()
    rebuild(repo.catalog, repo.store, policy_of=policy_of(repo.cfg))
    assert _rows(repo, first.archive_id) == written


def test_the_inventory_just_written_is_not_parsed_again_and_listing_versions_builds_no_state(demo, repo,
                                                                                            monkeypatch):
    original, supplement = demo.first_with_supplement()
    [first, second] = ingest(repo, [original, supplement])
    oid = object_id(first.archive_id)
    path = repo.store.object_root(oid) / INVENTORY
    loads, states = [], []
    load, state = ocfl_inventory.load_inventory, ocfl_inventory.logical_state
    monkeypatch.setattr(ocfl_versions, "load_inventory", lambda p: loads.append(p) or load(p))
    monkeypatch.setattr(ocfl_versions, "logical_state", lambda *a: states.append(a[1:]) or state(*a))
    held = repo.store.inventory(oid)
    assert loads == []  # the dict the store wrote last, used as read
    assert held == json.loads(path.read_bytes()) == load_inventory(path)
    versions = repo.store.versions(oid)
    assert [v.name for v in versions] == ["v1", "v2"] and states == []
    assert dict(versions[1].state) == state(held, "v2") and states == [("v2",)]
    assert len(versions[0].state) < len(versions[1].state) and "metadata/premis/v1.xml" in versions[0].state
    path.write_bytes(path.read_bytes())  # the file replaced (same bytes, another write): read from disk again
    assert repo.store.inventory(oid) == held and loads == [path]


def test_the_larger_page_cache_is_the_carrying_statements_alone():
    from sqlalchemy import create_engine

    from repository.catalog.write import CARRY_CACHE_KIB, _page_cache

    with create_engine("sqlite://").connect() as conn:
        conn.exec_driver_sql("PRAGMA cache_size=-1234")
        with _page_cache(conn):
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -CARRY_CACHE_KIB
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -1234
        try:
            with _page_cache(conn):
                raise KeyError("a failed statement")
        except KeyError:
            pass
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -1234
