"""In a real browser against ``hsar serve`` with ``hsar worker`` running: a researcher opens a scan (its image
awaits review, the proposal job is queued), an archivist draws a box over the page with the mouse on the review
page and approves, and the researcher then sees the page painted over as approved. Takes the README's screenshot
of the review page."""

from __future__ import annotations

import io
import json
import time
from types import ModuleType

from PIL import Image, ImageStat

#: the longest wait for the worker to read the scan by OCR (2 shared cores)
PROPOSAL_SECONDS = 180


def _scan_of_an_open_unit(page, e2e: ModuleType) -> str:
    """The viewer URL of the first scan of the first housing-unit archive a researcher finds."""
    page.goto("/search?type=unit")
    page.locator("a[href*='/archives/un-']").first.click()
    page.wait_for_load_state()
    return e2e.view_link(page, ".tif").get_attribute("href")


def test_an_archivist_reviews_a_scan_and_the_researcher_sees_it_painted(signed_in, worker, e2e: ModuleType) -> None:
    reader = signed_in("researcher")
    viewer = _scan_of_an_open_unit(reader, e2e)
    reader.goto(viewer)
    assert reader.locator("p.scan-review").is_visible() and reader.locator("img.page").count() == 0

    archivist = signed_in("archivist")
    errors = e2e.console_errors(archivist)
    deadline = time.monotonic() + PROPOSAL_SECONDS
    link = archivist.locator("table.scan-reviews a[href*='/scan-reviews/']")
    while True:  # the worker reads the scan by OCR; its proposal is then listed for review
        archivist.goto("/scan-reviews")
        if link.count():
            break
        assert time.monotonic() < deadline, "no proposal listed:\n" + worker.read_text("utf-8")[-3000:]
        time.sleep(2)
    link.first.click()
    archivist.wait_for_load_state()
    archivist.set_viewport_size({"width": 1280, "height": 1700})  # a whole A4 page in view: the drag lands on it
    figure = archivist.locator("figure.scan-page").first
    figure.locator("img").scroll_into_view_if_needed()
    archivist.wait_for_function("document.querySelector('figure.scan-page img').complete")
    proposed = json.loads(archivist.locator("#scan-boxes").input_value())["1"]
    assert proposed and archivist.locator("figure.scan-page .scan-box").count() >= len(proposed)

    # drag a box over the lower part of page 1 (blank paper below the text), as an archivist would
    shown = figure.locator("img").bounding_box()
    width, height = (int(figure.get_attribute(a)) for a in ("data-width", "data-height"))
    start, end = (0.30, 0.80), (0.60, 0.90)
    archivist.mouse.move(shown["x"] + shown["width"] * start[0], shown["y"] + shown["height"] * start[1])
    archivist.mouse.down()
    archivist.mouse.move(shown["x"] + shown["width"] * 0.45, shown["y"] + shown["height"] * 0.85, steps=5)
    archivist.mouse.move(shown["x"] + shown["width"] * end[0], shown["y"] + shown["height"] * end[1], steps=5)
    archivist.mouse.up()
    assert figure.locator(".scan-box.added").count() == 1
    boxes = json.loads(archivist.locator("#scan-boxes").input_value())["1"]
    added = [b for b in boxes if b not in proposed]
    assert len(boxes) == len(proposed) + 1 and len(added) == 1
    left, top, right, bottom = added[0]  # the drag in the page image's pixels (within a few pixels' rounding)
    assert abs(left - start[0] * width) < 0.01 * width and abs(bottom - end[1] * height) < 0.01 * height
    figure.scroll_into_view_if_needed()
    e2e.shoot(archivist, "scan-review")
    archivist.click("form.scan-decision button[value=approve]")
    archivist.wait_for_url("**/scan-reviews")
    assert "已通过" in archivist.inner_text("main")
    assert errors == []

    reader.goto(viewer)
    assert reader.locator("img.page").count() == 1 and reader.locator("p.scan-review").count() == 0
    image = reader.request.get(reader.locator("img.page").get_attribute("src"))
    assert image.ok and image.headers["content-type"] == "image/jpeg"
    painted = Image.open(io.BytesIO(image.body())).convert("L")
    inside = painted.crop((left + 4, top + 4, right - 4, bottom - 4))
    assert ImageStat.Stat(inside).mean[0] < 40  # the archivist's box is painted over in the researcher's copy
