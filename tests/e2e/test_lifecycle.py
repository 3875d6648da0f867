"""End to end, in Chromium: the life-cycle screens of issue 14 on a home of their own (the session's shared demo
home is left as the other end-to-end modules expect it).

- the paper register page (``/paper``): a clerk uploads the demo's register with one discrepancy of each class
  planted, starts the reconciliation (a job, run by a worker started for it), and the page lists each of them;
- disposal (``/disposal``): one archivist proposes an archive whose retention has ended, approving it herself is
  refused (``DSP-SELF``), a second archivist approves on the confirmation page (typing the archive's
  identifier), and the archive's page shows its tombstone;
- OCR: the archive's OCR page shows the text of each scanned page, the page viewer shows it beside the page,
  and starting OCR makes a job whose page the user lands on;
- the access copy (利用副本) of an archive page is a job (a worker started for it): its page, once done, offers the zip
  with its README.

Screenshots (paper, disposal, its confirmation, tombstone, OCR, viewer with text, access copy) go into
``docs/screenshots/`` in ``make test`` (conftest.py).
"""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

#: two archivists of the city (the two people disposal needs), in the accounts' style of conftest.ACCOUNTS
FIRST = ("e2e-clerk-wang", "archivist", "320100", "e2e clerk wang password")
SECOND = ("e2e-clerk-li", "archivist", "320100", "e2e clerk li password")
#: a phrase only on the demo's housing-proof scans (无房证明), never in a PDF or the description
SCAN_PHRASE = "住宅类房产信息"


@dataclasses.dataclass(frozen=True)
class Life:
    home: Path
    register: Path  # the demo's paper register, one discrepancy of each class planted
    expected: list[tuple[str, str]]  # (code, paper reference) reconciliation must report
    due: str  # a unit archive made short-term (D10) and closed long ago: its retention has ended
    scanned: str  # a household archive with scans, OCR run on it
    source: str  # one of its scans (payload path)


def _short_term_unit(sips: Path, e2e: ModuleType) -> str:
    """Rewrite the demo's first unit SIP as short-term (D10) and closed in 2012: due for disposal today."""
    from repository.demo.generate import plan_demo
    from repository.model import Retention
    from repository.sip.build import write_sip

    plan = next(p for p in plan_demo(households=3, units=2, seed=7) if p.kind == "unit" and p.version == 1)
    archive = dataclasses.replace(plan.archive, retention=Retention.SHORT, year=2012,
                                  reference_code=plan.archive.reference_code.replace("2018-Y", "2012-D10"))
    shutil.rmtree(sips / plan.folder)
    write_sip(archive, plan.payload, sips / plan.folder, source_organization=archive.institution,
              bagging_date=plan.bagging)
    return archive.identifier


