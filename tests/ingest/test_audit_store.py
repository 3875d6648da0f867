"""The audit over a really ingested store, whose catalogue knows every archive."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

from repository.home import Repository
from repository.preservation.audit import Selection, audit
from repository.preservation.ids import archive_key

from .conftest import copy_home

NOW = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def test_an_archive_gone_from_every_copy_is_still_audited_and_failed(ingested_home, tmp_path):
    home = copy_home(ingested_home, tmp_path / "home")
    with Repository.open(home) as repo:
        held = sorted(repo.store.iter_object_ids())
        lost = held[len(held) // 2]
        shutil.rmtree(repo.store.object_root(lost))  # only the catalogue remembers it now
        run = audit(repo, Selection("all"), now=NOW)
    by_id = {a.object_id: a for a in run.archives}
    assert set(by_id) == set(held) and run.selected == len(held)
    assert by_id[lost].result == "failed" and "AUD001" in {f.code for f in by_id[lost].findings}
    assert all(a.result == "intact" for oid, a in by_id.items() if oid != lost)
    assert archive_key(lost) in {a.archive_id for a in run.archives}
