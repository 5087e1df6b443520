"""Grounded answers: rewrite a follow-up, retrieve, refuse or prompt, stream, check the citations.

One pipeline for every backend (`settings.llm`): local GGUF, OpenAI-compatible server, Ollama, or
`extractive` (no LLM: quoted sentences). The CLI and the UI both consume `Answerer.stream`.

Numbering: the passages shown to the model are numbered [1]..[n] in the order of
`AnswerResult.citations` (retrieval rank), which is also the order the CLI, the JSON and the UI show.

Refusals: `refused=True`, `answer == REFUSAL` and no citation is cited (`cited=False` everywhere).
The pipeline decides them, not the model: the retrieval-evidence floor (best dense cosine <
refusal_min_score) before any passage is shown, then decide.py on the generated answer (every
sentence verified against the passages it cites; refused when nothing is supported or what is
supported does not answer the question). `refusal_reason` says which check refused.
`citations` holds the passages the model saw when the answer was refused after generation, and is
empty when the retrieval-evidence floor refused before any passage was shown (off-topic question).
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from rag.answer.decide import decide
from rag.answer.followup import needs_rewrite
from rag.answer.generators import Generator, make_generator
from rag.answer.passages import build_citations, evidence_score
from rag.answer.prompts import REFUSAL
from rag.answer.results import AnswerResult, Citation, DoneEvent, SourcesEvent, TokenEvent
from rag.config import Settings
from rag.embedding import Embedder
from rag.query import Query, passages_shown
from rag.retrieve import Retriever

Event = SourcesEvent | TokenEvent | DoneEvent

@dataclass
class _Run:
    """Per-question state threaded through the pipeline steps."""

    query: Query             # as the user asked it
    standalone: Query | None = None  # the follow-up made standalone (same k and mode)
    started: float = field(default_factory=time.perf_counter)
    timings: dict[str, float] = field(default_factory=dict)
    embedder: Embedder = field(default_factory=Embedder)

    def mark(self, name: str) -> None:
        """Seconds since the question arrived (first_token_s, total_s)."""
        self.timings[name] = time.perf_counter() - self.started

    def lap(self, name: str) -> None:
        """Seconds this step took (rewrite_s, retrieve_s): since the previous lap."""
        now = time.perf_counter() - self.started
        self.timings[name] = now - sum(v for k, v in self.timings.items() if k in ("rewrite_s", "retrieve_s"))


class Answerer:
    """Cheap to construct (the UI makes one per request): the retriever is shared or made on first
    use, and the generator's model is loaded on first use and cached per process."""

    def __init__(self, settings: Settings, retriever: Retriever | None = None, embedder: Embedder | None = None):
        self.settings = settings
        self._retriever = retriever
        self.generator: Generator = make_generator(settings)
        self._embedder = embedder  # None: a fresh per-question cache

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            self._retriever = Retriever(self.settings)
        return self._retriever

    def ask(self, question: str | Query, history: list[tuple[str, str]] = ()) -> AnswerResult:
        for event in self.stream(question, history):
            if isinstance(event, DoneEvent):
                return event.result
        raise AssertionError("stream ended without a result")

    def query(self, question: str, k: int | None = None, mode: str | None = None) -> Query:
        """The checked query for a question; k (the passages shown) defaults to passages_shown."""
        return Query.of(question, self.settings, k or passages_shown(self.settings), mode)

    def stream(self, question: str | Query, history: list[tuple[str, str]] = ()) -> Iterator[Event]:
        query = question if isinstance(question, Query) else self.query(question)
        run = _Run(query=query, embedder=self._embedder or Embedder(self.settings))
        self.generator.warm_up()  # load (or fail) before any work, so errors come first
        run.standalone = query.with_text(self.standalone_question(query.text, list(history)))
        run.lap("rewrite_s")
        # The query carries k and mode: a retriever shared by the UI holds the server's settings.
        hits = self.retriever.search(run.standalone, embedder=run.embedder)
        question_text = run.standalone.text
        evidence = evidence_score(question_text, hits, run.embedder)
        run.lap("retrieve_s")
        if not hits or evidence < self.settings.refusal_min_score:
            yield from self._refuse(run, [], evidence)
            return
        citations = build_citations(question_text, hits, self.settings.passage_chars, run.embedder)
        yield SourcesEvent(citations=[replace(c) for c in citations], standalone_question=question_text)
        text = yield from self._generate(run, citations)
        yield DoneEvent(self._finish(run, text, citations, evidence))

    # --- steps --------------------------------------------------------------------------------------

    def standalone_question(self, question: str, history: list[tuple[str, str]]) -> str:
        """The question made independent of the conversation. No call (no latency) without history
        or when the question does not lean on it (no pronoun, no "what about …")."""
        # The corpus's names are read with the BM25 index, loaded by the search of an earlier turn.
        if not history or not needs_rewrite(question, self.retriever.corpus_names()):
            return question
        return self.generator.rewrite(question, history)

    def _generate(self, run: _Run, citations: list[Citation]):
        parts = []
        for delta in self.generator.stream(run.standalone.text, citations, run.embedder):
            if not parts:
                run.mark("first_token_s")
            parts.append(delta)
            yield TokenEvent(delta)
        if not parts:
            run.mark("first_token_s")
        return "".join(parts)

    def _refuse(self, run: _Run, citations: list[Citation], evidence: float):
        yield SourcesEvent(citations=list(citations), standalone_question=run.standalone.text)
        run.mark("first_token_s")
        yield TokenEvent(REFUSAL)
        yield DoneEvent(self._result(run, REFUSAL, True, citations, [], evidence,
                                     "no passage is close enough to the question"))

    def _finish(self, run: _Run, raw: str, citations: list[Citation], evidence: float) -> AnswerResult:
        """Keep what the passages support, or refuse (decide.py); mark which passages are cited.
        Works on copies: the citations already sent in the sources event stay as they were."""
        decision = decide(run.standalone.text, raw, citations, run.embedder, self.retriever.corpus_names())
        if decision.refused:
            uncited = [replace(c, cited=False, supported=None) for c in citations]
            return self._result(run, REFUSAL, True, uncited, [], evidence, decision.reason, raw)
        cited = {n for s in decision.sentences for n in s.citations}
        checked = [replace(c, cited=c.n in cited, supported=True if c.n in cited else None) for c in citations]
        return self._result(run, decision.answer, False, checked, decision.sentences, evidence, draft=raw)

    def _result(self, run, answer, refused, citations, sentences, evidence, reason="", draft="") -> AnswerResult:
        run.mark("total_s")
        return AnswerResult(question=run.query.text, standalone_question=run.standalone.text, answer=answer,
                            refused=refused, citations=citations, sentences=sentences,
                            timings=dict(run.timings), llm=self.generator.name, evidence=evidence,
                            refusal_reason=reason, draft=draft)

