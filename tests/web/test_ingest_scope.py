"""An archivist ingests into their own division only, whatever the SIP says of itself: a supplement (补充包)
naming another division's archive is refused at upload, on the page and in the API, with the code of a SIP
that declares that division, but without naming the archive's division (a declared division, the uploader's
own input, is named), and the ingest job's worker refuses it again when the archive appeared after the upload.
Real SIPs, real ingests."""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from repository.accounts.tokens import create_token
from repository.config import load as load_config
from repository.descriptive import parse
from repository.divisions import tree_for
from repository.home import Repository, init_home
from repository.ingest.pipeline import ingest
from repository.jobs import JobQueue
from repository.jobs.tasks import execute
from repository.sip.build import write_sip
from repository.state.db import open_state
from repository.web import create_app

STREET = "320102008"  # 红山街道, in 玄武区 (320102): the scope of the archivist xuanwu
ERROR = re.compile(r'<p class="error" role="alert">(.*?)</p>', re.S)


@pytest.fixture(scope="module")
def demo_sips(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A household's v1 SIP and the v2 supplement of the same archive, the archive outside 玄武区."""
    from repository.demo.generate import write_demo_data

    root = tmp_path_factory.mktemp("scope-demo") / "sips"
    write_demo_data(root, households=3, units=2, seed=7, defects=False)
    entries = json.loads((root / "demo_manifest.json").read_text("utf-8"))["sips"]
    supplement = next(e for e in entries if e["kind"] == "supplement" and e["version"] == 2
                      and e["archive"].startswith("hh-") and "-320102-" not in e["archive"])
    original = next(e for e in entries if e["archive"] == supplement["archive"] and e["version"] == 1)
    return root / original["path"], root / supplement["path"]


def _home(base: Path, wh: Any) -> tuple[Path, dict[str, str]]:  # noqa: ANN401
    home = base / "home"
    init_home(home)
    wh.add_users(home)
    with open_state(load_config(home).state_url) as state:
        tokens = {name: create_token(state, name, "ingest scope tests")[1] for name in wh.USERS}
    return home, tokens


def _ingest(home: Path, sip: Path) -> None:
    with Repository.open(home) as repo:
        [outcome] = ingest(repo, [sip])
    assert outcome.status == "ingested", outcome.to_dict("en")


def _versions(home: Path, archive_id: str) -> int | None:
    with Repository.open(home) as repo:
        view = repo.catalog.show(archive_id)
    return None if view is None else len(view.versions)


def _forged(src: Path, folder: Path, **changes: Any) -> Path:  # noqa: ANN401
    """The SIP at ``src`` with its description changed, zipped as ``folder/supplement.zip`` (one file name for
    every forgery, so refusals can be compared word for word)."""
    described = dataclasses.replace(parse((src / "metadata" / "descriptive.xml").read_bytes()), **changes)
    payload = {p.relative_to(src).as_posix(): p for p in (src / "data").rglob("*") if p.is_file()}
    bag = folder / "supplement"
    write_sip(described, payload, bag, source_organization="test", bagging_date=datetime.date(2024, 1, 1))
    return Path(shutil.make_archive(str(bag), "zip", root_dir=folder, base_dir=bag.name))


def _page(app: Flask, wh: Any, sip: Path) -> tuple[int, str, FlaskClient]:  # noqa: ANN401
    client = wh.signed_in(app, "xuanwu")
    with open(sip, "rb") as fh:
        response = client.post("/ingest", data={"csrf_token": wh.csrf_token(client, "/ingest"), "sips": (fh, sip.name)},
                               content_type="multipart/form-data")
    found = ERROR.search(response.get_data(as_text=True))
    return response.status_code, found.group(1) if found else "", client


def _api(app: Flask, token: str, sip: Path) -> Any:  # noqa: ANN401
    with open(sip, "rb") as fh:
        return app.test_client().post("/api/v1/ingest", headers={"Authorization": f"Bearer {token}"},
                                      data={"sips": (fh, sip.name)}, content_type="multipart/form-data")


def _secrets(home: Path, division: str) -> list[str]:
    """What would tell where another division's archive lies: its division's code, its district's, and their
    names."""
    tree = tree_for(load_config(home))
    told = [division, division[:6]]
    for code in (division, division[:6]):
        known = tree.get(code)
        if known is not None:
            told.append(known.name)
    return told


def _names_none(text: str, secrets: list[str]) -> bool:
    return not [s for s in secrets if s in text]


def _nothing_kept(home: Path) -> bool:
    uploads = home / "jobs" / "uploads"
    with JobQueue(load_config(home)) as queue:
        queued = queue.list() or list(queue.huey.pending())
    return not queued and not (uploads.is_dir() and any(p.is_file() for p in uploads.rglob("*")))


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory, wh: Any, demo_sips: tuple[Path, Path]) -> dict[str, Any]:  # noqa: ANN401
    """A home holding the v1 of the other division's archive (the refusals below change nothing in it)."""
    original, supplement = demo_sips
    home, tokens = _home(tmp_path_factory.mktemp("scope-held"), wh)
    _ingest(home, original)
    described = parse((supplement / "metadata" / "descriptive.xml").read_bytes())
    app = create_app(home, {"TESTING": True, "SECRET_KEY": "test"})
    return {"home": home, "tokens": tokens, "app": app, "archive": described.identifier,
            "division": described.division, "original": original, "supplement": supplement}


