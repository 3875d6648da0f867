"""``hsar scan-review list|propose``: the reviews of scans' researchers' copies, and asking for an archive's proposals
from the shell (repository/cli/scans.py): text and ``--json`` (valid against docs/schemas/), the acting user's
right and scope. The ``scan-proposal`` jobs are queued and looked at, never run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from repository.accounts import scanreviews
from repository.accounts.securitylog import SYSTEM
from repository.accounts.users import add_user
from repository.cli import cli
from repository.config import load
from repository.dip.people import people
from repository.dip.research import copy_kind
from repository.dip.scans import ScanState
from repository.home import Repository
from repository.jobs import JobQueue
from repository.jobs.proposals import dedupe_key
from repository.state.db import open_state

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
USERS = {"jianye": ("archivist", "320105"), "xuanwu": ("archivist", "320102"), "reader": ("researcher", "320100")}


@pytest.fixture
def scan_home(ingested_home: Path, tmp_path: Path) -> tuple[Path, str, list[tuple[str, str]]]:
    """A copy of the ingested demo home with accounts; an open unit archive in 320105 and its scans (path, key)."""
    home = tmp_path / "home"
    shutil.copytree(ingested_home, home, symlinks=True)
    with open_state(load(home).state_url) as state:
        for name, (role, division) in USERS.items():
            add_user(state, name, role, division, password="correct horse battery staple")
    with Repository.open(home) as repo:
        archive_id = sorted(i for i in repo.catalog.archive_ids()
                            if repo.catalog.show(i).archive.division.startswith("320105"))[0]
        view = repo.catalog.show(archive_id)
        known = people(repo, view)
        scans = sorted((f.path, repo.research_copies.names_key(f.sha512, known))
                       for f in view.files if copy_kind(f.path) == "text")
    assert len(scans) >= 2
    return home, archive_id, scans


def _run(home: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, ["--home", str(home), *args])
    assert result.exit_code == code, result.output
    return result.output


def _checked(name: str, output: str) -> dict:
    data = json.loads(output)
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text("utf-8"))
    jsonschema.validate(data, schema, format_checker=jsonschema.FormatChecker())
    assert data["schema"] == f"hsar/{name}/1" and data["ok"] is True
    return data["result"]


def _jobs(home: Path) -> list:
    with JobQueue.open(home) as queue:
        return queue.list(kind="scan-proposal", limit=500)


def test_propose_queues_each_scan_without_a_proposal_once(scan_home: tuple[Path, str, list[tuple[str, str]]]) -> None:
    home, archive_id, scans = scan_home
    (first, first_key), (second, second_key) = scans[:2]
    with Repository.open(home) as repo, open_state(load(home).state_url) as state:
        view = repo.catalog.show(archive_id)
        sha = next(f.sha512 for f in view.files if f.path == first)
        scanreviews.record_proposal(state, archive_id, first, view.archive.division, sha, first_key,
                                    [{"page": 1, "size": [400, 300], "boxes": [[1, 1, 9, 9]]}])
    done = _checked("scan-review-propose", _run(home, "scan-review", "propose", archive_id, "--user", "jianye",
                                                "--json"))
    others = [p for p, _k in scans if p != first]
    assert done["queued"] == len(others) and done["already"] == 0
    assert done["counts"] == {"none": len(others), "pending": 1, "approved": 0, "rejected": 0}
    jobs = _jobs(home)
    assert sorted((j.params["path"], j.username) for j in jobs) == [(p, "jianye") for p in sorted(others)]
    keyed = {j.params["path"]: j.dedupe_key for j in jobs}
    assert keyed[second] == dedupe_key(ScanState(archive_id, second, second_key, None))  # the web's key
    text = _run(home, "--lang", "en", "scan-review", "propose", archive_id)  # the shell's operator: the same jobs
    assert f"archive {archive_id}: {len(scans)} scans" in text and f"queued 0 proposal jobs, {len(others)} queued" \
        in text
    assert len(_jobs(home)) == len(others)
    assert "已排入 0 个遮盖建议作业" in _run(home, "scan-review", "propose", archive_id, "--user", "jianye")


def test_propose_checks_the_user_and_the_scope(scan_home: tuple[Path, str, list[tuple[str, str]]]) -> None:
    home, archive_id, _scans = scan_home
    assert "[NOT-FOUND]" in _run(home, "scan-review", "propose", archive_id, "--user", "xuanwu", code=1)
    for name in ("reader", "nobody"):
        assert "[SCAN-USER]" in _run(home, "scan-review", "propose", archive_id, "--user", name, code=1)
    assert "[NOT-FOUND]" in _run(home, "scan-review", "propose", "hh-000000-0000-0000", code=1)
    assert _jobs(home) == []


def test_list_shows_the_reviews_by_state_archive_and_scope(scan_home: tuple[Path, str, list[tuple[str, str]]]) -> None:
    home, archive_id, scans = scan_home
    (first, first_key), (second, second_key) = scans[:2]
    with Repository.open(home) as repo, open_state(load(home).state_url) as state:
        view = repo.catalog.show(archive_id)
        made = [scanreviews.record_proposal(state, archive_id, path, view.archive.division,
                                            next(f.sha512 for f in view.files if f.path == path), key,
                                            [{"page": 1, "size": [400, 300], "boxes": [[1, 1, 9, 9], [20, 20, 30, 30]]}])
                for path, key in ((first, first_key), (second, second_key))]
        scanreviews.decide(state, made[1].id, False, None, SYSTEM)
    listed = _checked("scan-review-list", _run(home, "scan-review", "list", "--json"))
    assert [(r["review"], r["path"], r["state"], r["boxes"]) for r in listed["reviews"]] == [
        (made[0].id, first, "pending", 2)]
    rejected = _checked("scan-review-list", _run(home, "scan-review", "list", "--state", "rejected", "--archive",
                                                 archive_id, "--user", "jianye", "--json"))
    assert [(r["review"], r["state"], r["decided_by"]) for r in rejected["reviews"]] == [
        (made[1].id, "rejected", SYSTEM.username)]
    assert _checked("scan-review-list", _run(home, "scan-review", "list", "--user", "xuanwu", "--json"))["reviews"] \
        == []  # outside the scope: nothing
    assert _checked("scan-review-list", _run(home, "scan-review", "list", "--archive", "other", "--json"))[
        "reviews"] == []
    text = _run(home, "scan-review", "list")
    assert f"{made[0].id}  待审核  {archive_id}  {first}  1 页  建议遮盖框 2" in text
    assert "decided by" in _run(home, "--lang", "en", "scan-review", "list", "--state", "rejected")
    assert "没有符合条件的扫描件审核" in _run(home, "scan-review", "list", "--state", "approved")
    assert "[USAGE]" in _run(home, "scan-review", "list", "--state", "superseded", code=2)


def test_the_help_says_what_the_commands_do() -> None:
    runner = CliRunner()
    assert "扫描件开放审核" in runner.invoke(cli, ["scan-review", "--help"]).output
    assert "scan-proposal job" in runner.invoke(cli, ["scan-review", "propose", "--help"]).output
    assert "--state" in runner.invoke(cli, ["scan-review", "list", "--help"]).output
