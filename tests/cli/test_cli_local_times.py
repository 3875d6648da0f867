"""Times a person reads on the command line are Beijing time with the offset (``2026-12-06 18:54:03 +08:00``),
formatted by the one formatter the pages use (:func:`repository.messages.local_time`, :func:`~repository.messages.local_stamp`); ``hsar show`` and
``hsar audit log`` printed UTC with ``Z``. JSON keeps ISO 8601 with its offset."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

from click.testing import CliRunner

from repository.cli import cli
from repository.home import Repository
from repository.messages import local_stamp, local_time

BEIJING = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+08:00")


def hsar(home: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--home", str(home), *args], prog_name="hsar")
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    return result.output


def test_the_one_formatter_shows_beijing_time() -> None:
    assert local_time("2026-01-01T16:30:00+00:00") == "2026-01-02 00:30"  # the pages
    assert local_time(datetime(2026, 1, 1, 16, 30, 5, tzinfo=UTC), True, offset=True) == "2026-01-02 00:30:05 +08:00"
    assert local_time(datetime(2026, 1, 1, 16, 30), offset=True) == "2026-01-02 00:30 +08:00"  # naive: UTC
    assert local_stamp("2026-01-01T16:30:05Z") == "2026-01-02 00:30:05 +08:00"  # the command line's form
    assert local_time("2026-01-01T16:30:00Z", True) == "2026-01-02 00:30:00"
    assert local_time(date(2026, 1, 2)) == "2026-01-02" and local_time(None) == "" and local_time("?") == "?"


def test_show_and_the_audit_log_print_beijing_time(ingested_home: Path, tmp_path: Path) -> None:
    home = Path(shutil.copytree(ingested_home, tmp_path / "home", symlinks=True))
    with Repository.open(home) as repo:
        archive_id = next(iter(repo.catalog.archive_ids()))
    view = json.loads(hsar(home, "show", archive_id, "--json"))
    created = datetime.fromisoformat(view["versions"][0]["created"])  # JSON: ISO 8601 with its offset
    assert created.utcoffset() is not None
    shown = hsar(home, "show", archive_id)
    assert f" {local_stamp(created)} " in shown
    times = [line for line in shown.splitlines() if BEIJING.search(line)]
    assert len(times) >= 2 and not re.search(r"\d\d:\d\d:\d\dZ", shown)  # versions and events
    hsar(home, "audit", "--all")
    tail = hsar(home, "audit", "log", "--tail", "3").splitlines()
    assert tail and all(BEIJING.search(line) for line in tail), tail
    assert not any(re.search(r"\d\d:\d\d(:\d\d(\.\d+)?)?(Z|\+00:00)", line) for line in tail), tail
    raw = json.loads(hsar(home, "audit", "log", "--tail", "1", "--json").splitlines()[0])
    assert datetime.fromisoformat(raw["event"]["datetime"]).utcoffset() is not None
