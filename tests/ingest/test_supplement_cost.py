"""A supplement's cost follows what it adds, and what it writes is what the full work would write.

The supplement writes a PREMIS document of its own additions (``metadata/premis/vN.xml``, the earlier ones carried
by reference: see ``test_premis_per_version``) and the catalogue copies the unchanged files' rows of the version
before in SQL (``CarriedFiles``). These tests pin that the results are the same as the full work's: the
catalogue equals the one ``rebuild-catalog`` makes from storage, also when the rows to carry are missing (then
the version is recorded whole); the format policy of carried rows follows the setting.
"""

from __future__ import annotations

from sqlalchemy import select

from repository.catalog import tables as t
from repository.catalog.rebuild import rebuild
from repository.home import Repository, policy_of
from repository.ingest.pipeline import ingest


def _rows(repo: Repository, archive: str) -> dict[str, object]:
    """Every catalogue row of the archive's versions, files and events, without generated ids."""
    with repo.catalog.transaction() as conn:
        versions = {r.id: r.number for r in conn.execute(select(t.versions.c.id, t.versions.c.number)
                                                            .where(t.versions.c.archive_id == archive))}
        vrows = sorted((r.number, r.file_count, r.bytes, r.sip_name) for r in conn.execute(
            select(t.versions).where(t.versions.c.archive_id == archive)))
        files = sorted(tuple(versions[r.version_id] if k == "version_id" else v for k, v in r._mapping.items()
                             if k != "id") for r in conn.execute(select(t.files).where(t.files.c.archive_id == archive)))
        events = sorted((versions[r.version_id], r.identifier, r.type, r.agent, r.object_path) for r in conn.execute(
            select(t.events).where(t.events.c.archive_id == archive)))
    return {"versions": vrows, "files": files, "events": events}


def _supplemented(demo, repo):
    original, supplement = demo.first_with_supplement()
    outcomes = ingest(repo, [original, supplement])
    assert [(o.status, o.version) for o in outcomes] == [("ingested", "v1"), ("ingested", "v2")]
    return outcomes[0].archive_id


def test_catalogue_rows_after_a_supplement_equal_those_rebuilt_from_storage(demo, repo):
    archive = _supplemented(demo, repo)
    written = _rows(repo, archive)
    v1 = [f for f in written["files"] if f[1] == "v1"]
    v2 = [f for f in written["files"] if f[1] == "v2"]
    assert len(v2) > len(v1) > 0 and {f[2] for f in v1} < {f[2] for f in v2}
    repo.catalog.clear()
    rebuild(repo.catalog, repo.store, policy_of=policy_of(repo.cfg))
    assert _rows(repo, archive) == written


def test_without_the_previous_versions_rows_the_supplement_is_recorded_whole(demo, repo):
    original, supplement = demo.first_with_supplement()
    [first] = ingest(repo, [original])
    with repo.catalog.transaction(write=True) as conn:  # the rows to carry over are gone (a damaged cache)
        conn.execute(t.files.delete().where(t.files.c.archive_id == first.archive_id))
    [second] = ingest(repo, [supplement])
    assert second.status == "ingested"
    v2 = [f for f in _rows(repo, first.archive_id)["files"] if f[1] == "v2"]
    repo.catalog.clear()
    rebuild(repo.catalog, repo.store, policy_of=policy_of(repo.cfg))
    assert [f for f in _rows(repo, first.archive_id)["files"] if f[1] == "v2"] == v2


def test_carried_rows_take_the_format_policy_of_the_current_setting(demo, repo, monkeypatch):
    original, supplement = demo.first_with_supplement()
    [first] = ingest(repo, [original])
    with repo.catalog.transaction(write=True) as conn:  # as if the policy setting had changed since v1
        conn.execute(t.files.update().where(t.files.c.archive_id == first.archive_id).values(policy="stale"))
    ingest(repo, [supplement])
    rows = _rows(repo, first.archive_id)["files"]
    columns = [c.name for c in t.files.columns if c.name != "id"]
    policies = {f[columns.index("policy")] for f in rows if f[1] == "v2"}
    assert "stale" not in policies
    assert {f[columns.index("policy")] for f in rows if f[1] == "v1"} == {"stale"}
