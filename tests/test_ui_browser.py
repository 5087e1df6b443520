"""The chat UI in a real headless browser (Debian chromium through Playwright): ask, read the
streamed answer, check the sources panel, keep sessions apart, never run markup from text, and
save the README screenshot."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.helpers import REPO, running_ui

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed: run `make browser` "
                                                      "(apt-get install -y chromium)"),
]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update"]
SCREENSHOT = REPO / "docs" / "screenshot.png"
MARKUP_DOC = ("Notes on the Vexmoor harbour inspection.\n"
              'The Vexmoor harbour inspector wrote <img src=x onerror="window.__xss=1"> and '
              "<script>window.__xss=2</script> into the harbour inspection log of March 2024.\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_ui(tmp_path_factory.mktemp("ui-browser"), extra_files={"vexmoor.txt": MARKUP_DOC}) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh browser session (own cookies, own Gradio session) that records every request host."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.requested_hosts = set()
    page.on("request", lambda r: page.requested_hosts.add(urlparse(r.url).hostname))
    # "networkidle" never settles on a Gradio page (it keeps a connection open): wait for load, then elements.
    page.goto(server[0], wait_until="load")
    page.locator("#rag-question textarea").wait_for()
    yield page
    context.close()


def ask(page, question: str) -> str:
    """Type a question, send it, wait until the streamed answer is complete; returns its text."""
    before = page.locator('[data-testid="bot"]').count()
    page.locator("#rag-question textarea").fill(question)
    page.locator("#rag-send").click()
    page.wait_for_function(
        """n => { const m = document.querySelectorAll('[data-testid="bot"]');
                  return m.length > n && !m[m.length - 1].innerText.includes('▍'); }""",
        arg=before, timeout=120_000)
    return page.locator('[data-testid="bot"]').last.inner_text()


def test_answer_streams_in_and_the_sources_panel_shows_the_cited_passage(page):
    answer = ask(page, "Which general met with General Mohammed al-Haddad in Botswana?")
    assert "[1]" in answer and "Langley" in answer
    first = page.locator("#rag-sources .rag-source").first
    assert "[1]" in first.locator(".rag-n").inner_text()
    assert "US-pushes-unified-Libyan-army" in first.locator(".rag-file").inner_text()
    # The cited span is highlighted, and within it the sentence the (extractive) answer quotes.
    quoted = re.sub(r"\s*\[\d+\]", "", answer.splitlines()[0]).strip().rstrip(".")
    assert quoted[:60] in " ".join(first.locator(".rag-span").inner_text().split())
    assert quoted[:60] in " ".join(first.locator("mark.rag-quote").inner_text().split())
    page.screenshot(path=str(SCREENSHOT))
    assert page.requested_hosts <= {"127.0.0.1"}, f"outbound requests: {page.requested_hosts}"


def test_off_topic_question_is_shown_as_a_refusal(page):
    answer = ask(page, "What is the best recipe for a chocolate cake with strawberries?")
    assert "Not found in the documents" in answer


def test_markup_in_questions_and_documents_is_shown_as_text(page):
    answer = ask(page, 'What did the Vexmoor harbour inspector write? <img src=x onerror="window.__xss=3">')
    assert page.evaluate("window.__xss") is None
    assert '<img src=x onerror="window.__xss=3">' in page.locator('[data-testid="user"]').last.inner_text()
    panel = page.locator("#rag-sources").inner_text()
    assert "<script>window.__xss=2</script>" in panel
    assert page.locator("#rag-sources img, #rag-sources script, [data-testid='bot'] img").count() == 0
    assert "Vexmoor" in answer


def test_two_sessions_keep_their_own_conversations(browser, server):
    pages = []
    for _ in range(2):
        context = browser.new_context()
        p = context.new_page()
        p.goto(server[0], wait_until="load")
        p.locator("#rag-question textarea").wait_for()
        pages.append(p)
    try:
        questions = ["Which general met with General Mohammed al-Haddad in Botswana?",
                     "Who met a US Army delegation in Benghazi?"]
        for p, q in zip(pages, questions):  # both in flight at once
            p.locator("#rag-question textarea").fill(q)
            p.locator("#rag-send").click()
        for p, q, other in zip(pages, questions, reversed(questions)):
            p.wait_for_function("""() => { const m = document.querySelectorAll('[data-testid="bot"]');
                                           return m.length && !m[m.length - 1].innerText.includes('▍'); }""",
                                timeout=120_000)
            users = p.locator('[data-testid="user"]').all_inner_texts()
            assert users == [q] and other not in p.locator("#rag-chat").inner_text()
    finally:
        for p in pages:
            p.context.close()


def test_documents_tab_lists_the_indexed_files(page):
    page.get_by_role("tab", name="Documents").click()
    table = page.locator("#rag-docs")
    table.get_by_text("vexmoor.txt").wait_for()
    text = table.inner_text()
    assert "US-pushes-unified-Libyan-army-to-counter-Russian-expansion.txt" in text
