"""The reconciliation in the JSON API: ``GET /api/v1/paper`` reads the stored result as the paper page does
(the division scope, the roles, a page of the worklist, in the token user's language) and ``POST /api/v1/jobs``
with ``{"kind": "paper"}`` starts the job the page's button starts (one while one is pending)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from repository.accounts.tokens import create_token
from repository.config import load as load_config
from repository.demo.paper import plant, register_csv, register_of
from repository.home import Repository
from repository.services import paper
from repository.state.db import open_state
from repository.web import create_app

USERS = ("admin", "jianye", "reader", "auditor")


@pytest.fixture
def api(demo, paper_home: Path) -> tuple[FlaskClient, dict[str, str]]:  # noqa: ANN001
    """A client of the demo home with the planted register, and a token for each account."""
    rows, _ = plant(register_of(demo.root))
    with Repository.open(paper_home) as repo:
        paper.import_register(repo, data=register_csv(rows), name="planted.csv")
    with open_state(load_config(paper_home).state_url) as state:
        tokens = {name: create_token(state, name, "paper api tests")[1] for name in USERS}
    return create_app(paper_home, {"TESTING": True, "SECRET_KEY": "test"}).test_client(), tokens


def _get(client: FlaskClient, token: str, query: str = "") -> Any:  # noqa: ANN401
    return client.get(f"/api/v1/paper{query}", headers={"Authorization": f"Bearer {token}"})


def test_the_api_reads_the_stored_result_within_the_scope(api, paper_home: Path, ph) -> None:  # noqa: ANN001
    client, tokens = api
    none = _get(client, tokens["jianye"])
    assert none.status_code == 200 and none.get_json()["stored"] is False and none.get_json()["findings"] == []

    started = client.post("/api/v1/jobs", json={"kind": "paper"}, headers={"Authorization": f"Bearer {tokens['jianye']}"})
    assert started.status_code == 202 and started.get_json()["kind"] == "paper"
    again = client.post("/api/v1/jobs", json={"kind": "paper"}, headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert again.status_code == 202 and again.get_json()["id"] == started.get_json()["id"]  # the pending one
    (job,) = ph.run_paper_jobs(paper_home)
    assert job.state == "done" and job.username == "jianye"

    with Repository.open(paper_home) as repo:
        national = paper.reconcile_paper(repo, [""])
        seen = paper.reconcile_paper(repo, ["320105"])  # as the district sees them (a register value withheld)
    whole = _get(client, tokens["admin"]).get_json()
    assert whole["stored"] and whole["made"]["started_by"] == "jianye" and whole["made"]["job_id"] == job.id
    assert whole["stale"] == {"register_imported_at": None, "catalogue_changed": False}
    assert whole["count"] == len(whole["findings"]) == len(national.findings) > 0
    assert sum(whole["totals"].values()) == whole["count"]

    district = _get(client, tokens["jianye"]).get_json()  # 建邺区: its findings and counts only
    jianye = [f for f in national.findings if f.division.startswith("320105")]
    assert district["count"] == len(jianye) and {f["division"][:6] for f in district["findings"]} == {"320105"}
    assert sorted((f["code"], f["paper_ref"], f["message"]) for f in district["findings"]) == \
        sorted((f.code, f.ref, f.issue.message) for f in seen.findings)  # in the token user's language (zh)
    assert [(f.code, f.ref) for f in seen.findings] == [(f.code, f.ref) for f in jianye]
    assert [d["division"] for d in district["divisions"]][0] == "320105"
    assert all(d["division"].startswith("320105") for d in district["divisions"])

    paged = _get(client, tokens["jianye"], "?per_page=2&page=2").get_json()
    assert (paged["page"], paged["per_page"], paged["pages"]) == (2, 2, -(-len(jianye) // 2))
    assert paged["findings"] == district["findings"][2:4]
    street = _get(client, tokens["jianye"], "?division=320105007").get_json()
    assert 0 < street["count"] <= district["count"] and all(f["division"] == "320105007" for f in street["findings"])

    # another district, a malformed code, a role that may not read reports, no token
    assert _get(client, tokens["jianye"], "?division=320116").status_code == 404
    assert _get(client, tokens["jianye"], "?division=000000").status_code == 404
    assert _get(client, tokens["jianye"], "?division=3201").status_code == 400
    assert _get(client, tokens["reader"]).status_code == 403
    assert client.get("/api/v1/paper").status_code == 401
    auditor = client.post("/api/v1/jobs", json={"kind": "paper"}, headers={"Authorization": f"Bearer {tokens['auditor']}"})
    assert auditor.status_code == 403  # auditors read the result, they do not start a run
    assert _get(client, tokens["auditor"]).get_json()["count"] == sum(
        1 for f in national.findings if f.division.startswith("3201"))
    params = client.post("/api/v1/jobs", json={"kind": "paper", "params": {"division": "320105"}},
                         headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert params.status_code == 400 and params.get_json()["error"]["code"] == "API-JOB-PARAMS"
