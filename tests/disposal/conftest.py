"""Fixtures for retention and disposal: demo SIPs with short (D10) retention, ingested once per session into a
home with a replica and three accounts; each test gets its own copy of that home.

Of the demo (3 households, 2 units, seed 7), three archives are made short-term (D10, 短期): the household that
exits (its retention runs from the exit), a household still provided for (its retention has not started) and
a unit (from 1 January after its closing year). Everything else stays permanent (Y).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import pytest

_NAME = "hsar_ingest_fixtures_for_disposal"
_spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).parents[1] / "ingest" / "conftest.py")
assert _spec is not None and _spec.loader is not None
_fixtures = importlib.util.module_from_spec(_spec)
sys.modules[_NAME] = _fixtures
_spec.loader.exec_module(_fixtures)
home_template = _fixtures.home_template
copy_home = _fixtures.copy_home
openssl_verify = _fixtures.openssl_verify


PASSWORD = "correct horse battery staple"


@dataclasses.dataclass(frozen=True)
class Plan:
    sips: Path
    leaving: str  # household that exits: D10 from the exit date
    staying: str  # household still provided for: D10, not started
    unit: str  # unit archive: D10 from its closing year
    exit_date: object  # date of the exit


@pytest.fixture(scope="session")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    from repository.demo.generate import plan_demo
    from repository.model import Retention, Status
    from repository.sip.build import write_sip

    plans = plan_demo(households=3, units=2, seed=7)
    exits = {p.archive.identifier: p.archive.household.status.since for p in plans
             if p.archive.household is not None and p.archive.household.status.status is Status.EXITED}
    leaving, exit_date = next(iter(exits.items()))
    staying = next(p.archive.identifier for p in plans if p.kind == "household" and p.archive.identifier != leaving
                   and p.archive.household is not None and p.archive.household.status.status is not Status.EXITED)
    unit = next(p.archive.identifier for p in plans if p.kind == "unit")
    short = {leaving, staying, unit}
    root = tmp_path_factory.mktemp("disposal-demo") / "sips"
    root.mkdir()
    for p in plans:
        archive = p.archive
        if archive.identifier in short:
            archive = dataclasses.replace(archive, retention=Retention.SHORT,
                                          reference_code=archive.reference_code.replace("-Y-", "-D10-"))
        write_sip(archive, p.payload, root / p.folder, source_organization=archive.institution,
                  bagging_date=p.bagging)
    return Plan(root, leaving, staying, unit, exit_date)


@pytest.fixture(scope="session")
def disposal_template(plan: Plan, home_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from repository.accounts.users import add_user
    from repository.home import Repository
    from repository.ingest.pipeline import ingest
    from repository.services.ingest import find_sips
    from repository.state.db import open_state

    home = copy_home(home_template, tmp_path_factory.mktemp("disposal") / "home")
    toml = home / "hsar.toml"
    toml.write_text(toml.read_text("utf-8").replace("replicas = []", 'replicas = ["replica1"]'), "utf-8")
    with Repository.open(home) as repo:
        outcomes = ingest(repo, find_sips([plan.sips]).sips)
        assert {o.status for o in outcomes} == {"ingested"}, [o.to_dict("en") for o in outcomes]
        with open_state(repo.cfg.state_url) as state:
            for name, role, division in (("alice", "archivist", "000000"), ("bob", "archivist", "000000"),
                                         ("root", "admin", "000000"),
                                         ("carol", "archivist", "110101"),  # Beijing Dongcheng: none of ours
                                         ("dave", "auditor", "000000")):
                add_user(state, name, role, division, password=PASSWORD)
    return home


@pytest.fixture
def home(disposal_template: Path, tmp_path: Path) -> Path:
    return copy_home(disposal_template, tmp_path / "home")


@pytest.fixture
def login(home: Path, monkeypatch: pytest.MonkeyPatch, sign_in):  # noqa: ANN001, ANN201
    """``login(username)``: a test client of ``home`` signed in as that account; retention judged in 2060."""
    from datetime import date

    from repository.services import disposal as service
    from repository.web import create_app

    monkeypatch.setattr(service, "_today", lambda: date(2060, 1, 1))
    app = create_app(home, {"TESTING": True, "SECRET_KEY": "test"})
    return lambda username: sign_in(app, username, PASSWORD)


@pytest.fixture
def repo(home: Path):
    from repository.home import Repository

    with Repository.open(home) as opened:
        yield opened
