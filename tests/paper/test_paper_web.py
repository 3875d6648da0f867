"""The web side of the dual track and of access copies: the reconciliation page (the stored result, paged) and
its CSV within the user's division (archivists, auditors, administrators), the register upload (archivists,
administrators), the coverage on the statistics page, and the access copy of the archive page (a job, whose page offers the zip)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from repository.config import load as load_config
from repository.demo.paper import plant, register_csv, register_of
from repository.state.db import open_state
from repository.state.paper import read_register

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def planted_home(demo, paper_home: Path, ph) -> Path:  # noqa: ANN001
    """The demo home with the planted register imported and reconciled (the result stored)."""
    from repository.home import Repository
    from repository.services.paper import import_register

    rows, _ = plant(register_of(demo.root))
    with Repository.open(paper_home) as repo:
        import_register(repo, data=register_csv(rows), name="planted.csv")
    ph.store_reconciliation(paper_home)
    return paper_home



def _token(client: FlaskClient, path: str) -> str:
    return TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def test_the_reconciliation_page_shows_the_users_division_only(planted_home: Path, login: Callable[[Path, str], FlaskClient]) -> None:
    admin = login(planted_home, "admin").get("/paper").get_data(as_text=True)
    assert admin.count('<tr class="severity-') == 9 and "PAP107" in admin and "南京市" in admin
    jianye = login(planted_home, "jianye")
    page = jianye.get("/paper").get_data(as_text=True)
    assert page.count('<tr class="severity-') == 6 and "320116" not in page and 'name="register"' in page
    rows = jianye.get("/paper.csv").get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert rows[0].startswith("code,") and len(rows) == 7 and all(",320105" in r for r in rows[1:])
    xuanwu = login(planted_home, "xuanwu").get("/paper").get_data(as_text=True)
    assert 'id="paper-clean"' in xuanwu
    auditor = login(planted_home, "auditor").get("/paper").get_data(as_text=True)
    assert auditor.count('<tr class="severity-') == 9 and 'name="register"' not in auditor  # reads, no upload
    assert login(planted_home, "reader").get("/paper").status_code == 403
    assert login(planted_home, "reader").get("/paper.csv").status_code == 403


def test_the_worklist_is_paged_and_counts_them_all(planted_home: Path, login: Callable[[Path, str], FlaskClient],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from repository.web.views import paper as view

    monkeypatch.setattr(view, "PER_PAGE", 4)  # at 200,000 archives unreconciled, one page was 674 MB of rows
    admin = login(planted_home, "admin")
    first = admin.get("/paper").get_data(as_text=True)
    assert first.count('<tr class="severity-') == 4 and "共 9 处差异，第 1 / 3 页" in first
    assert 'href="/paper?page=2"' in first and 'rel="prev"' not in first
    pages = [admin.get(f"/paper?page={n}").get_data(as_text=True) for n in (2, 3)]
    assert [p.count('<tr class="severity-') for p in pages] == [4, 1]
    assert 'href="/paper?page=1"' in pages[1 - 1] and 'rel="next"' not in pages[1]
    listed = [r for page in (first, *pages) for r in re.findall(r'<tr class="severity-.*?</tr>', page, re.S)]
    assert len(listed) == len(set(listed)) == 9  # every finding once, none twice
    assert admin.get("/paper?page=99").get_data(as_text=True).count('<tr class="severity-') == 1  # the last page
    assert admin.get("/paper?page=x").status_code == 200
    rows = admin.get("/paper.csv").get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert len(rows) == 10  # the CSV keeps them all
    jianye = login(planted_home, "jianye").get("/paper?page=2").get_data(as_text=True)
    assert "共 6 处差异，第 2 / 2 页" in jianye and "320116" not in jianye


def test_the_division_filter_narrows_the_list_within_the_scope(planted_home: Path,
                                                                login: Callable[[Path, str], FlaskClient]) -> None:
    admin = login(planted_home, "admin")
    narrowed = admin.get("/paper?division=320116").get_data(as_text=True)
    assert narrowed.count('<tr class="severity-') == 3 and "共 3 处差异" in narrowed
    assert 'href="/paper?page' not in narrowed
    jianye = login(planted_home, "jianye")  # another district's code is no way out of the scope
    other = jianye.get("/paper?division=320116").get_data(as_text=True)
    worklist = other.split('id="paper-worklist"', 1)[1].split("</table>", 1)[0]
    assert other.count('<tr class="severity-') == 6 and "320116" not in worklist and 'value="320116"' not in other


def test_uploading_a_register_checks_every_row(demo, paper_home: Path, login: Callable[[Path, str], FlaskClient],  # noqa: ANN001
                                               ph) -> None:  # noqa: ANN001
    client = login(paper_home, "jianye")
    bad = "全宗号,目录号,案卷号,件号,页数,盒号\nJ001,1,v,x,1,B\nJ001,1,v,2,1,\n".encode()
    token = _token(client, "/paper")
    refused = client.post("/paper/import", data={"register": (io.BytesIO(bad), "bad.csv"), "csrf_token": token},
                          content_type="multipart/form-data")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "PAP004" in html and "bad.csv:2" in html and "bad.csv:3" in html
    with open_state(load_config(paper_home).state_url) as state:
        assert read_register(state) == []
    good = register_csv(register_of(demo.root))
    # the demo's fonds J001 holds the archives of several districts: an import replaces its whole register,
    # so a district's archivist may not make it (nothing changes; the refusal names the fonds, no archive)
    outside = client.post("/paper/import", data={"register": (io.BytesIO(good), "register.csv"),
                                                 "csrf_token": token}, content_type="multipart/form-data")
    html = outside.get_data(as_text=True)
    assert outside.status_code == 400 and "全宗 J001 含有您管辖区划以外的档案" in html
    assert "320102" not in html.split('id="paper-import"', 1)[-1].split("</form>", 1)[0]
    with open_state(load_config(paper_home).state_url) as state:
        assert read_register(state) == []
    admin = login(paper_home, "admin")
    done = admin.post("/paper/import", data={"register": (io.BytesIO(good), "register.csv"),
                                             "csrf_token": _token(admin, "/paper")}, content_type="multipart/form-data")
    assert done.status_code == 200 and 'id="paper-none"' in done.get_data(as_text=True)  # not reconciled yet
    ran = client.post("/paper/run", data={"csrf_token": token})
    assert ran.status_code == 303 and ran.headers["Location"].endswith("/paper")
    (job,) = ph.run_paper_jobs(paper_home)
    assert job.state == "done" and job.username == "jianye"
    assert 'id="paper-clean"' in client.get("/paper").get_data(as_text=True)
    auditor = login(paper_home, "auditor")
    denied = auditor.post("/paper/import", data={"register": (io.BytesIO(good), "r.csv"),
                                                 "csrf_token": _token(auditor, "/paper")},
                          content_type="multipart/form-data")
    assert denied.status_code == 403


def test_the_statistics_page_shows_the_coverage(planted_home: Path, login: Callable[[Path, str], FlaskClient]) -> None:
    page = login(planted_home, "jianye").get("/stats").get_data(as_text=True)
    section = page[page.index('id="stat-paper-coverage"'):]
    numbers = re.findall(r'<td class="num">([^<]*)</td>', section)[:2]
    # 建邺区's two unit archives: 15 items; the register lists 14 distinct paper items there, all scanned
    assert numbers == ["14 / 14（100.0%）", "14 / 15（93.3%）"]


def _uses(home: Path, archive_id: str) -> list[tuple[str, str, str | None, bool]]:
    from repository.accounts.register import list_uses

    with open_state(load_config(home).state_url) as state:
        return [(u.username, u.action, u.item, u.masked) for u in list_uses(state, archive_id=archive_id)]


def test_the_archive_page_offers_an_access_copy_and_masks_for_researchers(paper_home: Path, login: Callable[[Path, str], FlaskClient], ph) -> None:  # noqa: ANN001
    from repository.home import Repository

    with Repository.open(paper_home) as repo:
        views = [repo.catalog.show(i) for i in repo.catalog.archive_ids()]
    unit = next(v for v in views if v.identifier.startswith("un-") and v.relations)
    household = next(v for v in views if v.identifier.startswith("hh-"))
    reader = login(paper_home, "reader")
    page = reader.get(f"/archives/{unit.identifier}").get_data(as_text=True)
    assert "access-copy" in page and 'name="mask"' not in page  # a researcher's copy is always masked
    token = _token(reader, f"/archives/{unit.identifier}")
    asked = {"purpose": "学术研究", "items": "1, 2", "csrf_token": token}
    got = reader.post(f"/archives/{unit.identifier}/access-copy", data=asked)
    assert got.status_code == 302 and "/jobs/" in got.headers["Location"]  # a job, not a zip made in the request
    job_id = got.headers["Location"].rsplit("/", 1)[1]
    again = reader.post(f"/archives/{unit.identifier}/access-copy", data=asked)  # a second click: the same job
    assert again.headers["Location"].rsplit("/", 1)[1] == job_id
    name = f"{unit.identifier}-access-copy.zip"
    waiting = reader.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "利用副本" in waiting and name not in waiting  # queued: nothing to download yet
    assert reader.get(f"/jobs/{job_id}/export/{name}").status_code == 404
    assert not [u for u in _uses(paper_home, unit.identifier) if u[0] == "reader"]  # nothing made, nothing used
    [job] = ph.run_paper_jobs(paper_home, kind="access-copy")
    assert job.state == "done" and job.result["masked"] is True and job.result["items"] == [1, 2], job.result
    shown = reader.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert f"/jobs/{job_id}/export/{name}" in shown and "个人信息已遮蔽" in shown
    zipped = reader.get(f"/jobs/{job_id}/export/{name}")
    assert zipped.status_code == 200 and zipped.mimetype == "application/zip"
    copy = zipfile.ZipFile(io.BytesIO(zipped.data))
    assert "学术研究" in copy.read("README.txt").decode("utf-8")
    tenant = next(v for v in views if v.identifier == unit.relations[0].other).archive.household.head.name
    assert tenant not in copy.read("description.json").decode("utf-8")
    assert ("reader", "export", "1,2", True) in _uses(paper_home, unit.identifier)  # made, for its purpose
    assert ("reader", "download", name, True) in _uses(paper_home, unit.identifier)  # and received
    assert login(paper_home, "jianye").get(f"/jobs/{job_id}/export/{name}").status_code == 404  # not theirs
    assert reader.post(f"/archives/{unit.identifier}/access-copy",
                       data={"purpose": " ", "csrf_token": token}).status_code == 400
    assert reader.post(f"/archives/{unit.identifier}/access-copy",
                       data={"purpose": "x", "items": "99", "csrf_token": token}).status_code == 400
    assert "access-copy" not in reader.get(f"/archives/{household.identifier}").get_data(as_text=True)
    assert reader.post(f"/archives/{household.identifier}/access-copy",
                       data={"purpose": "x", "csrf_token": token}).status_code == 403
    xuanwu = login(paper_home, "xuanwu")  # 玄武区: the unit archives are in 建邺区
    assert xuanwu.post(f"/archives/{unit.identifier}/access-copy",
                       data={"purpose": "x", "csrf_token": _token(xuanwu, "/paper")}).status_code == 404
    from repository.jobs import JobQueue

    with JobQueue.open(paper_home) as queue:  # none of the refusals queued anything
        assert [j.id for j in queue.list(kind="access-copy")] == [job_id]
    admin = login(paper_home, "admin")
    assert 'name="mask"' in admin.get(f"/archives/{household.identifier}").get_data(as_text=True)
