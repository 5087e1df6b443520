"""Grounded answers: rewrite a follow-up, retrieve, refuse or prompt, stream, check the citations.

One pipeline for every backend (`settings.llm`): local GGUF, OpenAI-compatible server, Ollama, or
`extractive` (no LLM: quoted sentences). The CLI and the UI both consume `Answerer.stream`.

Numbering: the passages shown to the model are numbered [1]..[n] in the order of
`AnswerResult.citations` (retrieval rank), which is also the order the CLI, the JSON and the UI show.

Refusals: `refused=True`, `answer == REFUSAL` and no citation is cited (`cited=False` everywhere).
Three checks refuse: the retrieval-evidence floor (best dense cosine < refusal_min_score), the
model's own verdict (it answers the fixed phrase, or an uncited "not mentioned" variant), and the
citation check when not one sentence of the answer is supported by the passages.
`citations` holds the passages the model saw when the model itself refused, and is empty when the
retrieval-evidence floor refused before any passage was shown (off-topic question).
"""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from rag.answer.citations import check_sentences, clean_citations, split_answer
from rag.answer.followup import needs_rewrite
from rag.answer.generators import Generator, make_generator
from rag.answer.passages import build_citations, evidence_score
from rag.answer.prompts import REFUSAL
from rag.answer.results import AnswerResult, AnswerSentence, Citation, DoneEvent, SourcesEvent, TokenEvent
from rag.config import Settings
from rag.embedding import Embedder
from rag.query import Query, passages_shown
from rag.retrieve import Retriever

Event = SourcesEvent | TokenEvent | DoneEvent

# What a small model writes instead of the exact refusal phrase; only trusted when the answer cites
# nothing, so "The passages do not give the date, but … [1]" stays an answer.
_REFUSAL_LIKE = re.compile(
    r"(do(es)?n[o’']?t (contain|mention|provide|say|specify|include)|no information|not (mentioned|provided|"
    r"specified|stated|found)|cannot (be )?(determine|answer)|can't (determine|answer)|i don[’']?t know|unknown)",
    re.IGNORECASE)


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
        run = _Run(query=query, embedder=self._embedder or Embedder())
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
        if not history or not needs_rewrite(question):
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
        yield DoneEvent(self._result(run, REFUSAL, True, citations, [], evidence))

    def _finish(self, run: _Run, raw: str, citations: list[Citation], evidence: float) -> AnswerResult:
        """Refuse, or mark which passages the answer cites and whether its sentences are supported.
        Works on copies: the citations already sent in the sources event stay as they were."""
        uncited = [replace(c, cited=False, supported=None) for c in citations]
        answer = clean_citations(raw.strip(), len(citations))
        if is_refusal(answer):
            return self._result(run, REFUSAL, True, uncited, [], evidence)
        split = split_answer(answer)
        verdicts = check_sentences(split, {c.n: c.text for c in citations}, self.settings.support_threshold,
                                   run.embedder)
        sentences = [AnswerSentence(text, cites, ok) for (text, cites), ok in zip(split, verdicts)]
        if sentences and not any(s.supported for s in sentences):
            # Nothing in the answer is backed by the passages: the model answered from its own
            # knowledge (e.g. a population figure the documents never give). Refuse instead.
            return self._result(run, REFUSAL, True, uncited, [], evidence)
        checked = []
        for c in citations:
            citing = [s for s in sentences if c.n in s.citations]
            checked.append(replace(c, cited=bool(citing),
                                   supported=all(s.supported for s in citing) if citing else None))
        return self._result(run, answer, False, checked, sentences, evidence)

    def _result(self, run, answer, refused, citations, sentences, evidence) -> AnswerResult:
        run.mark("total_s")
        return AnswerResult(question=run.query.text, standalone_question=run.standalone.text, answer=answer,
                            refused=refused, citations=citations, sentences=sentences,
                            timings=dict(run.timings), llm=self.generator.name, evidence=evidence)


def is_refusal(answer: str) -> bool:
    norm = " ".join(re.sub(r"[^\w\s]", " ", answer.lower()).split())
    if " ".join(re.sub(r"[^\w\s]", " ", REFUSAL.lower()).split()) in norm:
        return True
    if not norm:
        return True  # an empty answer says nothing: treat it as the model finding nothing
    return not re.search(r"\[\d+\]", answer) and bool(_REFUSAL_LIKE.search(answer))
