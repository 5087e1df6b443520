"""The Gradio app's layout: chat with streaming cited answers, a live sources panel, and document
management.

Thin by design: the handlers live in ui/handlers.py (ChatApp), which calls `rag` — the same calls the
CLI makes; launching and serving are in ui/server.py. This module only lays out widgets and wires them.
"""
from __future__ import annotations

import rag  # noqa: F401  (offline environment before Gradio loads)
from rag.config import RETRIEVAL_MODES, Settings
from rag.loaders import SUPPORTED_SUFFIXES
from ui.handlers import ChatApp
from ui.render import render_sources
from ui.session import SESSION_MAX_TOP_K, session_backends

# Several people can ask at once; each answer runs in its own worker. Retrieval and the LLM
# serialize internally where they must, so this only bounds memory and CPU contention.
CONCURRENCY = 4

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
/* the PDF page viewer (issue 14) */
details.rag-page { margin-top: 6px; font-size: 0.85em; }
details.rag-page summary { cursor: pointer; color: var(--color-accent); }
img.rag-page-img { display: block; width: 100%; height: auto; margin-top: 4px; border: 1px solid var(--border-color-primary); }
"""


def build_app(settings: Settings, retriever=None):
    """The Blocks app, not launched. `retriever` lets a caller share one already opened."""
    import gradio as gr

    from ui.conversations import Conversations

    app = ChatApp(settings, retriever)
    conversations = Conversations(app)
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
                    saved = conversations.panel()
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

        # Each finished answer is also saved to the current conversation (ui/conversations.py).
        chat_io = dict(inputs=[question, chatbot, history, mode, top_k, llm, saved.current, saved.browser_id],
                       outputs=[chatbot, sources, history, question, saved.current, saved.saved, saved.export,
                                saved.browser_id])
        question.submit(conversations.respond, **chat_io, api_visibility="private")
        send.click(conversations.respond, **chat_io, api_visibility="private")
        reset = dict(fn=lambda: ([], [], render_sources([], settings), None),
                     outputs=[chatbot, history, sources, saved.current], api_visibility="private")
        clear.click(**reset)
        chatbot.clear(**reset)  # the chat's own trash icon must forget the history too, not just the bubbles
        doc_out = [status, table, chosen]
        upload.click(app.upload, inputs=[files], outputs=doc_out, api_name="upload")
        remove.click(app.remove, inputs=[chosen], outputs=doc_out, api_name="remove")
        reindex.click(app.reindex, outputs=doc_out, api_name="reindex")
        demo.load(app.refresh, outputs=[table, chosen], api_visibility="private")
        conversations.wire(demo, saved, chatbot, history, sources)
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
