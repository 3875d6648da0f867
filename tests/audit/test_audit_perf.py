"""The audit on stores of many small archives: what each run validates once, and what it never does twice."""

from __future__ import annotations

from datetime import UTC, datetime

from repository.audit import shards
from repository.audit.run import Selection, audit
from repository.preservation import cms_verify

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def test_shard_workers_inherit_the_signer_path_validated_once_per_run(repo, monkeypatch, tmp_path):
    """Each worker would validate the signer's path again; the parent validates it before they fork."""
    calls = tmp_path / "path-validations"
    real = cms_verify._validate_path

    def counted(*args, **kwargs):
        with open(calls, "a") as handle:  # the forked workers append here too
            handle.write("x")
        return real(*args, **kwargs)

    monkeypatch.setattr(cms_verify, "_validate_path", counted)
    monkeypatch.setattr(shards, "SHARD_MIN", 1)
    monkeypatch.setattr(shards, "SHARD_SIZE", 1)
    cms_verify._PATHS.clear()
    run = audit(repo, Selection("all", repair=False), now=NOW)
    assert run.ok and len(run.archives) == 2
    assert all(a.signature_ok for a in run.archives)
    assert calls.read_text() == "x"


def _configure(home, **audit_settings):
    lines = ["[storage]", "replicas = []", "[audit]"] + [f"{k} = {v}" for k, v in audit_settings.items()]
    (home / "hsar.toml").write_text("\n".join(lines) + "\n", "utf-8")
    from repository.home import Repository

    return Repository.open(home)


def test_a_report_lists_the_first_findings_of_an_archive_and_counts_the_rest(home):
    import json
    from pathlib import Path

    from repository.audit.report import FINDINGS_PER_ARCHIVE
    from repository.audit.run import run_audit

    repo = _configure(home)
    content = repo.store.object_root("urn:hsar:archive:HH-001") / "v1" / "content" / "data"
    for n in range(FINDINGS_PER_ARCHIVE + 20):
        (content / f"stray-{n:03d}.bin").write_bytes(b"not in the inventory")
    run = run_audit(repo, Selection("archive", ("HH-001",), repair=False), now=NOW, alert=False)
    assert len(run.archives[0].findings) >= FINDINGS_PER_ARCHIVE + 20  # the result itself keeps every one
    report = json.loads(Path(run.reports[0]).read_text("utf-8"))
    (archive,) = report["archives"]
    total = len(run.archives[0].findings)
    assert len(archive["findings"]) == FINDINGS_PER_ARCHIVE
    assert archive["findings_total"] == total and archive["findings_omitted"] == total - FINDINGS_PER_ARCHIVE
    page = Path(run.reports[1]).read_text("utf-8")
    assert page.count("<tr><td><code>") == FINDINGS_PER_ARCHIVE * 2  # once in the Chinese part, once in the English
    assert f"and {total - FINDINGS_PER_ARCHIVE} more findings" in page
    repo.close()


def test_an_inventory_over_the_limit_is_not_parsed_nor_repaired(home):
    repo = _configure(home, max_inventory_bytes=1024)
    root = repo.store.object_root("urn:hsar:archive:HH-001")
    before = (root / "inventory.json").read_bytes()
    assert len(before) > 1024
    run = audit(repo, Selection("archive", ("HH-001",)), now=NOW)
    (result,) = run.archives
    oversized = [f for f in result.findings if f.code == "AUD040"]
    assert oversized and oversized[0].issue.path == "inventory.json" and result.result == "failed"
    assert dict(oversized[0].issue.params)["size"] == str(len(before))
    assert (root / "inventory.json").read_bytes() == before and not result.repairs
    repo.close()


def _deep_tree(top, depth: int) -> None:
    """``top/d/d/…/d/leaf.bin``, ``depth`` levels, made with directory descriptors (no path grows too long)."""
    import os

    fd = os.open(top, os.O_RDONLY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        below = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = below
    leaf = os.open("leaf.bin", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd)
    os.close(leaf)
    os.close(fd)


def _remove_deep(top) -> None:
    import os

    fds = [os.open(top, os.O_RDONLY)]
    while True:  # down
        try:
            fds.append(os.open("d", os.O_RDONLY, dir_fd=fds[-1]))
        except FileNotFoundError:
            break
    os.unlink("leaf.bin", dir_fd=fds[-1])
    while len(fds) > 1:  # up
        os.close(fds.pop())
        os.rmdir("d", dir_fd=fds[-1])
    os.close(fds[0])


def test_a_tree_2000_deep_is_scanned_without_recursion(home):
    repo = _configure(home)
    in_object = repo.store.object_root("urn:hsar:archive:HH-001") / "v1" / "content"
    in_root = repo.store.root / "zz-deep"
    in_root.mkdir()
    _deep_tree(in_object, 2000)
    _deep_tree(in_root, 2000)
    try:
        run = audit(repo, Selection("all", repair=False), now=NOW)
        assert {a.archive_id for a in run.archives} == {"HH-001", "HH-002"}
        hh1 = next(a for a in run.archives if a.archive_id == "HH-001")
        assert hh1.result == "failed" and any("v1/content/d/d/d" in f.issue.path for f in hh1.findings)
        assert any(i.code == "AUD028" and "zz-deep" in i.path for i in run.issues)
    finally:
        _remove_deep(in_object)
        _remove_deep(in_root)
        repo.close()


def test_known_heads_reads_an_index_not_the_audits_table(repo):
    from repository.catalog.audits import audited_versions, known_heads

    catalog = repo.create_catalog()
    audit(repo, Selection("all", repair=False), now=NOW)
    assert known_heads(catalog) == {"HH-001": 2, "HH-002": 1}  # the heads the audit verified
    with catalog.transaction() as conn:
        sql = str(audited_versions().compile(conn))
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    assert "COVERING INDEX ix_audits_archive_id_version" in plan, plan
