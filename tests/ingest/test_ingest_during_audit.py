"""An audit while an ingest is committing: the version being moved into the object (``vN/`` in place, the
inventory not yet replaced) is never judged as damage, quarantined or repaired (AUD030), and the ingest then
completes."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

from repository.audit.run import audit
from repository.audit.select import Selection
from repository.home import Repository
from repository.ingest.pipeline import ingest
from repository.preservation import ocfl


def test_an_audit_leaves_a_version_being_committed_alone(demo, home: Path, monkeypatch) -> None:
    original, supplement = demo.first_with_supplement()
    with Repository.open(home) as repo:
        assert ingest(repo, [original])[0].status == "ingested"
    moved, go_on = threading.Event(), threading.Event()

    def slow_disk(step: str) -> None:
        if step == "version-moved":  # v2/ is in the object; inventory.json still says v1
            moved.set()
            assert go_on.wait(60)

    monkeypatch.setattr(ocfl, "_STEP_HOOK", slow_disk)
    outcome: list[str] = []

    def ingesting() -> None:
        with Repository.open(home) as repo:
            outcome.extend(o.status for o in ingest(repo, [supplement]))

    writer = threading.Thread(target=ingesting)
    writer.start()
    try:
        assert moved.wait(120), "the ingest never reached the commit"
        with Repository.open(home) as repo:
            run = audit(repo, Selection("all", repair=True), now=datetime.now(UTC))
    finally:
        go_on.set()
        writer.join(120)
    codes = {f.issue.code for a in run.archives for f in a.findings}
    assert "AUD030" in codes and not codes & {"AUD009", "AUD024"}, codes
    assert not any(r for a in run.archives for r in a.repairs)
    assert not (home / "quarantine").exists() or not any((home / "quarantine").rglob("*"))
    assert outcome == ["ingested"]
    monkeypatch.setattr(ocfl, "_STEP_HOOK", None)
    with Repository.open(home) as repo:
        again = audit(repo, Selection("all", repair=False), now=datetime.now(UTC))
    assert again.ok and all(a.result == "intact" for a in again.archives), json.dumps(again.summary("en"))
