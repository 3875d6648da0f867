"""Fixtures for the state database tests: a state URL on SQLite and on a throwaway PostgreSQL cluster.

The PostgreSQL server fixtures are the catalogue tests' (``tests/catalog/conftest.py``), loaded from that file
(conftest modules cannot be imported under --import-mode=importlib); the PostgreSQL half is skipped, with the
reason, when the server binaries or psycopg 3 are missing.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from repository.state.db import State, open_state, upgrade_state

_spec = importlib.util.spec_from_file_location("_catalog_conftest", Path(__file__).parents[1] / "catalog/conftest.py")
_catalog = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _catalog  # dataclasses look their module up there
_spec.loader.exec_module(_catalog)
pg_server = _catalog.pg_server
pg_url = _catalog.pg_url


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'home' / 'state.sqlite'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def state(state_url) -> State:
    upgrade_state(state_url)
    with open_state(state_url) as opened:
        yield opened
