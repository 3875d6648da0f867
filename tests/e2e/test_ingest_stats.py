"""In a real browser against ``hsar serve`` with ``hsar worker`` running: an archivist uploads a SIP on the
ingest page (progress bar), watches the job page until the worker has finished it, follows the link to the new
archive and opens a document; the statistics page draws its charts with no console error (CSP); the audit page
shows the state of the hash-chained log. A researcher is refused the audit page and sees statistics of their
own division only. Takes the ingest, job, stats and audit screenshots of the README (where: tests/e2e/conftest.py)."""

from __future__ import annotations

import csv
import io
from types import ModuleType

#: when the upload is throttled to this many bytes a second (Chrome DevTools Protocol), the progress bar shows
UPLOAD_BYTES_PER_SECOND = 40_000
#: the longest wait for the worker to finish the upload's ingest job (2 shared cores)
JOB_TIMEOUT_MS = 180_000
#: districts of the seed-7 demo data outside 玄武区 (320102), and 玄武区 itself
OTHER_DISTRICTS = ("320105", "320115", "320116")


def test_archivist_uploads_a_sip_and_watches_the_job_finish(signed_in, upload, worker, e2e: ModuleType) -> None:
    page = signed_in("archivist")
    errors = e2e.console_errors(page)
    page.goto("/ingest")
    bar = page.locator("#upload-progress")
    assert bar.is_hidden()  # until something is sent
    page.set_input_files("#ingest-form input[type=file]", str(upload.path))

    # a slow line, so the upload takes seconds and its progress bar can be seen moving
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": UPLOAD_BYTES_PER_SECOND})
    page.click("#ingest-form button[type=submit]")
    bar.wait_for(state="visible")
    assert page.locator("#ingest-form button[type=submit]").is_disabled()  # never sent twice
    page.wait_for_function("() => document.getElementById('upload-progress').value > 0")
    e2e.shoot(page, "ingest")

    # the server answers with the job page; it polls /jobs/<id>.json and reloads once the worker is done
    page.wait_for_url("**/jobs/*", timeout=60_000)
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": -1})
    assert page.locator("#job-progress").is_visible()
    job_url = page.url
    page.wait_for_selector("#job[data-finished=true]", timeout=JOB_TIMEOUT_MS)
    assert page.url == job_url
    state = page.locator("#job-state")
    assert state.get_attribute("data-state") == "done", (page.inner_text("body")[:1500],
                                                        worker.read_text("utf-8")[-3000:])
    row = page.locator("table.sips tbody tr")
    assert row.count() == 1
    assert row.first.get_attribute("class") == "status-ingested", row.first.inner_text()
    e2e.shoot(page, "job")

    # the job page links the new archive; it opens, with its documents
    link = row.first.locator(f"a[href$='/archives/{upload.archive_id}']")
    link.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/archives/{upload.archive_id}")
    assert upload.archive_id in page.inner_text("body")
    e2e.view_link(page, ".jpg", ".tif").click()
    page.wait_for_load_state()
    image = page.locator("img.page")
    image.wait_for()
    assert image.evaluate("img => img.complete ? img.naturalWidth : 0") > 0, "the page image did not render"
    assert errors == []


def _chart_sizes(page) -> dict[str, tuple[int, int]]:
    """For every chart container the page shows: the size of the canvas ECharts drew into it."""
    return page.evaluate("""() => Object.fromEntries(
        [...document.querySelectorAll('[data-chart]')].filter(el => !el.hidden).map(el => {
            const c = el.querySelector('canvas');
            return [el.dataset.chart, c ? [c.width, c.height] : [0, 0]];
        }))""")


def _division_codes(page) -> set[str]:
    """The division codes of the statistics' division table, from its CSV download (what the user gets)."""
    response = page.request.get("/stats/division.csv")
    assert response.ok, response.status
    rows = list(csv.reader(io.StringIO(response.text().lstrip("\ufeff"))))
    return {r[1] for r in rows[1:] if len(r) > 1}


def test_statistics_page_draws_its_charts(signed_in, e2e: ModuleType) -> None:
    page = signed_in("archivist")
    errors = e2e.console_errors(page)
    page.goto("/stats")
    page.wait_for_load_state("load")
    page.wait_for_function("() => document.querySelectorAll('[data-chart] canvas').length > 0")
    sizes = _chart_sizes(page)
    assert sizes, "no chart shown"
    assert "division" in sizes
    assert all(w > 0 and h > 0 for w, h in sizes.values()), sizes
    # the numbers are also a table beside each chart
    assert page.locator("#stat-division table.stat-table tbody tr").count() > 1
    assert errors == [], errors
    e2e.shoot(page, "stats")
    codes = _division_codes(page)
    assert any(c.startswith(OTHER_DISTRICTS) for c in codes), codes


def test_audit_page_shows_the_log_state(signed_in, e2e: ModuleType) -> None:
    page = signed_in("archivist")
    errors = e2e.console_errors(page)
    response = page.goto("/audit")
    assert response is not None and response.ok
    verdict = page.locator("#audit-log p")
    assert verdict.first.get_attribute("class") == "verdict-ok", page.inner_text("#audit-log")
    for section in ("#audit-failures", "#audit-runs", "#audit-due"):
        assert page.locator(section).is_visible()
    assert errors == [], errors
    e2e.shoot(page, "audit")


def test_auditor_reads_the_security_log(signed_in, e2e: ModuleType) -> None:
    page = signed_in("auditor")
    errors = e2e.console_errors(page)
    response = page.goto("/security-log")
    assert response is not None and response.ok
    assert page.locator("#security-verification").get_attribute("class") == "verification ok"
    signed = page.locator("tr.event-sign-in")
    assert signed.count() >= 1 and "e2e-auditor" in page.inner_text("table")  # this very sign-in, logged
    assert errors == [], errors
    e2e.shoot(page, "security-log")  # (who else may open it: tests/web/test_security_log.py; each sign-in here
    # counts against the per-address throttle the whole browser session shares)


def test_researcher_is_refused_the_audit_page(signed_in) -> None:
    page = signed_in("researcher")
    response = page.goto("/audit")
    assert response is not None and response.status == 403
    assert page.locator("#audit-log").count() == 0


def test_researcher_sees_statistics_of_their_division_only(signed_in, e2e: ModuleType) -> None:
    page = signed_in("district-researcher")
    errors = e2e.console_errors(page)
    page.goto("/stats")
    page.wait_for_load_state("load")
    sizes = _chart_sizes(page)
    assert sizes and all(w > 0 and h > 0 for w, h in sizes.values()), sizes
    codes = _division_codes(page)
    assert any(c.startswith(e2e.DISTRICT) for c in codes), codes
    assert not any(c.startswith(OTHER_DISTRICTS) for c in codes), codes
    text = page.inner_text("#stat-division")
    assert errors == [], errors
    # the city-wide researcher of the same role sees the other districts: the difference is the scope
    wide = signed_in("researcher")
    wide.goto("/stats")
    assert any(c.startswith(OTHER_DISTRICTS) for c in _division_codes(wide))
    assert wide.inner_text("#stat-division") != text
