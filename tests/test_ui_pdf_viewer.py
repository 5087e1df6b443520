"""The PDF page viewer in a real headless browser: a PDF citation opens its page, rendered with the
cited passage highlighted; saves docs/pdf-viewer.png for the README."""
from __future__ import annotations

import pytest

from tests.docfiles import FACT_PAGE, write_pdf
from tests.helpers import REPO, running_ui
from tests.test_ui_browser import ARGS, CHROMIUM, ask

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed: run `make browser`"),
]
SCREENSHOT = REPO / "docs" / "pdf-viewer.png"
# Pixels of the highlight colour (a translucent yellow over white) in the rendered page.
COUNT_HIGHLIGHT = """img => { const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext('2d'); g.drawImage(img, 0, 0); const d = g.getImageData(0, 0, c.width, c.height).data;
    let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 240 && d[i + 1] > 200 && d[i + 1] < 245 && d[i + 2] < 200) n++;
    return n; }"""


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("ui-pdf")
    pdf = write_pdf(tmp / "survey.pdf").read_bytes()
    with running_ui(tmp / "app", extra_files={"harbour-survey.pdf": pdf}) as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, wait_until="load")
        page.locator("#rag-question textarea").wait_for()
        yield page
        browser.close()


def test_a_pdf_citation_opens_its_page_with_the_passage_highlighted(page):
    answer = ask(page, "Who painted the Vexmoor lighthouse green?")
    assert "Alma Quist" in answer and "[1]" in answer
    first = page.locator("#rag-sources .rag-source").first
    assert f"p. {FACT_PAGE}" in first.locator(".rag-file").inner_text()
    assert f"Section {FACT_PAGE}" in first.locator(".rag-title").inner_text()
    viewer = first.locator("details.rag-page")
    image = viewer.locator("img.rag-page-img")
    assert not image.is_visible()  # folded until asked for
    viewer.locator("summary").click()
    image.wait_for(state="visible")
    assert viewer.get_attribute("data-page") == str(FACT_PAGE) and int(viewer.get_attribute("data-boxes")) >= 1
    assert (image.get_attribute("src") or "").startswith("data:image/png;base64,")
    assert image.evaluate(COUNT_HIGHLIGHT) > 1000  # the highlight is drawn on this page's image
    _screenshot_citation(page, first)


def _screenshot_citation(page, card) -> None:
    """The cited passage's card for the README: its title, the file and page line and the page image
    with the highlight, from the top of the card down to where the sources panel (which scrolls) or
    the window ends."""
    card.evaluate("e => e.scrollIntoView({block: 'start'})")
    box, panel = card.bounding_box(), page.locator("#rag-sources").bounding_box()
    bottom = min(box["y"] + box["height"], panel["y"] + panel["height"], page.viewport_size["height"])
    page.screenshot(path=str(SCREENSHOT), clip={"x": box["x"], "y": box["y"], "width": box["width"], "height": bottom - box["y"]})
