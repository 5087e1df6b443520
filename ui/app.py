"""The Gradio app: chat with streaming cited answers, a live sources panel, and document management.

Thin by design: answers come from `rag.answer.Answerer`, indexing from `rag.ingest.ingest`, the file
list from `rag.store.Store` — the same calls the CLI makes. This module only wires them to widgets.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import rag  # noqa: F401  (offline environment before Gradio loads)
from rag.config import RETRIEVAL_MODES, Settings
from rag import corpus
from rag.errors import InputError, RagError
from rag.loaders import SUPPORTED_SUFFIXES
from ui.render import esc_md, quotes_by_citation, render_answer, render_error, render_sources, render_streaming
from ui.hosts import host_check_app_kwargs
from ui.session import SESSION_MAX_TOP_K, check_history, launch_auth, parse_history, session_backends, session_settings

log = logging.getLogger(__name__)

# Several people can ask at once; each answer runs in its own worker. Retrieval and the LLM
# serialize internally where they must, so this only bounds memory and CPU contention.
CONCURRENCY = 4
STREAM_EVERY_S = 0.08  # repaint the streaming answer at most this often (each repaint is a websocket message)

CSS = """
.rag-sources { display: flex; flex-direction: column; gap: 10px; max-height: 640px; overflow-y: auto; }
.rag-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px;
              background: var(--background-fill-secondary); }
