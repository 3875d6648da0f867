"""Documents are named by reference (``~N.K``, :mod:`repository.filerefs`) in every link: a stored file name that
holds a person's name and identity number is shown masked to a researcher, and a masked name led nowhere (the
viewer answered 404). Here an archive whose file names hold its applicant's name and resident ID: a researcher
opens and downloads every document through the page's links and the API's references, never receives the name or
the number (page, viewer, download name, API, job, access copy), and cannot confirm a name by guessing a path; an
archivist opens the same documents by reference and by path."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import threading
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest

from repository import filerefs
from repository.accounts.register import list_uses
from repository.accounts.tokens import create_token
from repository.config import load as load_config
from repository.demo.generate import write_demo_data
from repository.descriptive import read_descriptive
from repository.home import Repository, init_home
from repository.jobs import JobQueue
from repository.jobs.tasks import execute
from repository.model import Access
from repository.sip.build import write_sip
from repository.state.db import open_state
from repository.web import create_app

from .conftest import add_users, copies_by_job, signed_in

PDF, SCAN = "data/application/0001-申请书.pdf", "data/application/0005-住房证明.tif"


@dataclass(frozen=True)
class Named:
    home: Path
    archive_id: str
    name: str  # the applicant's
    resident_id: str
    pdf: str  # the stored paths, each holding the name (and the PDF's the number)
    scan: str
    refs: dict[str, str]  # stored path -> reference
    restricted: tuple[str, str, str]  # a restricted archive (控制使用) named the same way: its id, PDF path, name


def _renamed(sip: Path, access: Access, out: Path) -> tuple[Any, dict[str, str], Path]:  # noqa: ANN401
    """The demo SIP ``sip`` with two of its files named after its applicant (the PDF with the resident ID too),
    of ``access``, written at ``out``: its archive, the stored paths renamed (old -> new), the bag."""
    archive = read_descriptive(sip / "metadata" / "descriptive.xml")
    head = archive.household.head
    renamed = {PDF: f"data/application/0001-申请书-{head.name}-{head.resident_id}.pdf",
               SCAN: f"data/application/0005-{head.name}住房证明.tif"}
    items = tuple(dataclasses.replace(i, files=tuple(renamed.get(f, f) for f in i.files)) for i in archive.items)
    archive = dataclasses.replace(archive, items=items, access=access)
    payload = {renamed.get(rel, rel): p.read_bytes()
               for p in sorted((sip / "data").rglob("*")) if p.is_file() for rel in [p.relative_to(sip).as_posix()]}
    return archive, renamed, write_sip(archive, payload, out, source_organization=archive.institution,
                                       bagging_date=date(2025, 1, 2))


@pytest.fixture(scope="module")
def named(tmp_path_factory: pytest.TempPathFactory) -> Named:
    root = tmp_path_factory.mktemp("named-files")
    write_demo_data(root / "sips", households=2, units=0, seed=5, defects=False)
    sips = [root / "sips" / e["path"] for e in json.loads((root / "sips" / "demo_manifest.json").read_text("utf-8"))["sips"]]
    archive, renamed, bag = _renamed(sips[0], Access.OPEN, root / "named")
    withheld, withheld_names, withheld_bag = _renamed(sips[1], Access.RESTRICTED, root / "named-restricted")
    home = root / "home"
    init_home(home)
    with Repository.open(home) as repo:
        from repository.ingest.pipeline import ingest

        assert [o.status for o in ingest(repo, [bag, withheld_bag])] == ["ingested", "ingested"]
    add_users(home)
    refs = filerefs.refs_of((i.number, i.files) for i in archive.items)
    head = archive.household.head
    return Named(home, archive.identifier, head.name, head.resident_id, renamed[PDF], renamed[SCAN], refs,
                 (withheld.identifier, withheld_names[PDF], withheld.household.head.name))


def _client(named: Named, username: str) -> Any:  # noqa: ANN401
    return signed_in(create_app(named.home, {"TESTING": True, "SECRET_KEY": "test"}), username)


def _api(named: Named, username: str) -> tuple[Any, dict[str, str]]:
    with open_state(load_config(named.home).state_url) as state:
        token = create_token(state, username, "refs")[1]
    app = create_app(named.home, {"TESTING": True, "SECRET_KEY": "test"})
    return app.test_client(), {"Authorization": f"Bearer {token}", "X-HSAR-Purpose": "study"}


def _personal(named: Named, text: str) -> list[str]:
    """What of the applicant's name and number ``text`` holds (also URL-quoted)."""
    given = named.name[1:]  # the surname alone is what masking leaves
    return [v for v in (named.resident_id, given, quote(given)) if v in text]


