"""Schemathesis against the API's own OpenAPI document, in-process (WSGI), bounded and derandomized, with an
administrator's bearer token: no 500s, every status and body as documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from repository.accounts.tokens import create_token
from repository.accounts.users import add_user, get_user
from repository.config import load as load_config
from repository.state.db import open_state
from repository.web import create_app


@pytest.fixture(scope="module")
def schema_home(web_home: Path, tmp_path_factory: pytest.TempPathFactory, wh: Any) -> Path:  # noqa: ANN401
    """A copy of the session's home for this module: the calls start jobs (audits, reindexing) and may change
    what they are allowed to."""
    return wh.home_copy(web_home, tmp_path_factory.mktemp("schemathesis"))


@pytest.fixture(scope="module")
def admin_token(schema_home: Path) -> str:
    with open_state(load_config(schema_home).state_url) as state:
        if get_user(state, "admin") is None:
            add_user(state, "admin", "admin", "000000")
        return create_token(state, "admin", "schemathesis")[1]


@pytest.fixture
def api_schema(schema_home: Path) -> Any:  # noqa: ANN401
    return schemathesis.from_wsgi("/api/v1/openapi.json",
                                  create_app(schema_home, {"TESTING": True, "SECRET_KEY": "test"}))


schema = schemathesis.from_pytest_fixture("api_schema")

# hypothesis-jsonschema 0.23.1 calls ``many.more()``, which Hypothesis removed after 6.170.0: pyproject.toml
# holds Hypothesis below that, so every operation can generate its parameters.


@schema.parametrize()
@settings(max_examples=25, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_conforms_to_its_document(case: Any, admin_token: str) -> None:  # noqa: ANN401
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"},
                           checks=(not_a_server_error, status_code_conformance, content_type_conformance,
                                   response_schema_conformance))
