"""The functions behind the chat UI's widgets and its API endpoints: one ChatApp per server.

They call the same `rag` functions the CLI does (Answerer, corpus, ingest) and return what the
widgets show; ui/app.py lays the widgets out and wires them to these methods.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from rag.config import Settings
from rag import corpus
from rag.errors import InputError, RagError
from ui.render import esc_md, quotes_by_citation, render_answer, render_error, render_sources, render_streaming
from ui.session import check_history, parse_history, session_settings

log = logging.getLogger(__name__)

STREAM_EVERY_S = 0.08  # repaint the streaming answer at most this often (each repaint is a websocket message)

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
    def respond(self, question, chat, history, mode, top_k, llm, results: list | None = None):
        """Generator: stream one answer into the chat and its sources into the panel; the finished
        AnswerResult is appended to `results` when given (saved conversations, ui/conversations.py)."""
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
                    if results is not None:
                        results.append(result)
                    note = "No passage of the documents answers this question." if result.refused else ""
                    final_sources = render_sources(result.citations, self.settings, note, quotes_by_citation(result),
                                                   pages=True)  # PDF page viewers: only once the answer is done
                    yield chat, final_sources, history, ""
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