def test_a_supplement_to_another_divisions_archive_is_refused_on_the_page_and_the_api(
        held: dict[str, Any], wh: Any, tmp_path: Path) -> None:  # noqa: ANN401
    """The supplement is the demo's own, only its <division> set to a street of 玄武区: it would be stored as
    the next version of the other district's archive. Refused at upload; nothing queued or kept; v1 only."""
    assert not held["division"].startswith("320102")
    forged = _forged(held["supplement"], tmp_path, division=STREET)
    secrets = _secrets(held["home"], held["division"])
    client = wh.signed_in(held["app"], "xuanwu")
    with open(forged, "rb") as fh:
        page = client.post("/ingest", data={"csrf_token": wh.csrf_token(client, "/ingest"), "sips": (fh, forged.name)},
                           content_type="multipart/form-data")
    html = page.get_data(as_text=True)
    error = ERROR.search(html)
    assert page.status_code == 403 and error and "320102" in error.group(1) and "不在您的范围" in error.group(1)
    assert '<code class="code">WEB-INGEST-SCOPE</code>' in error.group(1)  # the stable code, as the API gives it
    assert _names_none(html, secrets), secrets
    assert _nothing_kept(held["home"])
    response = _api(held["app"], held["tokens"]["xuanwu"], forged)
    assert response.status_code == 403, response.get_data(as_text=True)
    body = response.get_json()["error"]
    assert body["code"] == "API-INGEST-SCOPE" and "320102" in body["message"]
    assert _names_none(response.get_data(as_text=True), secrets), secrets
    assert _nothing_kept(held["home"])
    assert _versions(held["home"], held["archive"]) == 1
    # a new archive's SIP under that identifier is refused the same way (its job would have said ING001)
    taken = _forged(held["original"], tmp_path / "new", division=STREET)
    again = _api(held["app"], held["tokens"]["xuanwu"], taken)
    assert again.status_code == 403 and again.get_json()["error"]["code"] == "API-INGEST-SCOPE"
    assert _nothing_kept(held["home"]) and _versions(held["home"], held["archive"]) == 1


def test_the_refusal_names_a_declared_division_but_not_a_held_archives(held: dict[str, Any], wh: Any,
                                                                       tmp_path: Path) -> None:  # noqa: ANN401
    """Held elsewhere (the archive exists, the SIP declares 玄武区) and declared elsewhere (no such archive,
    the SIP declares the other division): the same status and code, but only the declared one is named (the
    uploader's own input); the held archive's division is not (both languages: tests/ingest/test_scope.py)."""
    supplement = parse((held["supplement"] / "metadata" / "descriptive.xml").read_bytes())
    assert supplement.supplement_of is not None
    unknown = supplement.identifier[:-4] + "0999"
    assert _versions(held["home"], unknown) is None
    exists = _forged(held["supplement"], tmp_path / "exists", division=STREET)
    declared = _forged(held["supplement"], tmp_path / "declared", identifier=unknown,
                       supplement_of=dataclasses.replace(supplement.supplement_of, archive=unknown))
    assert exists.name == declared.name
    secrets = _secrets(held["home"], held["division"])
    pages = [_page(held["app"], wh, sip)[:2] for sip in (exists, declared)]
    assert [p[0] for p in pages] == [403, 403] and pages[0][1] and pages[1][1]
    assert _names_none(pages[0][1], secrets) and held["division"] in pages[1][1]
    answers = [_api(held["app"], held["tokens"]["xuanwu"], sip) for sip in (exists, declared)]
    assert [a.status_code for a in answers] == [403, 403]
    assert [a.get_json()["error"]["code"] for a in answers] == ["API-INGEST-SCOPE"] * 2
    assert _names_none(answers[0].get_data(as_text=True), secrets), answers[0].get_data(as_text=True)
    assert held["division"] in answers[1].get_json()["error"]["message"]
    assert _nothing_kept(held["home"])


