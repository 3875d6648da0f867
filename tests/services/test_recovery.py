"""``hsar show``, ``search`` and ``reindex`` recover what a half-finished ingest left before they read
(or, for reindex, refuse with ING-BUSY while an ingest holds the home lock)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from repository.cli import cli
from repository.home import Repository


def _hsar(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--home", str(home), "--lang", "en", *args])
    return result.exit_code, result.output


@pytest.fixture
def stopped(demo, home: Path, half_ingest) -> tuple[Path, str]:  # noqa: ANN001
    """A home whose first archive is stored but neither catalogued nor indexed; its id."""
    sip = demo.sips()[0]
    half_ingest(home, sip, "catalogue")
    with Repository.open(home) as repo:
        assert repo.paths.intents() and repo.catalog.archive_ids() == []
    return home, demo.entry(sip)["archive"]


def test_show_recovers_first(stopped: tuple[Path, str], ih) -> None:  # noqa: ANN001
    home, archive_id = stopped
    code, out = _hsar(home, "show", archive_id, "--json")
    assert code == 0, out
    assert json.loads(out)["identifier"] == archive_id
    assert ih.staging_leftovers(home) == []


def test_search_recovers_first(demo, home: Path, ih, half_ingest) -> None:  # noqa: ANN001
    sip = demo.sips()[0]
    half_ingest(home, sip, "index")  # catalogued, not indexed
    archive_id = demo.entry(sip)["archive"]
    code, out = _hsar(home, "search", archive_id, "--json")
    assert code == 0, out
    assert [h["archive_id"] for h in json.loads(out)["hits"]] == [archive_id]
    assert ih.staging_leftovers(home) == []


def test_reindex_recovers_first(stopped: tuple[Path, str], ih) -> None:  # noqa: ANN001
    home, archive_id = stopped
    code, out = _hsar(home, "reindex")
    assert code == 0 and "reindexed 1 archives" in out, out
    assert ih.staging_leftovers(home) == []
    with Repository.open(home) as repo:
        assert repo.catalog.archive_ids() == [archive_id]  # recovery catalogued it; reindex only indexes


def test_while_an_ingest_holds_the_lock_reindex_refuses_and_show_reads_without_waiting(
        stopped: tuple[Path, str]) -> None:
    home, archive_id = stopped
    with Repository.open(home) as ingesting, ingesting.lock():
        code, out = _hsar(home, "reindex")
        assert code == 75 and "[ING-BUSY]" in out, out
        code, out = _hsar(home, "show", archive_id)
        assert code == 1 and "[NOT-FOUND]" in out  # the running ingest's leftovers are its own business
        assert ingesting.paths.intents()
    code, out = _hsar(home, "show", archive_id)
    assert code == 0, out