def _uses(named: Named) -> list[Any]:
    with open_state(load_config(named.home).state_url) as state:
        return list_uses(state, archive_id=named.archive_id)


def test_references_name_each_file_by_its_item_and_place() -> None:
    items = [(3, ("data/a.pdf", "data/b.tif")), (12, ("data/c.pdf",))]
    assert filerefs.refs_of(items) == {"data/a.pdf": "~3.1", "data/b.tif": "~3.2", "data/c.pdf": "~12.1"}
    assert [filerefs.resolve(items, r) for r in ("~3.2", "~12.1", "~12.2", "~4.1", "~3.0", "~03.1", "~3.1x",
                                                 "~３.1", "data/a.pdf")] == [
        "data/b.tif", "data/c.pdf", None, None, None, None, None, None, None]


def test_a_researcher_opens_every_document_through_the_pages_links_and_never_sees_the_name(named: Named) -> None:
    reader = _client(named, "reader")
    page = reader.get(f"/archives/{named.archive_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and named.name[0] + "*" in html  # the file names are there, masked
    assert _personal(named, html) == []
    links = sorted(set(re.findall(rf'href="(/archives/{named.archive_id}/(?:view|files)/[^"?]+)', html)))
    assert links and all(unquote(link).rsplit("/", 1)[-1].startswith("~") for link in links)
    for ref in (named.refs[named.pdf], named.refs[named.scan]):  # the two documents whose names hold the name
        assert f"/archives/{named.archive_id}/view/{ref}" in links
    before = len(_uses(named))
    viewer = reader.get(f"/archives/{named.archive_id}/view/{named.refs[named.pdf]}")
    shown = viewer.get_data(as_text=True)
    assert viewer.status_code == 200 and _personal(named, shown) == [] and named.name[0] + "*" in shown
    frame = re.search(r'<iframe class="pdf" src="([^"]+)"', shown).group(1)
    assert frame.endswith("/files/" + quote(named.refs[named.pdf]))
    got = reader.get(frame + "?download=1")
    disposition = unquote(got.headers["Content-Disposition"])
    assert got.status_code == 200 and got.mimetype == "application/pdf" and _personal(named, disposition) == []
    assert "利用件" in disposition
    scan = reader.get(f"/archives/{named.archive_id}/view/{named.refs[named.scan]}")  # OCR text until approved
    assert scan.status_code == 200 and _personal(named, scan.get_data(as_text=True)) == []
    used = _uses(named)[before:]  # registered under the stored file, as every use is (a PDF's by its frame)
    assert [(u.action, u.item) for u in used] == [("download", named.pdf), ("view", named.scan)]


def test_a_path_holding_what_a_researcher_is_shown_masked_is_not_found_for_them(named: Named) -> None:
    reader, admin = _client(named, "reader"), _client(named, "admin")
    masked = named.pdf.replace(named.name, named.name[0] + "*")
    for client, path, status in ((reader, named.pdf, 404), (reader, masked, 404), (reader, "~999.1", 404),
                                 (reader, "~1.9", 404), (admin, named.pdf, 200), (admin, named.refs[named.pdf], 200),
                                 (admin, masked, 404)):
        assert client.get(f"/archives/{named.archive_id}/view/{path}").status_code == status, (path, status)
    other = next(p for p in named.refs if p not in (named.pdf, named.scan) and p.endswith(".pdf"))
    assert reader.get(f"/archives/{named.archive_id}/view/{other}").status_code == 200  # nothing masked in it
    archivist = admin.get(f"/archives/{named.archive_id}/view/{named.refs[named.pdf]}").get_data(as_text=True)
    assert named.name in archivist  # an archivist is shown the name as stored


def test_the_api_gives_references_and_masked_names_and_sends_by_reference_only(named: Named) -> None:
    client, headers = _api(named, "reader")
    answer = client.get(f"/api/v1/archives/{named.archive_id}", headers=headers)
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200 and _personal(named, body) == []
    files = {f["ref"]: f for f in answer.get_json()["archive"]["files"] if f["ref"]}
    assert set(files) == set(named.refs.values())
    assert files[named.refs[named.pdf]]["path"] == named.pdf.replace(named.name, named.name[0] + "*").replace(
        named.resident_id, named.resident_id[:6] + "********" + named.resident_id[-4:])
    got = client.get(f"/api/v1/archives/{named.archive_id}/files/{named.refs[named.pdf]}", headers=headers)
    assert got.status_code == 200 and _personal(named, unquote(got.headers["Content-Disposition"])) == []
    for path in (named.pdf, files[named.refs[named.pdf]]["path"]):
        assert client.get(f"/api/v1/archives/{named.archive_id}/files/{path}", headers=headers).status_code == 404
    admin, admin_headers = _api(named, "admin")
    for path in (named.pdf, named.refs[named.pdf]):
        sent = admin.get(f"/api/v1/archives/{named.archive_id}/files/{path}", headers=admin_headers)
        assert sent.status_code == 200 and named.name in unquote(sent.headers["Content-Disposition"])
    admin_files = admin.get(f"/api/v1/archives/{named.archive_id}", headers=admin_headers).get_json()
    assert {f["path"]: f["ref"] for f in admin_files["archive"]["files"] if f["ref"]} == named.refs


def test_a_researchers_copy_job_and_access_copy_never_name_the_person(named: Named, tmp_path: Path) -> None:
    import shutil

    home = tmp_path / "home"
    shutil.copytree(named.home, home)
    mine = dataclasses.replace(named, home=home)
    copies_by_job(home)
    reader = _client(mine, "reader")
    pending = reader.get(f"/archives/{named.archive_id}/view/{named.refs[named.pdf]}")
    html = pending.get_data(as_text=True)
    assert pending.status_code == 202 and _personal(named, html) == [] and named.name[0] + "*" in html
    job_id = re.search(r'data-poll="/jobs/([0-9a-f-]{36})\.json"', html).group(1)
    client, headers = _api(mine, "reader")
    with JobQueue.open(home) as queue:
        execute(queue, job_id, threading.Event())
        assert queue.get(job_id).state == "done"
    job = client.get(f"/api/v1/jobs/{job_id}", headers=headers)
    assert job.status_code == 200 and job.get_json()["params"]["path"] == named.refs[named.pdf]
    assert _personal(named, job.get_data(as_text=True)) == []
    asked = client.post(f"/api/v1/archives/{named.archive_id}/access-copy", headers=headers,
                        json={"purpose": "研究"})
    assert asked.status_code in (200, 202), asked.get_data(as_text=True)
    copy_id = asked.get_json()["id"]
    with JobQueue.open(home) as queue:
        execute(queue, copy_id, threading.Event())
        assert queue.get(copy_id).state == "done", queue.get(copy_id).result
    answer = client.get(f"/api/v1/jobs/{copy_id}", headers=headers)
    assert _personal(named, answer.get_data(as_text=True)) == []
    [download] = answer.get_json()["downloads"]
    data = client.get(download["url"], headers=headers).get_data()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        readme = zf.read("README.txt").decode("utf-8")
        names = " ".join(zf.namelist())
    assert named.name[0] + "*" in readme and _personal(named, readme) == [] and _personal(named, names) == []
    with JobQueue.open(home) as queue:  # a masked copy's result names the documents masked, as recorded too
        assert _personal(named, json.dumps(queue.get(copy_id).result, ensure_ascii=False)) == []
        proposals = [j for j in queue.list(kind="scan-proposal") if j.username == "reader"]
    # the proposals the reader's view and copy asked for name the stored scan; the reader reads them masked
    assert proposals and any(j.params["path"] == named.scan for j in proposals)
    for j in proposals:
        seen = client.get(f"/api/v1/jobs/{j.id}", headers=headers)
        assert seen.status_code == 200 and _personal(named, seen.get_data(as_text=True)) == []
        assert seen.get_json()["params"]["archives"] == [named.archive_id]  # (ids are not masked)


def test_the_ocr_page_and_a_search_hit_on_a_scanned_page_lead_to_the_document_by_reference(
        named: Named, tmp_path: Path) -> None:
    import shutil

    from repository.services.ocr import run_ocr

    home = tmp_path / "home"
    shutil.copytree(named.home, home)
    mine = dataclasses.replace(named, home=home)
    with Repository.open(home) as repo:
        assert run_ocr(repo, [named.archive_id], workers=1).count("added") == 1  # a new version: the scans' text
    for username in ("reader", "admin"):
        client = _client(mine, username)
        ocr = client.get(f"/archives/{named.archive_id}/ocr").get_data(as_text=True)
        scan_link = f"/archives/{named.archive_id}/view/{quote(named.refs[named.scan])}"
        assert scan_link in ocr and f'id="{named.refs[named.scan]}-p1"' in ocr
        assert (_personal(named, ocr) == []) is (username == "reader")
        page = client.get("/search", query_string={"q": "无房证明"}).get_data(as_text=True)
        found = re.findall(r'<p class="found-on"><a href="([^"]+)">', page)
        assert found and all(unquote(href).split("?")[0].rsplit("/", 1)[-1].startswith("~") for href in found)
        assert client.get(found[0].replace("&amp;", "&")).status_code == 200
        if username == "reader":
            assert _personal(named, page) == []


def test_a_hit_from_an_index_written_before_references_were_kept_names_the_page_by_path() -> None:
    from repository.search.hits import pages_at

    spans = [["data/a.tif", 1, 0, 10], ["data/a.tif", 2, 11, 20, 2], ["data/b.tif", 1, 21, 30, 3]]
    assert pages_at(7, spans, [5, 12]) == [{"file": "data/a.tif", "page": 1},
                                           {"file": "data/a.tif", "page": 2, "ref": "~7.2"}]
    assert pages_at(7, spans, [25]) == [{"file": "data/b.tif", "page": 1, "ref": "~7.3"}]


def test_a_guessed_path_of_a_restricted_archive_is_not_found_rather_than_withheld(named: Named) -> None:
    """A researcher sees a restricted archive's catalogue entry only (its documents withheld, 403): a path guessed
    with a name in it must not be told from one that is not there by that 403."""
    archive_id, path, name = named.restricted
    reader, (api, headers) = _client(named, "reader"), _api(named, "reader")
    entry = reader.get(f"/archives/{archive_id}").get_data(as_text=True)
    assert name[0] + "*" in entry and name[1:] not in entry  # the entry lists its file names, masked
    masked = path.replace(name, name[0] + "*")
    for guess in (path, masked, "data/application/none.pdf"):
        assert reader.get(f"/archives/{archive_id}/view/{guess}").status_code == 404, guess
        assert api.get(f"/api/v1/archives/{archive_id}/files/{guess}", headers=headers).status_code == 404
    assert reader.get(f"/archives/{archive_id}/view/~1.1").status_code == 403  # by reference: withheld, as before
    assert _client(named, "admin").get(f"/archives/{archive_id}/view/{path}").status_code == 200
