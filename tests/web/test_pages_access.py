"""Search and archive pages for every role: division scope (404, never 403, by URL, search, facet and
download), masking for researchers and auditors, documents in the page, the access register."""

from __future__ import annotations

import pytest

from repository.web.gateway.users import access_lines
from repository.web.i18n import local_time


def _first(archives, prefix: str, access: str | None = None):  # noqa: ANN202
    return next(v for i, v in sorted(archives.items()) if v.archive.division.startswith(prefix)
                and (access is None or v.archive.access.value == access))


def test_admin_search_shows_every_archive_with_paper_references_and_division_names(login, archives) -> None:
    page = login("admin").get("/search").get_data(as_text=True)
    assert f"共 {len(archives)} 件" in page
    assert "玄武区" in page and "建邺区" in page  # facet names, not codes only
    assert page.count("档号") >= len(archives)  # a paper reference on every hit


@pytest.mark.parametrize("user, prefix", [("xuanwu", "320102"), ("jianye", "320105")])
def test_district_user_sees_nothing_outside_the_district(login, archives, user: str, prefix: str) -> None:
    client = login(user)
    inside = [i for i, v in archives.items() if v.archive.division.startswith(prefix)]
    outside = [v for i, v in archives.items() if not v.archive.division.startswith(prefix)]
    page = client.get("/search").get_data(as_text=True)
    assert f"共 {len(inside)} 件" in page
    other = "建邺区" if prefix == "320102" else "玄武区"
    assert other not in page  # not even as a facet with a count
    for view in outside:
        assert client.get(f"/archives/{view.identifier}").status_code == 404  # by URL
        assert "共 0 件" in client.get(f"/search?q=archive:{view.identifier}").get_data(as_text=True)
        assert "共 0 件" in client.get(f"/search?division={view.archive.division}").get_data(as_text=True)
        path = view.files[0].path
        assert client.get(f"/archives/{view.identifier}/files/{path}").status_code == 404  # by download
        assert client.get(f"/archives/{view.identifier}/view/{path}").status_code == 404


def test_researcher_never_receives_an_unmasked_resident_id(login, archives) -> None:
    client = login("reader")
    household = _first(archives, "3201", "restricted")
    rid, name = household.archive.household.head.resident_id, household.archive.household.head.name
    for url in ("/search", f"/search?name={name}", f"/search?q={name}", f"/archives/{household.identifier}"):
        body = client.get(url).get_data(as_text=True)
        assert rid not in body, url
        if name not in url:  # (a name the user typed is echoed in the form and links, and nowhere else)
            assert name not in body, url
    hits = client.get(f"/search?q={name}").get_data(as_text=True).split('class="hits"')[1]
    assert name not in hits and name[0] + "*" in hits
    assert rid[:6] + "********" + rid[-4:] in client.get(f"/search?q={name}").get_data(as_text=True)


def test_restricted_archive_is_a_catalogue_entry_for_a_researcher(login, archives, web_home) -> None:
    client = login("reader")
    household = _first(archives, "3201", "restricted")
    page = client.get(f"/archives/{household.identifier}").get_data(as_text=True)
    assert household.archive.reference_code in page and "仅可查看目录信息" in page
    path = household.files[0].path
    before = len(access_lines(web_home))
    response = client.get(f"/archives/{household.identifier}/files/{path}")
    assert response.status_code == 403 and "WEB-FORBIDDEN" in response.get_data(as_text=True)
    assert len(access_lines(web_home)) == before


def test_researcher_opens_documents_of_open_archives_and_is_registered(login, archives, web_home) -> None:
    unit = _first(archives, "320105", "open")
    path = unit.files[0].path
    response = login("reader").get(f"/archives/{unit.identifier}/files/{path}?download=1")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    last = access_lines(web_home)[-1]
    assert (last["user"], last["archive"], last["path"], last["action"]) == ("reader", unit.identifier, path,
                                                                            "download")


def test_archive_page_for_an_archivist(login, archives, web_home) -> None:
    household = _first(archives, "320102")
    client = login("xuanwu")
    page = client.get(f"/archives/{household.identifier}").get_data(as_text=True)
    assert household.archive.household.head.resident_id in page  # archivists see personal data
    assert "四性检测" in page and "真实性" in page and "保存事件" in page
    for group in household.items_by_class:
        assert group.label in page
    shelf = household.archive.volume.shelf
    assert f"{shelf.store}库{shelf.row}排{shelf.cabinet}柜{shelf.cell}格" in page
    assert "Z<" not in page and "+00:00" not in page  # local times, not UTC stamps
    assert access_lines(web_home)[-1]["action"] == "view record"  # an unmasked record is registered


def test_documents_are_shown_in_the_page(login, archives, web_home) -> None:
    household = _first(archives, "320102")
    client = login("xuanwu")
    by_suffix = {f.path.rsplit(".", 1)[-1]: f.path for f in household.files}
    pdf = client.get(f"/archives/{household.identifier}/files/{by_suffix['pdf']}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("inline")
    assert "<iframe" in client.get(f"/archives/{household.identifier}/view/{by_suffix['pdf']}").get_data(
        as_text=True)
    tif = by_suffix["tif"]
    viewer = client.get(f"/archives/{household.identifier}/view/{tif}?page=1")
    assert viewer.status_code == 200
    image = client.get(f"/archives/{household.identifier}/page-image/1/{tif}")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data[:4] == b"\x89PNG"
    assert client.get(f"/archives/{household.identifier}/view/{tif}?page=999").status_code == 404
    assert client.get(f"/archives/{household.identifier}/page-image/999/{tif}").status_code == 404
    assert client.get(f"/archives/{household.identifier}/files/data/nope.pdf").status_code == 404
    assert access_lines(web_home)[-1]["action"].startswith("view page")


@pytest.mark.parametrize("query", ["?page=abc", "?page=0", "?q=" + "x" * 600])
def test_hostile_search_input_gets_a_clear_400(login, query: str) -> None:
    response = login("admin").get("/search" + query)
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "WEB-SEARCH-INPUT" in body and "Traceback" not in body


def test_bad_query_syntax_is_explained(login) -> None:
    response = login("admin").get("/search?division=abc")
    assert response.status_code == 400 and "GB/T 2260" in response.get_data(as_text=True)


def test_search_paging_and_sort_links_keep_the_search(login) -> None:
    page = login("admin").get("/search?q=&sort=-year&type=household").get_data(as_text=True)
    assert 'value="-year" selected' in page
    assert "type=household" in page  # facet links carry the search


def test_times_are_shown_in_beijing_time() -> None:
    assert local_time("2026-01-01T16:30:00+00:00") == "2026-01-02 00:30"
