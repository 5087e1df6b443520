"""Saved conversations in the chat tab: every answer is stored (rag/conversations.py) under its owner —
the logged-in user, else a random id this browser keeps in its local storage (gr.BrowserState,
encrypted with a secret kept beside the index so it survives restarts) — and can be reopened with its
answers and sources, renamed, deleted and exported as Markdown (rag/export.py).
"""
from __future__ import annotations

import atexit
import logging
import re
import shutil
import sqlite3
import tempfile
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import rag  # noqa: F401  (offline environment before Gradio loads)
import gradio as gr

from rag.conversations import ConversationNotFound, ConversationStore, owner_key, result_from_json
from rag.errors import RagError
from rag.export import to_markdown
from ui.render import esc_md, quotes_by_citation, render_answer, render_sources

log = logging.getLogger(__name__)

BROWSER_KEY = "rag-browser-id"  # the localStorage entry holding this browser's (encrypted) id
REFUSED_NOTE = "No passage of the documents answers this question."
MINTED_IDS_KEPT = 4096  # page sessions whose newly made browser id is remembered (see browser_id)


@dataclass
class Panel:
    browser_id: gr.BrowserState
    current: gr.State   # the id of the conversation the chat is in (None: not saved yet)
    saved: gr.Dropdown  # the chosen saved conversation
    open: gr.Button
    export: gr.DownloadButton
    title: gr.Textbox
    rename: gr.Button
    delete: gr.Button
    status: gr.Markdown


