"""The register's own values in a finding and the division scope: the paper register is typed by the paper
office, so the archive identifier or 档号 a row gives may name an archive of another division than the item it
matches. A reader below the national scope is never told of an archive outside their scope: PAP108 prints the
row's values only to a scope that covers every archive they name (a value naming no catalogued archive only to
the national scope, so that what is withheld confirms nothing), on the page, its CSV, the API and the command
line alike; a finding's archive column is the one the catalogue matched, never the one typed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from repository.accounts.tokens import create_token
from repository.cli import cli
from repository.config import load as load_config
from repository.demo.paper import register_csv, register_of
from repository.home import Repository
from repository.paper.reconcile import Electronic, match, reconcile
from repository.services import paper
from repository.state.db import open_state
from repository.state.paper import RegisterRow


def _item(archive_id: str, division: str, number: int, volume: str = "2019-0001") -> Electronic:
    return Electronic(archive_id, division, "J001", f"J001-{archive_id}", number, 3, "1", volume, number, "H-1",
                      "1/1/1/1")


def _row(item: int, archive_id: str | None, reference_code: str | None = None, line: int = 2,
         volume: str = "2019-0001") -> RegisterRow:
    return RegisterRow("J001", "1", volume, item, 3, "H-1", "1/1/1/1", reference_code, archive_id, line)


def test_a_register_value_naming_another_divisions_archive_is_withheld_below_its_scope() -> None:
    mine, other = _item("hh-320105-a", "320105007", 1), _item("hh-320102-b", "320102008", 1, "2019-0002")
    found = reconcile(match([_row(1, other.archive_id)], [mine, other]), lambda _e: None)
    (typed,) = [f for f in found if f.code == "PAP108"]
    assert typed.division == "320105007" and typed.archive_id == mine.archive_id
    assert other.archive_id in typed.message("zh") and other.archive_id in typed.message("en")
    for reader in (["320105"], ["320105007"]):  # the district, its street
        seen = typed.seen_from(reader)
        for lang in ("zh", "en"):
            assert other.archive_id not in seen.message(lang) and mine.archive_id in seen.message(lang)
        assert other.archive_id not in seen.issue.message and other.archive_id not in str(seen.to_dict("en"))
        assert "不予显示" in seen.message("zh") and "withheld" in seen.message("en")
    for reader in ([""], ["32"], ["3201"]):  # a scope covering both archives sees it whole
        assert typed.seen_from(reader) == typed and other.archive_id in typed.seen_from(reader).message()


def test_a_register_value_naming_nothing_catalogued_is_withheld_as_the_other_divisions_is() -> None:
    mine = _item("hh-320105-a", "320105007", 1)
    for typed in (_row(1, "hh-nowhere"), _row(1, None, "J001-NOWHERE")):
        (f,) = [f for f in reconcile(match([typed], [mine]), lambda _e: None) if f.code == "PAP108"]
        value = typed.archive_id or typed.reference_code or ""
        assert value not in f.seen_from(["320105"]).message()  # the same neutral text: nothing is confirmed
        assert value in f.seen_from([""]).message()
    # a value naming another archive within the district is the district's to see
    near = replace(mine, archive_id="hh-320105-c", number=1, volume="2019-0003", reference_code="J001-C")
    (f,) = [f for f in reconcile(match([_row(1, near.archive_id)], [mine, near]), lambda _e: None)
            if f.code == "PAP108"]
    assert f.seen_from(["320105"]) == f and near.archive_id in f.seen_from(["320105"]).message()


def test_a_gap_or_duplicate_finding_names_the_matched_archive_not_the_one_typed() -> None:
    mine, other = _item("hh-320105-a", "320105007", 1), _item("hh-320102-b", "320102008", 1, "2019-0002")
    rows = [_row(1, other.archive_id), _row(1, other.archive_id, line=3), _row(3, other.archive_id, line=4)]
    found = reconcile(match(rows, [mine, other]), lambda _e: None)
    for code in ("PAP104", "PAP107"):
        (f,) = [f for f in found if f.code == code and f.item is None]
        assert (f.division, f.archive_id) == ("320105007", mine.archive_id)


@pytest.fixture
def crossed(demo, paper_home: Path, ph) -> tuple[Path, str, str]:  # noqa: ANN001
    """The demo home whose register gives, for an item of 建邺区 (320105), the identifier of 玄武区's (320102)
    archive, imported by the national scope and reconciled (the result stored): (home, the district's archive,
    the other's)."""
    with Repository.open(paper_home) as repo:
        ids = {v.division[:6]: v.identifier for v in repo.catalog.list_archives()}
    mine, other = ids["320105"], ids["320102"]
    rows = register_of(demo.root)
    first = next(n for n, r in enumerate(rows) if r.archive_id == mine)
    rows[first] = replace(rows[first], archive_id=other)
    with Repository.open(paper_home) as repo:
        paper.import_register(repo, data=register_csv(rows), name="crossed.csv")
    ph.store_reconciliation(paper_home)
    return paper_home, mine, other


def test_a_district_reader_is_not_told_of_another_divisions_archive_anywhere(
        crossed: tuple[Path, str, str], login) -> None:  # noqa: ANN001
    home, mine, other = crossed
    with open_state(load_config(home).state_url) as state:
        tokens = {name: create_token(state, name, "scope")[1] for name in ("jianye", "admin")}

    def surfaces(user: str) -> dict[str, str]:
        client: FlaskClient = login(home, user)
        api = client.get("/api/v1/paper", headers={"Authorization": f"Bearer {tokens[user]}"})
        return {"page": client.get("/paper").get_data(as_text=True),
                "csv": client.get("/paper.csv").get_data(as_text=True),
                "api": api.get_data(as_text=True)}

    district, national = surfaces("jianye"), surfaces("admin")
    for name, text in district.items():
        assert "PAP108" in text and mine in text, name
        assert other not in text, name
    for name, text in national.items():
        assert other in text, name
    assert "不予显示" in district["page"] and "不予显示" not in national["page"]

    def command(*args: str) -> str:
        result = CliRunner().invoke(cli, ["--home", str(home), "paper", "reconcile", *args])
        assert result.exit_code == 0, result.output
        return result.output

    for args in ((), ("--csv",), ("--json",)):
        assert other not in command("--division", "320105", *args) and "PAP108" in command(*args)
        assert other in command(*args)


def test_a_dang_hao_held_in_two_divisions_is_shown_to_the_scope_covering_both() -> None:
    mine = _item("hh-320105-a", "320105007", 1)
    twice = [replace(_item(f"hh-{d}-x", d, 1, f"2019-000{n}"), reference_code="J001-SHARED")
             for n, d in ((2, "320105001"), (3, "320102008"))]
    (f,) = [f for f in reconcile(match([_row(1, None, "J001-SHARED")], [mine, *twice]), lambda _e: None)
            if f.code == "PAP108"]
    assert "J001-SHARED" not in f.seen_from(["320105"]).message() and "J001-SHARED" in f.seen_from(["3201"]).message()
