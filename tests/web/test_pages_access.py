"""Search and archive pages for every role: division scope (404, never 403, by URL, search, facet and
download), masking for researchers and auditors, documents in the page, the access register."""

from __future__ import annotations

from pathlib import Path

import pytest

from repository.accounts.register import RegisterEntry, list_uses, verify_register
from repository.config import load as load_config
from repository.state.db import open_state
from repository.web.i18n import local_time


def _uses(home: Path) -> list[RegisterEntry]:
    """Every access-register entry so far (the hash-chained register of the state database)."""
    with open_state(load_config(home).state_url) as state:
        return list_uses(state)


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
    # a catalogue entry: no preservation history, and no "unsigned" verdict it could not back
    assert "保存事件" not in page and "数字签名" not in page and "无签名记录" not in page
    path = household.files[0].path
    before = len(_uses(web_home))
    response = client.get(f"/archives/{household.identifier}/files/{path}")
    assert response.status_code == 403 and "WEB-FORBIDDEN" in response.get_data(as_text=True)
    assert len(_uses(web_home)) == before


def test_researcher_opens_documents_of_open_archives_and_is_registered(login, archives, web_home) -> None:
    unit = _first(archives, "320105", "open")
    path = unit.files[0].path
    client = login("reader")
    before = _uses(web_home)
    response = client.get(f"/archives/{unit.identifier}/files/{path}?download=1")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    [entry] = _uses(web_home)[len(before):]  # exactly one register entry
    assert (entry.username, entry.role, entry.archive_id, entry.item, entry.action, entry.masked) == (
        "reader", "researcher", unit.identifier, path, "download", True)
    assert entry.purpose
    with open_state(load_config(web_home).state_url) as state:
        assert verify_register(state).ok


def test_archive_page_for_an_archivist(login, archives, web_home) -> None:
    household = _first(archives, "320102")
    client = login("xuanwu")
    page = client.get(f"/archives/{household.identifier}").get_data(as_text=True)
    assert household.archive.household.head.resident_id in page  # archivists see personal data
    assert "四性检测" in page and "真实性" in page and "保存事件" in page
    assert "<td>接收入库</td>" in page and "<td>ingestion</td>" not in page  # PREMIS event types in Chinese
    added: dict[str, list[int]] = {}  # the version timeline: what each version added, by 件号
    for group in household.items_by_class:
        for item in group.items:
            added.setdefault(item.version_added, []).append(item.number)
    for numbers in added.values():
        assert "新增件号 " + ", ".join(map(str, sorted(numbers))) in page
    for group in household.items_by_class:
        assert group.label in page
    shelf = household.archive.volume.shelf
    assert f"{shelf.store}库{shelf.row}排{shelf.cabinet}柜{shelf.cell}格" in page
    assert "Z<" not in page and "+00:00" not in page  # local times, not UTC stamps
    before = len(_uses(web_home))
    client.get(f"/archives/{household.identifier}")
    [entry] = _uses(web_home)[before:]  # an unmasked record is registered, once
    assert (entry.username, entry.archive_id, entry.action, entry.item, entry.masked) == (
        "xuanwu", household.identifier, "view", None, False)


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
    last = _uses(web_home)[-1]
    assert (last.action, last.item) == ("view", tif)


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


def _tenancies(archives):  # noqa: ANN001, ANN202
    """(unit archive, the household archive linked to it) pairs."""
    return [(v, archives[r.other]) for _i, v in sorted(archives.items()) if v.archive.unit is not None
            for r in v.relations if r.other in archives and archives[r.other].archive.household is not None]


def test_researcher_sees_tenants_names_masked_in_unit_hits_pages_and_api(login, archives, wh) -> None:
    pairs = _tenancies(archives)
    assert pairs, "the demo data links units with households"
    client = login("reader")
    for unit, household in pairs:
        name = household.archive.household.head.name
        found = client.get(f"/search?q={name}").get_data(as_text=True).split('class="hits"')[1]
        assert unit.identifier in found  # the unit's documents name its tenant (承租人) ...
        assert name not in found and name[0] + "*" in found  # ... masked, as in the household's own hit
        for body in (client.get(f"/archives/{unit.identifier}").get_data(as_text=True),
                     client.get(f"/api/v1/search?q={name}").get_data(as_text=True),
                     client.get(f"/api/v1/archives/{unit.identifier}").get_data(as_text=True)):
            for member in household.archive.household.members:
                assert member.name not in body
            assert name not in body.replace(f"q={name}", "")


def test_opening_a_document_is_on_the_register_page(login, archives, web_home) -> None:
    household = _first(archives, "320102")
    path = next(f.path for f in household.files if f.path.endswith(".pdf"))
    before = len(_uses(web_home))
    assert login("xuanwu").get(f"/archives/{household.identifier}/files/{path}").status_code == 200
    [entry] = _uses(web_home)[before:]
    assert (entry.username, entry.action, entry.archive_id, entry.item) == ("xuanwu", "view", household.identifier,
                                                                           path)
    page = login("admin").get(f"/register?user=xuanwu&archive={household.identifier}").get_data(as_text=True)
    assert path in page and "登记链校验通过" in page
    api = login("admin").get(f"/api/v1/register?username=xuanwu&archive={household.identifier}").get_json()
    assert any(e["seq"] == entry.seq and e["item"] == path for e in api["entries"])


def test_researcher_sees_phones_incomes_and_labelled_names_in_document_text_masked(login, archives) -> None:
    import re

    phone = re.compile(r"\d{7}")  # a phone number, or seven of its digits where a fragment cut it
    income = re.compile(r"人均月收入\s*\d")

    def shown_text(client, query: str) -> tuple[str, str]:
        """The hits' highlight texts of the API, and the text of the page's hits (marks and links left out)."""
        api = client.get(f"/api/v1/search?q={query}").get_json()
        page = client.get(f"/search?q={query}").get_data(as_text=True).split('class="hits"')[1]
        page = re.sub(r"<[^>]*>", "", page)  # tags, with the links' division codes and identifiers in them
        return " ".join(re.sub(r"</?em>", "", v) for h in api["hits"] for v in h["highlights"].values()), page

    admin, reader = login("admin"), login("reader")
    for query in ("联系电话", "人均月收入"):
        assert all(phone.search(t) or income.search(t) for t in shown_text(admin, query))  # the forms hold them
        for text in shown_text(reader, query):
            assert phone.search(text) is None and income.search(text) is None, (query, text)
        assert re.search(r"1[3-9]\d\*{4}\d{4}", shown_text(reader, "联系电话")[0])  # masked as a phone field is
    tenants = set(re.findall(r"承租人\s+(\S{2,4})\s", shown_text(admin, "承租人")[0]))
    assert tenants  # named after their label in the units' forms ...
    for text in shown_text(reader, "承租人"):
        assert not any(t in text for t in tenants)  # ... and masked there
