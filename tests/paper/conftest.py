"""Fixtures of the dual-track and access-copy tests: the ingest tests' demo (3 households, 2 units, seed 7)
ingested once per session, copied for each test that writes (the paper register and the access register
live in the home's state database), and accounts of each role and scope."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from repository.accounts.users import add_user
from repository.config import load as load_config
from repository.state.db import open_state

_NAME = "hsar_ingest_fixtures_for_paper"
_spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).parents[1] / "ingest" / "conftest.py")
assert _spec is not None and _spec.loader is not None
_fixtures = importlib.util.module_from_spec(_spec)
sys.modules[_NAME] = _fixtures
_spec.loader.exec_module(_fixtures)
globals().update({name: value for name, value in vars(_fixtures).items() if not name.startswith("__")})

PASSWORD = "correct horse battery staple"
#: username -> (role, division scope)
USERS = {
    "admin": ("admin", "000000"),
    "xuanwu": ("archivist", "320102"),  # 玄武区: one household archive
    "jianye": ("archivist", "320105"),  # 建邺区: the two unit archives
    "reader": ("researcher", "320100"),  # 南京市: everything, masked
    "auditor": ("auditor", "320100"),
}


@pytest.fixture
def paper_home(ingested_home: Path, tmp_path: Path) -> Path:
    """A copy of the ingested demo home with the accounts of :data:`USERS`; tests may change it."""
    home = _fixtures.copy_home(ingested_home, tmp_path / "home")
    with open_state(load_config(home).state_url) as state:
        for name, (role, division) in USERS.items():
            add_user(state, name, role, division, password=PASSWORD)
    return home


@pytest.fixture(scope="session")
def password() -> str:
    """The password of every account of :data:`USERS`."""
    return PASSWORD


@pytest.fixture
def login(password: str, sign_in):  # noqa: ANN001, ANN201
    """``login(home, username)``: a test client of ``home`` signed in as that account."""
    from repository.web import create_app

    return lambda home, username: sign_in(create_app(home, {"TESTING": True, "SECRET_KEY": "test"}), username,
                                          password)


def run_paper_jobs(home: Path, kind: str = "paper") -> list:
    """Run every queued job of ``kind`` (a reconciliation, unless told) of ``home`` here, as ``hsar worker``
    would (its runner, its records); the jobs as they ended."""
    import threading

    from repository.jobs import JobQueue
    from repository.jobs.tasks import execute

    with JobQueue.open(home) as queue:
        queued = queue.list(state="queued", kind=kind)
        for job in queued:
            execute(queue, job.id, threading.Event())
        return [queue.get(job.id) for job in queued]


def store_reconciliation(home: Path, by: str = "admin") -> None:
    """Reconcile ``home`` and store the result the page reads (what the job does)."""
    from repository.home import Repository
    from repository.paper.stored import reconcile_and_store

    with Repository.open(home) as repo:
        reconcile_and_store(repo, started_by=by)


@pytest.fixture(scope="session")
def ph():  # noqa: ANN201 - this module, for its helpers (conftest is not importable by name)
    return sys.modules[__name__]