class Conversations:
    def __init__(self, chat_app, store: ConversationStore | None = None):
        self.app = chat_app
        self.settings = chat_app.settings
        self.store = store or ConversationStore.beside_index(self.settings)
        self.export_dir = Path(tempfile.mkdtemp(prefix="rag-export-"))
        # Exports are served from here while the UI runs; every launch left one behind in /tmp.
        atexit.register(shutil.rmtree, self.export_dir, True)
        self._minted: OrderedDict[str, str] = OrderedDict()  # page session -> the browser id made for it
        self._minted_lock = threading.Lock()

    # --- layout (inside the chat column) -------------------------------------------------------
    def panel(self) -> Panel:
        browser_id = gr.BrowserState("", storage_key=BROWSER_KEY, secret=self.store.secret())
        current = gr.State(None)
        with gr.Accordion("Saved conversations", open=True):
            with gr.Row():
                saved = gr.Dropdown([], label="Conversation", elem_id="rag-saved", scale=4)
                open_ = gr.Button("Open", elem_id="rag-open", scale=1, size="sm")
                export = gr.DownloadButton("Export Markdown", elem_id="rag-export", scale=1, size="sm",
                                           interactive=False)
            with gr.Row():
                title = gr.Textbox(placeholder="New title", show_label=False, elem_id="rag-title", scale=4)
                rename = gr.Button("Rename", elem_id="rag-rename", scale=1, size="sm")
                delete = gr.Button("Delete", elem_id="rag-delete", variant="stop", scale=1, size="sm")
            status = gr.Markdown("", elem_id="rag-conv-status")
        return Panel(browser_id, current, saved, open_, export, title, rename, delete, status)

    def wire(self, demo, p: Panel, chatbot, history, sources) -> None:
        private = dict(api_visibility="private")
        demo.load(self.on_load, inputs=[p.browser_id], outputs=[p.browser_id, p.saved], **private)
        p.open.click(self.reopen, inputs=[p.saved, p.browser_id],
                     outputs=[chatbot, history, sources, p.current, p.title, p.status], **private)
        p.rename.click(self.rename, inputs=[p.saved, p.title, p.browser_id], outputs=[p.saved, p.status, p.export],
                       **private)
        p.delete.click(self.delete, inputs=[p.saved, p.current, p.browser_id],
                       outputs=[p.saved, p.current, p.status], **private)
        p.saved.change(self.export_file, inputs=[p.saved, p.browser_id], outputs=[p.export], **private)

    # --- handlers ------------------------------------------------------------------------------
    def on_load(self, browser_id, request: gr.Request):
        """A browser seen for the first time gets its random id (kept in its local storage)."""
        browser_id = self.browser_id(browser_id, request)
        return browser_id, self._choices(owner_key(request.username, browser_id), None)

    def browser_id(self, browser_id: str, request: gr.Request) -> str:
        """This browser's id; a new browser's is made once per page session. A question sent before the
        page's load event has stored the new id arrives without one: it gets the same id the load event
        makes (and stores), so that first answer is saved where the reloaded page will look."""
        if browser_id or not request.session_hash:
            return browser_id or uuid.uuid4().hex
        with self._minted_lock:
            minted = self._minted.setdefault(request.session_hash, uuid.uuid4().hex)
            self._minted.move_to_end(request.session_hash)
            while len(self._minted) > MINTED_IDS_KEPT:
                self._minted.popitem(last=False)
        return minted

    def respond(self, question, chat, history, mode, top_k, llm, current, browser_id, request: gr.Request):
        """The chat handler (ChatApp.respond), then the finished answer is saved to the conversation."""
        results: list = []
        outputs = None
        for outputs in self.app.respond(question, chat, history, mode, top_k, llm, results=results):
            yield (*outputs, current, gr.skip(), gr.skip(), gr.skip())
        browser_id = self.browser_id(browser_id, request)
        owner = owner_key(request.username, browser_id)
        if not results or owner is None:
            return
        try:
            try:
                current = self.store.add_turn(owner, current, results[-1])
            except ConversationNotFound:  # deleted (in another tab) since: this answer starts a new one
                current = self.store.add_turn(owner, None, results[-1])
        except sqlite3.Error as exc:  # the answer is shown; only its saving failed
            log.warning("cannot save the conversation: %s", exc)
            return
        # The export is rebuilt here too: the list's value (this conversation) may not have changed.
        yield (*outputs, current, self._choices(owner, current), self.export_file(current, browser_id, request),
               browser_id)

    def reopen(self, conversation_id, browser_id, request: gr.Request):
        owner = owner_key(request.username, browser_id)
        try:
            conversation = self._get(owner, conversation_id)
        except RagError as exc:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), f"✗ {esc_md(str(exc))}"
        chat, pairs, result = [], [], None
        for record in conversation.turns:
            result = result_from_json(record)
            chat += [{"role": "user", "content": esc_md(result.question)},
                     {"role": "assistant", "content": render_answer(result)}]
            pairs.append((result.question, result.answer))
        panel = (render_sources(result.citations, self.settings, REFUSED_NOTE if result.refused else "",
                                quotes_by_citation(result)) if result else render_sources([], self.settings))
        return chat, pairs, panel, conversation.id, conversation.title, ""

    def rename(self, conversation_id, title, browser_id, request: gr.Request):
        owner = owner_key(request.username, browser_id)
        try:
            self.store.rename(owner or "", conversation_id or "", title)
        except RagError as exc:
            return gr.skip(), f"✗ {esc_md(str(exc))}", gr.skip()
        return self._choices(owner, conversation_id), "✓ renamed", self.export_file(conversation_id, browser_id, request)

    def delete(self, conversation_id, current, browser_id, request: gr.Request):
        owner = owner_key(request.username, browser_id)
        try:
            self.store.delete(owner or "", conversation_id or "")
        except RagError as exc:
            return gr.skip(), current, f"✗ {esc_md(str(exc))}"
        # The chat stays on screen; its next question starts a new saved conversation.
        return self._choices(owner, None), None if current == conversation_id else current, "✓ deleted"

    def export_file(self, conversation_id, browser_id, request: gr.Request):
        """The chosen conversation as a Markdown file for the download button (disabled without one)."""
        owner = owner_key(request.username, browser_id)
        try:
            conversation = self._get(owner, conversation_id)
        except RagError:
            return gr.update(value=None, interactive=False)
        folder = Path(tempfile.mkdtemp(dir=self.export_dir))  # one per export: names may repeat
        path = folder / f"{re.sub(r'[^A-Za-z0-9._-]+', '-', conversation.title).strip('-.')[:60] or 'conversation'}.md"
        path.write_text(to_markdown(conversation.turns, title=conversation.title), encoding="utf-8")
        return gr.update(value=str(path), interactive=True)

    # --- helpers -------------------------------------------------------------------------------
    def _get(self, owner, conversation_id):
        if not owner or not conversation_id:
            raise ConversationNotFound()
        return self.store.get(owner, conversation_id)

    def _choices(self, owner: str | None, selected: str | None):
        rows = self.store.list(owner) if owner else []
        return gr.update(choices=[(title, cid) for cid, title in rows], value=selected)
