"""In a real browser against ``hsar serve``: sign in, search a household, open its archive and its documents,
see resident IDs masked for a researcher, sign out. Takes the README's screenshots (into
docs/screenshots/ in `make test`: tests/e2e/conftest.py)."""

from __future__ import annotations

import re
from types import ModuleType

FULL_ID = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


def _search(page, query: str) -> None:
    page.goto("/search")
    page.fill("form.search input[name=q]", query)
    page.press("form.search input[name=q]", "Enter")
    page.wait_for_load_state()


def test_login_page_refuses_a_wrong_password(new_page, e2e: ModuleType) -> None:
    page = new_page()
    page.goto("/search")
    assert "/login" in page.url  # signed out: sent to the login page
    e2e.shoot(page, "login")
    page.fill("input[name=username]", e2e.ACCOUNTS["archivist"].username)
    page.fill("input[name=password]", "not the password")
    page.click("section.login button[type=submit]")
    page.wait_for_load_state()
    assert "/login" in page.url
    assert page.locator("[role=alert]").is_visible()


def test_archivist_finds_a_household_and_opens_its_documents(signed_in, household, e2e: ModuleType) -> None:
    page = signed_in("archivist")
    _search(page, household.head)
    link = page.locator(f"a[href$='/archives/{household.archive_id}']").first
    assert link.is_visible(), page.inner_text("body")[:1000]
    e2e.shoot(page, "search")

    link.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/archives/{household.archive_id}")
    assert household.archive_id in page.inner_text("body")
    e2e.shoot(page, "archive")

    # a PDF, in the page: a frame whose document is served inline as application/pdf
    e2e.view_link(page, ".pdf").click()
    page.wait_for_load_state()
    frame = page.locator("iframe.pdf")
    assert frame.is_visible()
    pdf = page.request.get(frame.get_attribute("src"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    assert not pdf.headers.get("content-disposition", "").startswith("attachment")
    assert pdf.body().startswith(b"%PDF-")  # (headless Chromium has no PDF viewer to screenshot)

    # a scanned page (JPEG or a TIFF page as PNG): the browser decoded it
    page.go_back()
    e2e.view_link(page, ".jpg", ".tif").click()
    page.wait_for_load_state()
    image = page.locator("img.page")
    image.wait_for()
    width = image.evaluate("img => img.complete ? img.naturalWidth : 0")
    assert width > 0, "the page image did not render"
    e2e.shoot(page, "document")


def test_researcher_sees_resident_ids_masked(signed_in, household, e2e: ModuleType) -> None:
    page = signed_in("researcher")
    _search(page, household.head)
    assert page.locator(f"a[href$='/archives/{household.archive_id}']").first.is_visible()
    text = page.inner_text("body")
    assert household.resident_id not in page.content()
    assert not FULL_ID.search(text), FULL_ID.search(text)
    e2e.shoot(page, "search-researcher")

    page.goto(f"/archives/{household.archive_id}")
    assert household.resident_id not in page.content()
    assert not FULL_ID.search(page.inner_text("body"))


def test_researcher_opens_researchers_copies(signed_in, e2e: ModuleType) -> None:
    """A researcher opens an open housing-unit archive: its PDFs come as researchers' copies (page images, no
    text layer), its scans as their masked OCR text only, without an image."""
    import io

    from pypdf import PdfReader

    page = signed_in("researcher")
    page.goto("/search?type=unit")
    page.locator("a[href*='/archives/un-']").first.click()
    page.wait_for_load_state()
    assert page.locator("p.research-copy").is_visible()
    assert not FULL_ID.search(page.inner_text("body"))
    e2e.shoot(page, "archive-researcher")
    archive = page.url

    e2e.view_link(page, ".pdf").click()
    page.wait_for_load_state()
    assert page.locator("p.research-copy").is_visible()
    pdf = page.request.get(page.locator("iframe.pdf").get_attribute("src"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    assert all(p.extract_text() == "" for p in PdfReader(io.BytesIO(pdf.body())).pages)  # page images only

    page.goto(archive)
    e2e.view_link(page, ".tif").click()
    page.wait_for_load_state()
    assert page.locator("p.scan-review").is_visible()  # its image awaits an archivist's review (开放审核)
    assert page.locator("p.research-copy").count() == 2  # and that, and its OCR text only, are said
    assert page.locator("img.page").count() == 0 and not FULL_ID.search(page.inner_text("body"))


def test_logout_ends_the_session(signed_in) -> None:
    page = signed_in("archivist")
    page.goto("/search")
    page.locator("form[action$='/logout'] button").click()
    page.wait_for_load_state()
    page.goto("/search")
    assert "/login" in page.url