def _run(home: Path, job_id: str) -> Any:  # noqa: ANN401
    with JobQueue(load_config(home)) as queue:
        execute(queue, job_id, threading.Event())  # what `hsar worker` does with the message
        return queue.get(job_id)


def test_the_worker_refuses_an_upload_whose_archive_was_ingested_in_another_division_since(
        tmp_path: Path, wh: Any, demo_sips: tuple[Path, Path]) -> None:  # noqa: ANN401
    """The upload is admitted (no such archive yet, the SIP declares 玄武区); the other district ingests the
    archive before the worker runs the job: the worker's own check, under the home lock, fails the job with
    the upload's refusal, and the archive keeps its one version."""
    original, supplement = demo_sips
    home, _ = _home(tmp_path, wh)
    app = create_app(home, {"TESTING": True, "SECRET_KEY": "test"})
    forged = _forged(supplement, tmp_path / "sip", division=STREET)
    client = wh.signed_in(app, "xuanwu")
    with open(forged, "rb") as fh:
        response = client.post("/ingest", data={"csrf_token": wh.csrf_token(client, "/ingest"), "sips": (fh, forged.name)},
                               content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    _ingest(home, original)  # meanwhile
    job = _run(home, job_id)
    assert job.state == "failed" and job.error_code == "ING-SCOPE", job
    polled = client.get(f"/jobs/{job_id}.json")
    assert polled.get_json()["error"]["code"] == "ING-SCOPE" and "不在您的范围" in polled.get_json()["error"]["text"]
    secrets = _secrets(home, parse((supplement / "metadata" / "descriptive.xml").read_bytes()).division)
    assert _names_none(polled.get_data(as_text=True), secrets), secrets  # the job's text and its parameters
    assert _names_none(json.dumps(job.result, ensure_ascii=False), secrets) and _names_none(job.message or "", secrets)
    assert _names_none(client.get(f"/jobs/{job_id}").get_data(as_text=True), secrets)
    assert _versions(home, parse((original / "metadata" / "descriptive.xml").read_bytes()).identifier) == 1
    assert not any(p.is_file() for p in (home / "jobs" / "uploads").rglob("*"))  # the upload removed


def test_the_worker_asks_the_uploaders_account_as_it_is_when_the_job_runs(
        tmp_path: Path, wh: Any, demo_sips: tuple[Path, Path]) -> None:  # noqa: ANN401
    """An archivist uploads a SIP of their division, then is given another scope before the job runs: the job
    is refused (the check asks the account as it is now, not as it was at upload)."""
    from repository.accounts.users import set_scope

    original, _ = demo_sips
    described = parse((original / "metadata" / "descriptive.xml").read_bytes())
    home, tokens = _home(tmp_path, wh)
    app = create_app(home, {"TESTING": True, "SECRET_KEY": "test"})
    with open_state(load_config(home).state_url) as state:
        set_scope(state, "jianye", division=described.division[:6])
    sip = Path(shutil.make_archive(str(tmp_path / "v1"), "zip", root_dir=original.parent, base_dir=original.name))
    response = _api(app, tokens["jianye"], sip)
    assert response.status_code == 202, response.get_data(as_text=True)
    [job] = response.get_json()
    with open_state(load_config(home).state_url) as state:
        set_scope(state, "jianye", division="320105")
    assert _run(home, job["id"]).error_code == "ING-SCOPE"
    assert _versions(home, described.identifier) is None
    assert not any(p.is_file() for p in (home / "jobs" / "uploads").rglob("*"))
