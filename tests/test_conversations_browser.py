"""Saved conversations in a real browser (Debian chromium through Playwright): an answer is saved,
the server restarts on the same index, the reloaded page reopens the conversation with its answer
and sources, continues it with a follow-up, exports it as Markdown, renames and deletes it; another
browser sees none of it."""
from __future__ import annotations

import shutil

import pytest

from rag.conversations import default_title
from tests.helpers import DEFAULT_CORPUS, free_port, make_settings, wait_for_port
from tests.test_ui_browser import ARGS, CHROMIUM, ask

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed: run `make browser`"),
]
QUESTION = "Which general met with General Mohammed al-Haddad in Botswana?"
SOURCE = "US-pushes-unified-Libyan-army-to-counter-Russian-expansion.txt"


def open_page(context, url):
    page = context.new_page()
    page.goto(url, wait_until="load")
    page.locator("#rag-question textarea").wait_for()
    return page


def choose(page, title: str) -> None:
    # Typed and confirmed with Enter: clicking an option of Gradio's dropdown list was flaky here.
    box = page.locator("#rag-saved input")
    box.click()
    box.fill(title)
    page.keyboard.press("Enter")
    page.wait_for_function("t => document.querySelector('#rag-saved input').value === t", arg=title)


def saved_titles(page) -> list[str]:
    page.locator("#rag-saved input").click()
    page.wait_for_timeout(300)  # the list renders after the click
    titles = [o.get_attribute("aria-label") for o in page.get_by_role("option").all()]
    page.keyboard.press("Escape")
    return titles


def exported(page) -> str:
    with page.expect_download() as download:
        page.locator("#rag-export").click()
    return open(download.value.path(), encoding="utf-8").read()


def test_a_conversation_survives_a_restart_and_exports(tmp_path):
    from playwright.sync_api import sync_playwright

    from rag.ingest import ingest
    from ui.server import serving

    shutil.copytree(DEFAULT_CORPUS, tmp_path / "corpus")
    settings = make_settings(tmp_path, llm="extractive", port=free_port())
    ingest(settings, show_progress=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        context = browser.new_context(accept_downloads=True)
        with serving(settings) as url:
            wait_for_port(settings.port)
            page = open_page(context, url)
            answer = ask(page, QUESTION)
            assert "Langley" in answer
            # Saved once the answer is complete: the list selects it.
            page.wait_for_function("() => document.querySelector('#rag-saved input').value.length > 0",
                                   timeout=30_000)
        with serving(settings) as url:  # a new server process state on the same index and port
            wait_for_port(settings.port)
            page.reload(wait_until="load")
            page.locator("#rag-question textarea").wait_for()
            assert page.locator('[data-testid="bot"]').count() == 0  # a fresh page: nothing on screen
            title = default_title(QUESTION)  # named after its first question, cut at 60 characters
            assert saved_titles(page) == [title]
            choose(page, title)
            page.locator("#rag-open").click()
            page.locator('[data-testid="bot"]').first.wait_for()
            assert "Langley" in page.locator('[data-testid="bot"]').first.inner_text()
            assert page.locator('[data-testid="user"]').first.inner_text().strip() == QUESTION
            first = page.locator("#rag-sources .rag-source").first
            first.wait_for()
            assert SOURCE in first.locator(".rag-file").inner_text()

            # The reopened conversation goes on: a follow-up is answered from it and saved into it.
            follow = ask(page, "Where did that meeting take place?")
            assert "Gaborone" in follow or "Botswana" in follow
            # The save and the new export file follow the answer's last repaint: poll for them.
            for _ in range(20):
                markdown = exported(page)
                if "Where did that meeting" in markdown:
                    break
                page.wait_for_timeout(500)
            assert saved_titles(page) == [title]
            assert markdown.startswith(f"# {title}\n") and f"## {QUESTION}" in markdown
            assert "## Where did that meeting take place?" in markdown
            assert f"`{SOURCE}`" in markdown and "Langley" in markdown and "\n> " in markdown

            # Another browser has its own (empty) list.
            other = open_page(browser.new_context(), url)
            assert saved_titles(other) == []
            other.context.close()

            page.locator("#rag-title textarea").fill("Libya notes")
            page.locator("#rag-rename").click()
            page.get_by_text("✓ renamed").wait_for()
            assert saved_titles(page) == ["Libya notes"]
            choose(page, "Libya notes")
            page.locator("#rag-delete").click()
            page.get_by_text("✓ deleted").wait_for()
            assert saved_titles(page) == []
        browser.close()