.rag-source.rag-uncited { opacity: 0.6; }
.rag-source-head { display: flex; align-items: baseline; gap: 6px; font-weight: 600; }
.rag-n { color: var(--color-accent); font-family: var(--font-mono); }
.rag-title { flex: 1; }
.rag-score { font-weight: 400; font-size: 0.8em; color: var(--body-text-color-subdued); white-space: nowrap; }
.rag-file { display: flex; flex-wrap: wrap; align-items: center; gap: 4px; font-size: 0.8em; color: var(--body-text-color-subdued); margin: 2px 0 6px; word-break: break-all; }
.rag-passage { font-size: 0.9em; line-height: 1.45; white-space: pre-wrap; color: var(--body-text-color-subdued); }
.rag-passage .rag-span { background: #fef9c3; color: #1f2937; }
.rag-passage mark.rag-quote { background: #fcd34d; color: #111827; font-weight: 600; border-radius: 3px; padding: 0 1px; }
details.rag-source summary { cursor: pointer; list-style: none; }
details.rag-source summary::before { content: "▸ "; color: var(--body-text-color-subdued); }
details.rag-source[open] summary::before { content: "▾ "; }
details.rag-source[open] { opacity: 0.85; }
.rag-badge { padding: 0 6px; border-radius: 6px; white-space: nowrap; }
.rag-ok { background: #dcfce7; color: #166534; }
.rag-warn { background: #fef3c7; color: #92400e; }
.rag-muted { background: var(--background-fill-primary); }
.rag-empty, .rag-note { color: var(--body-text-color-subdued); font-style: italic; padding: 8px 2px; }
footer { display: none !important; }
"""


# --- the app ------------------------------------------------------------------------------------

_PIPELINE_IMPORT_LOCK = threading.Lock()


def import_pipeline() -> None:
    """Import every module answering and indexing need, once, under one lock.

    llama-index's packages import each other in cycles: two threads importing them at once (the
    warm-up and the first question) deadlock on a module lock or see a half-initialised module.
    Every handler that reaches the pipeline calls this first; after the first call it is a no-op.
    """
    with _PIPELINE_IMPORT_LOCK:
        import rag.embedding  # noqa: F401
        import rag.answer  # noqa: F401  (prompts, citations, extractive, retrieve)
        import rag.ingest  # noqa: F401
        from rag import bm25

        bm25._retriever_class()

class ChatApp:
    """Holds what one server process shares between sessions: settings and one Retriever."""

    def __init__(self, settings: Settings, retriever=None):
        self.settings = settings
        self._retriever = retriever
        self._retriever_lock = threading.Lock()

    @property
    def retriever(self):
        # Created on first use so the page is up before Chroma and BM25 are opened.
        import_pipeline()
        with self._retriever_lock:
            if self._retriever is None:
                from rag.retrieve import Retriever

                self._retriever = Retriever(self.settings)
            return self._retriever

    def answerer(self, settings: Settings):
        import_pipeline()
        from rag.answer import Answerer

        # The Answerer passes the session's mode and k to the shared retriever on every search.
        return Answerer(settings, retriever=self.retriever)

    def warm_up(self) -> None:
        """Load the embedding model, BM25 index and LLM in the background so the first answer is quick."""
        try:
            import_pipeline()
            from rag.embedding import embed_query

            self.retriever.refresh()
            embed_query("warm up", self.settings)
            self.answerer(self.settings).generator.warm_up()  # loads the local model now, not on the first question
        except Exception as exc:  # the first question will report the same problem properly
            log.warning("warm-up failed: %s", exc)

    # --- chat ------------------------------------------------------------------------------------
    def respond(self, question, chat, history, mode, top_k, llm):
        """Generator: stream one answer into the chat and its sources into the panel."""
        import_pipeline()
        from rag.answer import DoneEvent, SourcesEvent, TokenEvent

        question = (question or "").strip()
        chat, history = list(chat or []), list(history or [])
        if not question:
            yield chat, render_sources([], self.settings), history, ""
            return
        chat += [{"role": "user", "content": esc_md(question)},
                 {"role": "assistant", "content": render_streaming("")}]
        yield chat, render_sources([], self.settings, "Searching the documents…"), history, ""
        sources_html, text, last_paint = None, "", 0.0
        try:
            s = session_settings(self.settings, mode, top_k, llm)
            for event in self.answerer(s).stream(question, history=[tuple(p) for p in history]):
                if isinstance(event, SourcesEvent):
                    sources_html = render_sources(event.citations, self.settings,
                                                  "" if event.citations else "No passage matched the question.")
                    yield chat, sources_html, history, ""
                elif isinstance(event, TokenEvent):
                    text += event.text
                    if time.monotonic() - last_paint >= STREAM_EVERY_S:
                        last_paint = time.monotonic()
                        chat[-1] = {"role": "assistant", "content": render_streaming(text)}
                        yield chat, sources_html, history, ""
                elif isinstance(event, DoneEvent):
                    result = event.result
                    chat[-1] = {"role": "assistant", "content": render_answer(result)}
                    history.append((question, result.answer))
                    note = "No passage of the documents answers this question." if result.refused else ""
                    yield chat, render_sources(result.citations, self.settings, note, quotes_by_citation(result)), history, ""
        except RagError as exc:
            chat[-1] = {"role": "assistant", "content": render_error(str(exc))}
            yield chat, sources_html or render_sources([], self.settings), history, ""
        except Exception as exc:  # a bug or a crashed backend: say so in the chat, keep the session usable
            log.exception("answering failed")
            chat[-1] = {"role": "assistant", "content": render_error(f"internal error ({type(exc).__name__}); see the server log")}
            yield chat, sources_html or render_sources([], self.settings), history, ""

    # --- API -------------------------------------------------------------------------------------
    def ask(self, question: str, history: str = "", mode: str = "", top_k: int = 0, llm: str = "") -> dict:
        """Answer one question (history: JSON [[question, answer], ...]); the AnswerResult as JSON."""
        try:
            s = session_settings(self.settings, mode, top_k, llm)
            pairs = check_history(parse_history(history), self.settings)
            return self.answerer(s).ask(question, history=pairs).as_json()
        except RagError as exc:
            return {"error": str(exc), "question": question}

    def documents(self) -> list[dict]:
        """Every corpus file: source, title, chunk count, ingest time (Unix seconds), status ("indexed",
        or why not)."""
        return [row.__dict__ for row in corpus.list_documents(self.settings)]

    # --- documents tab ---------------------------------------------------------------------------
    def table(self) -> list[list]:
        try:
            return [row.as_row() for row in corpus.list_documents(self.settings)]
        except RagError as exc:
            log.warning("cannot list documents: %s", exc)
            return []

    def _after_change(self, messages: list[str]):
        import gradio as gr

        try:
            import_pipeline()
            report = corpus.reindex(self.settings, self.retriever)
            messages.append("Re-indexed: " + report.summary())
            messages += [f"⚠ skipped {src}: {why}" for src, why in report.failed.items()]
        except RagError as exc:
            messages.append(f"✗ re-indexing failed: {exc}")
        rows = self.table()
        return ("\n\n".join(esc_md(m) for m in messages), rows,
                gr.update(choices=[r[0] for r in rows], value=None))

    def upload(self, files):
        messages, saved = [], set()
        for item in files or []:
            path = item if isinstance(item, str) else getattr(item, "path", None) or item.get("path")
            original = Path(path).name
            try:
                if original in saved:
                    raise InputError("another file of this upload has the same name; upload it on its own "
                                     "to replace the first")
                name = corpus.save_upload(self.settings, path, original)
                saved.add(original)
                messages.append(f"✓ added {name}" if name == original else
                                f"✓ added {original} as {name} (its name was made safe or already taken)")
            except (RagError, OSError) as exc:
                messages.append(f"✗ {original}: {exc}")
        if not messages:
            messages.append("Choose one or more files first.")
        return self._after_change(messages)

    def remove(self, source):
        messages = []
        try:
            messages.append(f"✓ removed {corpus.remove_document(self.settings, source)}")
        except RagError as exc:
            messages.append(f"✗ {exc}")
        except OSError as exc:  # never Gradio's raw error popup
            messages.append(f"✗ cannot remove {source}: {exc.strerror or exc}")
        return self._after_change(messages)

    def reindex(self):
        return self._after_change([])

    def refresh(self):
        import gradio as gr

        rows = self.table()
        return rows, gr.update(choices=[r[0] for r in rows])


def build_app(settings: Settings, retriever=None):
    """The Blocks app, not launched. `retriever` lets a caller share one already opened."""
    import gradio as gr

    app = ChatApp(settings, retriever)
    suffixes = sorted(SUPPORTED_SUFFIXES)
    with gr.Blocks(title="Ask your documents", fill_width=True) as demo:
        gr.Markdown("## Ask your documents\nAnswers come only from the indexed files; every claim cites "
                    "its passage [n], shown on the right.")
        history = gr.State([])  # this session's (question, answer) pairs: plain text, not the rendered chat
        with gr.Tab("Chat"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(label="Conversation", height=560, elem_id="rag-chat",
                                         feedback_options=None, buttons=["copy"],
                                         latex_delimiters=[], placeholder="Ask a question about your documents.")
                    with gr.Row():
                        question = gr.Textbox(placeholder="Ask a question about your documents…", show_label=False,
                                              scale=6, elem_id="rag-question", max_lines=4, autofocus=True)
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="rag-send")
                    with gr.Accordion("Settings for this session", open=False):
                        with gr.Row():
                            mode = gr.Radio(list(RETRIEVAL_MODES), value=settings.retrieval_mode, label="Retrieval")
                            top_k = gr.Slider(1, SESSION_MAX_TOP_K, value=min(settings.answer_passages, SESSION_MAX_TOP_K),
                                              step=1, label="Passages (top-k)")
                            llm = gr.Dropdown(session_backends(settings), value=settings.llm, label="Answering backend")
                        clear = gr.Button("New conversation", size="sm")
                with gr.Column(scale=2):
                    gr.Markdown("### Sources")
                    sources = gr.HTML(render_sources([], settings), elem_id="rag-sources", js_on_load=None)
        with gr.Tab("Documents"):
            status = gr.Markdown("", elem_id="rag-doc-status")
            table = gr.Dataframe(headers=["File", "Title", "Chunks", "Indexed at", "Status"], value=[],  # filled on page load
                                 interactive=False, elem_id="rag-docs", wrap=True,
                                 column_widths=["26%", "30%", "7%", "13%", "24%"])
            with gr.Row():
                with gr.Column():
                    gr.Markdown(f"**Add documents** — {', '.join(suffixes)}; up to {settings.upload_limit_mb:g} MB "
                                "each. A file with the same name replaces the old one.")
                    files = gr.File(label="Files to add", file_count="multiple", file_types=suffixes,
                                    type="filepath")
                    upload = gr.Button("Add and re-index", variant="primary")
                with gr.Column():
                    gr.Markdown("**Remove a document** — deletes the file from the corpus folder and its passages "
                                "from the index (indexed or not).")
                    # Any value is accepted: an API client (a fresh session) has no choices loaded;
                    # remove_document checks that the name is a file of the corpus.
                    chosen = gr.Dropdown([], label="Document", elem_id="rag-remove-choice", allow_custom_value=True)
                    remove = gr.Button("Remove and re-index", variant="stop")
                    reindex = gr.Button("Re-index the corpus folder (picks up files copied there)", size="sm")

        chat_io = dict(inputs=[question, chatbot, history, mode, top_k, llm], outputs=[chatbot, sources, history, question])
        question.submit(app.respond, **chat_io, api_visibility="private")
        send.click(app.respond, **chat_io, api_visibility="private")
        reset = dict(fn=lambda: ([], [], render_sources([], settings)), outputs=[chatbot, history, sources],
                     api_visibility="private")
        clear.click(**reset)
        chatbot.clear(**reset)  # the chat's own trash icon must forget the history too, not just the bubbles
        doc_out = [status, table, chosen]
        upload.click(app.upload, inputs=[files], outputs=doc_out, api_name="upload")
        remove.click(app.remove, inputs=[chosen], outputs=doc_out, api_name="remove")
        reindex.click(app.reindex, outputs=doc_out, api_name="reindex")
        demo.load(app.refresh, outputs=[table, chosen], api_visibility="private")
        gr.api(app.ask, api_name="ask")
        gr.api(app.documents, api_name="documents")
    demo.queue(default_concurrency_limit=CONCURRENCY)
    demo.rag_app = app  # for tests and serve(): the shared state behind the widgets
    return demo


def theme():
    import gradio as gr

    # System fonts only: nothing is fetched from outside (Gradio's default ships its fonts locally too).
    return gr.themes.Soft(font=["system-ui", "Segoe UI", "Helvetica", "Arial", "sans-serif"],
                          font_mono=["ui-monospace", "DejaVu Sans Mono", "monospace"])


def _hold_index_while_served(demo, settings: Settings) -> None:
    """The served app is the only writer of an embedded index (see rag.ingest.hold_served_index);
    the lock is released when the app is closed."""
    from rag.ingest import hold_served_index

    held = hold_served_index(settings)
    if held is None:
        return
    close = demo.close

    def close_and_release(*args, **kwargs):
        try:
            return close(*args, **kwargs)
        finally:
            held.close()

    demo.close = close_and_release


def launch(demo, settings: Settings, prevent_thread_lock: bool = False, quiet: bool = False):
    auth = launch_auth(settings)
    _hold_index_while_served(demo, settings)
    return demo.launch(server_name=settings.host, server_port=settings.port, auth=auth, share=False,
                       prevent_thread_lock=prevent_thread_lock, quiet=quiet, inbrowser=False,
                       max_file_size=int(settings.upload_limit_mb * 1e6), show_error=True,
                       theme=theme(), css=CSS, footer_links=["api"], ssr_mode=False, pwa=False,
                       mcp_server=False, enable_monitoring=False, app_kwargs=host_check_app_kwargs(settings))


@contextmanager
def serving(settings: Settings):
    """The app running in a background thread on settings.host:port (tests, benchmarks); yields its
    URL and closes it on exit."""
    demo = build_app(settings)
    launch(demo, settings, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{settings.port}/"
    finally:
        demo.close()


def serve(settings: Settings) -> int:
    """`rag serve`: check the bind first (fails in milliseconds), then build and run until Ctrl-C."""
    started = time.perf_counter()
    launch_auth(settings)
    demo = build_app(settings)
    print(f"Starting the chat UI on http://{settings.host}:{settings.port} (Ctrl-C stops it)", file=sys.stderr)
    launch(demo, settings, prevent_thread_lock=True, quiet=True)
    print(f"ready in {time.perf_counter() - started:.1f} s: http://{settings.host}:{settings.port}", file=sys.stderr)
    # Models load once the page is up, so they never delay it; a question asked meanwhile just waits.
    threading.Thread(target=demo.rag_app.warm_up, name="warm-up", daemon=True).start()
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        demo.close()
    return 0
