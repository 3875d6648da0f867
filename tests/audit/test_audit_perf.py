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