@pytest.fixture(scope="module")
def life(e2e: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Life:
    from repository.demo.paper import write_demo_register

    if shutil.which("tesseract") is None:
        pytest.skip("tesseract is not installed (make system-deps installs tesseract-ocr and tesseract-ocr-chi-sim)")
    base = tmp_path_factory.mktemp("e2e-life")
    home, sips = base / "home", base / "sips"
    e2e.hsar("init", home=home)
    e2e.hsar("demo-data", str(sips), "--households", "3", "--units", "2", "--seed", "7")
    due = _short_term_unit(sips, e2e)
    e2e.hsar("ingest", str(sips), home=home)
    for name, role, division, password in (FIRST, SECOND):
        e2e.hsar("user", "add", name, "--role", role, "--division", division, "--password-stdin", home=home,
                 stdin=password + "\n")
    register = base / "register.csv"
    expected = write_demo_register(sips, register, planted=True)
    manifest = json.loads((sips / "demo_manifest.json").read_text("utf-8"))
    entry = next(e for e in manifest["sips"] if e.get("ocr_truth") and any(
        SCAN_PHRASE in "".join(pages) for pages in e["ocr_truth"].values()))
    source = next(path for path, pages in entry["ocr_truth"].items() if SCAN_PHRASE in "".join(pages))
    e2e.hsar("ocr", "--archive", entry["archive"], home=home)
    return Life(home, register, expected, due, entry["archive"], source)


@pytest.fixture(scope="module")
def life_server(life: Life, e2e: ModuleType) -> Iterator[str]:
    """``hsar serve`` on the module's home (as conftest's ``server`` does for the shared one)."""
    with e2e.serving(life.home, "e2e-life") as url:
        yield url


@pytest.fixture
def as_user(browser, life_server: str, e2e: ModuleType) -> Iterator[Callable[[tuple[str, str, str, str]], object]]:
    """``as_user(account)``: a page of a new browser context signed in as that account."""
    contexts = []

    def sign_in(account: tuple[str, str, str, str]):
        context = browser.new_context(base_url=life_server, viewport={"width": 1280, "height": 860},
                                      locale="zh-CN", accept_downloads=True)
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        e2e.log_in(page, e2e.Account(*account))
        return page

    yield sign_in
    for context in contexts:
        context.close()


def test_a_clerk_uploads_the_paper_register_and_works_through_the_reconciliation(life: Life, as_user, e2e) -> None:
    page = as_user(FIRST)
    errors = e2e.console_errors(page)
    page.goto("/paper")
    assert page.locator("#paper-clean").count() == 0 or page.locator("#paper-worklist").count() == 0
    page.set_input_files("input[name=register]", str(life.register))
    page.click("form[action='/paper/import'] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("p.notice[role=status]").is_visible()  # "imported N rows"
    assert page.locator("#paper-none").is_visible()  # the page never reconciles: the paper job does
    with e2e.working(life.home):  # the module's home has no worker of its own
        page.click("#paper-run button[type=submit]")
        page.wait_for_load_state()
        for _ in range(240):  # the worker runs the job; the page shows the stored result once it is there
            if page.locator("#paper-worklist").count():
                break
            page.wait_for_timeout(500)
            page.reload()
    assert page.locator("#paper-made").is_visible() and page.locator("#paper-stale").count() == 0
    rows = page.locator("#paper-worklist tbody tr")
    listed = [(rows.nth(i).locator("td").nth(0).inner_text().strip(), rows.nth(i).locator("td").nth(4).inner_text())
              for i in range(rows.count())]
    for code, reference in life.expected:  # every planted discrepancy class, at its paper reference
        assert any(c == code and reference in ref for c, ref in listed), (code, reference, listed)
    assert len(listed) == len(life.expected)
    assert page.locator("#paper-counts").is_visible()
    with page.expect_download() as download:
        page.click("a[href='/paper.csv']")
    worklist = Path(download.value.path()).read_text("utf-8-sig").splitlines()
    assert worklist[0].startswith("code,") and len(worklist) == len(life.expected) + 1
    assert errors == []
    e2e.shoot(page, "paper-reconciliation")


def test_two_archivists_dispose_of_an_archive_and_self_approval_is_refused(life: Life, as_user, e2e) -> None:
    wang = as_user(FIRST)
    errors = e2e.console_errors(wang)
    wang.goto("/disposal")
    row = wang.locator("#due tr", has_text=life.due)
    assert row.count() == 1
    row.locator("input[name=reason]").fill("保管期限已满，经鉴定无继续保存价值")
    row.locator("button[type=submit]").click()
    wang.wait_for_load_state()
    pending = wang.locator("#pending tbody tr", has_text=life.due)
    assert pending.count() == 1 and pending.locator("form").count() == 0  # no approve button for the proposer
    proposal = pending.locator("td").first.inner_text().strip()
    token = wang.locator("input[name=csrf_token]").first.get_attribute("value")
    wang.evaluate("""([action, token]) => {  // what a hand-made request would send
        const form = document.createElement('form'); form.method = 'post'; form.action = action;
        const field = document.createElement('input'); field.name = 'csrf_token'; field.value = token;
        form.appendChild(field); document.body.appendChild(form); form.submit(); }""",
                  [f"/disposal/{proposal}/approve", token])
    wang.wait_for_url("**/disposal#decided")
    assert "[DSP-SELF]" in wang.locator("p.notice.error").inner_text()
    assert wang.locator("#pending tbody tr", has_text=life.due).count() == 1  # still pending, nothing removed
    assert (life.home / "storage").is_dir()
    e2e.shoot(wang, "disposal-self-approval-refused")

    li = as_user(SECOND)
    li.goto("/disposal")
    mine = li.locator("#pending tbody tr", has_text=life.due)
    assert mine.locator("a[href$='/approve']").count() == 1  # to the confirmation: never a one-click disposal
    e2e.shoot(li, "disposal")
    mine.locator("a[href$='/approve']").click()
    li.wait_for_load_state()
    assert life.due in li.inner_text("main") and "不可撤销" in li.inner_text("main")
    li.fill("input[name=confirm]", life.due)
    e2e.shoot(li, "disposal-confirm")
    li.locator("form.confirm button[type=submit]").click()
    li.wait_for_load_state()
    decided = li.locator("#decided tbody tr", has_text=life.due)
    assert decided.count() == 1 and "已销毁" in decided.inner_text() and "e2e-clerk-li" in decided.inner_text()
    decided.locator("a").click()
    li.wait_for_load_state()
    body = li.inner_text("main")
    assert life.due in body and "e2e-clerk-wang" in body and "e2e-clerk-li" in body
    e2e.shoot(li, "disposal-tombstone")
    response = li.goto(f"/archives/{life.due}")  # the archive's page: its tombstone, 410 Gone, not a 404
    assert response is not None and response.status == 410 and life.due in li.inner_text("main")
    assert errors == []


def test_the_ocr_text_of_a_scan_beside_the_page_and_starting_ocr_shows_a_job(life: Life, as_user, e2e) -> None:
    page = as_user(FIRST)
    errors = e2e.console_errors(page)
    page.goto(f"/archives/{life.scanned}")
    page.click("p.ocr-link a")
    page.wait_for_load_state()
    assert SCAN_PHRASE in page.inner_text("main") and "tesseract 5." in page.inner_text("main")
    e2e.shoot(page, "ocr-text")
    page.goto(f"/archives/{life.scanned}/view/{life.source}?page=1")
    text = page.locator("details.ocr-text")
    assert text.is_visible() and SCAN_PHRASE in text.inner_text()
    text.scroll_into_view_if_needed()  # the recognised text under the page image
    e2e.shoot(page, "ocr-viewer")
    page.goto(f"/archives/{life.scanned}/ocr")
    page.click("form[action$='/ocr'] button[type=submit]")
    page.wait_for_url("**/jobs/*")
    job_id = page.url.rsplit("/", 1)[1]
    assert job_id[:8] in page.inner_text("main") and "排队中" in page.inner_text("main")  # queued for `hsar worker`
    shown = json.loads(e2e.hsar("job", "show", job_id, "--json", home=life.home).stdout)
    job = shown.get("job", shown)
    assert job["kind"] == "ocr" and job["params"]["archives"] == [life.scanned] and job["username"] == FIRST[0]
    assert errors == []


def test_an_access_copy_downloads_as_a_zip_with_its_readme(life: Life, as_user, e2e) -> None:
    page = as_user(FIRST)
    page.goto(f"/archives/{life.scanned}")
    form = page.locator("section.access-copy form")
    form.locator("input[name=purpose]").fill("住房保障资格复核查阅")
    form.locator("select[name=format]").select_option("pdf")
    form.scroll_into_view_if_needed()
    e2e.shoot(page, "access-copy")
    with e2e.working(life.home):  # the copy is a job: the job page polls and reloads once the worker made it
        form.locator("button[type=submit]").click()
        page.wait_for_url("**/jobs/*")
        page.locator("ul.downloads a").wait_for(timeout=120_000)
    assert "个人信息未遮蔽" in page.inner_text("#job-summary")
    with page.expect_download() as download:
        page.locator("ul.downloads a").click()
    assert download.value.suggested_filename == f"{life.scanned}-access-copy.zip"
    names = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes())).namelist()
    readme = next(n for n in names if n.upper().startswith("README"))
    assert readme and any(n.lower().endswith(".pdf") for n in names)
    shown = zipfile.ZipFile(download.value.path()).read(readme).decode("utf-8")
    assert "住房保障资格复核查阅" in shown  # the purpose given
