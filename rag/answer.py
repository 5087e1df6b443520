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
from dataclasses import asdict, dataclass, field

import numpy as np

from rag.citations import check_passages, check_sentences, clean_citations, split_answer
from rag.config import Settings
from rag.embedding import embed_query, embed_texts
from rag.extractive import extractive_answer, heuristic_rewrite, needs_rewrite, score_sentences
from rag.prompts import REFUSAL, answer_messages, condense_messages
from rag.retrieve import Hit, Retriever, check_question

REWRITE_MAX_TOKENS = 60
# What a small model writes instead of the exact refusal phrase; only trusted when the answer cites
# nothing, so "The passages do not give the date, but … [1]" stays an answer.
_REFUSAL_LIKE = re.compile(
    r"(do(es)?n[o’']?t (contain|mention|provide|say|specify|include)|no information|not (mentioned|provided|"
    r"specified|stated|found)|cannot (be )?(determine|answer)|can't (determine|answer)|i don[’']?t know|unknown)",
    re.IGNORECASE)


@dataclass
class Citation:
    n: int
    id: str
    source: str
    title: str
    start: int       # character offsets of `text` in the source document
    end: int
    text: str        # the (trimmed) passage exactly as shown to the model
    score: float     # the retriever's score for the chunk (rrf in hybrid mode, cosine in dense, bm25)
    cited: bool = False
    supported: bool | None = None


@dataclass
class AnswerSentence:
    text: str
    citations: list[int]
    supported: bool | None  # None: nothing to check it against (no passages)


@dataclass
class AnswerResult:
    question: str
    standalone_question: str
    answer: str
    refused: bool
    citations: list[Citation]
    sentences: list[AnswerSentence]
    # rewrite_s, retrieve_s: how long each step took; first_token_s, total_s: since the question came
    timings: dict[str, float]
    llm: str
    evidence: float = 0.0  # best dense cosine of the question to a retrieved passage

    def as_json(self) -> dict:
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "answer": self.answer,
            "refused": self.refused,
            "citations": [{k: asdict(c)[k] for k in ("n", "source", "title", "start", "end", "text", "score",
                                                     "supported", "cited", "id")} for c in self.citations],
            "sentences": [asdict(s) for s in self.sentences],
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "llm": self.llm,
            "evidence": round(self.evidence, 4),
        }


@dataclass
class SourcesEvent:
    citations: list[Citation]
    standalone_question: str


@dataclass
class TokenEvent:
    text: str


@dataclass
class DoneEvent:
    result: AnswerResult


@dataclass
class _Run:
    """Per-question state threaded through the pipeline steps."""

    question: str
    standalone: str = ""
    started: float = field(default_factory=time.perf_counter)
    timings: dict[str, float] = field(default_factory=dict)

    def mark(self, name: str) -> None:
        """Seconds since the question arrived (first_token_s, total_s)."""
        self.timings[name] = time.perf_counter() - self.started

    def lap(self, name: str) -> None:
        """Seconds this step took (rewrite_s, retrieve_s): since the previous lap."""
        now = time.perf_counter() - self.started
        self.timings[name] = now - sum(v for k, v in self.timings.items() if k in ("rewrite_s", "retrieve_s"))


class Answerer:
    """Cheap to construct (the UI makes one per request): the retriever is shared or made on first
    use, and the LLM is loaded on first use and cached per process (rag.llm)."""

    def __init__(self, settings: Settings, retriever: Retriever | None = None):
        self.settings = settings
        self._retriever = retriever

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            self._retriever = Retriever(self.settings)
        return self._retriever

    @property
    def uses_llm(self) -> bool:
        return self.settings.llm != "extractive"

    def backend(self):
        from rag.llm import get_backend

        return get_backend(self.settings)

    def llm_name(self) -> str:
        s = self.settings
        if s.llm == "local":
            from rag.models import MODEL_FILE

            return "local:" + (s.model_path.rsplit("/", 1)[-1] if s.model_path else MODEL_FILE)
        return {"openai": f"openai:{s.openai_model}", "ollama": f"ollama:{s.ollama_model}"}.get(s.llm, s.llm)

    def ask(self, question: str, history: list[tuple[str, str]] = ()) -> AnswerResult:
        for event in self.stream(question, history):
            if isinstance(event, DoneEvent):
                return event.result
        raise AssertionError("stream ended without a result")

    def stream(self, question: str, history: list[tuple[str, str]] = ()) -> Iterator[SourcesEvent | TokenEvent | DoneEvent]:
        run = _Run(question=check_question(question, self.settings))
        if self.uses_llm:
            backend = self.backend()  # load (or fail) before any work, so errors come first
        run.standalone = self.standalone_question(run.question, list(history))
        run.lap("rewrite_s")
        # k and mode passed explicitly: a retriever shared by the UI carries its own settings.
        hits = self.retriever.search(run.standalone, k=self.settings.top_k, mode=self.settings.retrieval_mode)
        hits = hits[:max(1, min(self.settings.answer_passages, self.settings.top_k))]
        evidence = evidence_score(run.standalone, hits)
        run.lap("retrieve_s")
        if not hits or evidence < self.settings.refusal_min_score:
            yield from self._refuse(run, [], evidence)
            return
        citations = build_citations(run.standalone, hits, self.settings.passage_chars)
        yield SourcesEvent(citations=citations, standalone_question=run.standalone)
        if self.uses_llm:
            text = yield from self._generate(run, backend, citations)
        else:
            text = extractive_answer(run.standalone, [c.text for c in citations]) or REFUSAL
            run.mark("first_token_s")
            yield TokenEvent(text)
        yield DoneEvent(self._finish(run, text, citations, evidence))

    # --- steps --------------------------------------------------------------------------------------

    def standalone_question(self, question: str, history: list[tuple[str, str]]) -> str:
        """The question made independent of the conversation. No call (no latency) without history
        or when the question does not lean on it (no pronoun, no "what about …")."""
        if not history or not needs_rewrite(question):
            return question
        if not self.uses_llm:
            return heuristic_rewrite(question, history)
        raw = self.backend().complete(condense_messages(question, history[-3:]), REWRITE_MAX_TOKENS)
        return clean_rewrite(raw) or heuristic_rewrite(question, history)

    def _generate(self, run: _Run, backend, citations: list[Citation]):
        messages = answer_messages(run.standalone, [(c.n, c.title, c.text) for c in citations])
        parts = []
        for delta in backend.stream(messages, self.settings.max_new_tokens, self.settings.temperature):
            if not parts:
                run.mark("first_token_s")
            parts.append(delta)
            yield TokenEvent(delta)
        if not parts:
            run.mark("first_token_s")
        return "".join(parts)

    def _refuse(self, run: _Run, citations: list[Citation], evidence: float):
        yield SourcesEvent(citations=citations, standalone_question=run.standalone)
        run.mark("first_token_s")
        yield TokenEvent(REFUSAL)
        yield DoneEvent(self._result(run, REFUSAL, True, citations, [], evidence))

    def _finish(self, run: _Run, raw: str, citations: list[Citation], evidence: float) -> AnswerResult:
        answer = clean_citations(raw.strip(), len(citations))
        if is_refusal(answer):
            for c in citations:
                c.cited, c.supported = False, None
            return self._result(run, REFUSAL, True, citations, [], evidence)
        split = split_answer(answer)
        verdicts = check_sentences(split, {c.n: c.text for c in citations}, self.settings.support_threshold)
        sentences = [AnswerSentence(text, cites, ok) for (text, cites), ok in zip(split, verdicts)]
        if sentences and not any(s.supported for s in sentences):
            # Nothing in the answer is backed by the passages: the model answered from its own
            # knowledge (e.g. a population figure the documents never give). Refuse instead.
            for c in citations:
                c.cited, c.supported = False, None
            return self._result(run, REFUSAL, True, citations, [], evidence)
        # A passage is marked as supporting only if it backs, on its own, the sentences citing it.
        own = check_passages(split, {c.n: c.text for c in citations}, self.settings.support_threshold)
        for c in citations:
            citing = [s for s in sentences if c.n in s.citations]
            c.cited = bool(citing)
            c.supported = (all(s.supported for s in citing) and own.get(c.n, True)) if citing else None
        return self._result(run, answer, False, citations, sentences, evidence)

    def _result(self, run, answer, refused, citations, sentences, evidence) -> AnswerResult:
        run.mark("total_s")
        return AnswerResult(question=run.question, standalone_question=run.standalone, answer=answer,
                            refused=refused, citations=citations, sentences=sentences,
                            timings=dict(run.timings), llm=self.llm_name(), evidence=evidence)


# --- helpers (pure functions, tested directly) --------------------------------------------------------

def clean_rewrite(raw: str) -> str:
    """The first non-empty line of the model's rewrite, without labels or quotes."""
    for line in raw.strip().splitlines():
        line = re.sub(r"^\s*(<?standalone question>?|question)\s*:?\s*", "", line, flags=re.IGNORECASE)
        line = line.strip().strip('"“”\'').strip()
        if line:
            return line
    return ""


def is_refusal(answer: str) -> bool:
    norm = " ".join(re.sub(r"[^\w\s]", " ", answer.lower()).split())
    if " ".join(re.sub(r"[^\w\s]", " ", REFUSAL.lower()).split()) in norm:
        return True
    if not norm:
        return True  # an empty answer says nothing: treat it as the model finding nothing
    return not re.search(r"\[\d+\]", answer) and bool(_REFUSAL_LIKE.search(answer))


def evidence_score(question: str, hits: list[Hit]) -> float:
    """Best dense cosine between the question and a retrieved chunk: the refusal floor's input.
    BM25-only hits carry no cosine, so theirs is computed here (a handful of embeddings)."""
    if not hits:
        return 0.0
    known = [h.scores["dense"] for h in hits if "dense" in h.scores]
    missing = [h.text for h in hits if "dense" not in h.scores]
    if missing:
        q = np.asarray(embed_query(question))
        known.extend(float(v) for v in np.asarray(embed_texts(missing)) @ q)
    return max(known)


def build_citations(question: str, hits: list[Hit], max_chars: int) -> list[Citation]:
    """Numbered passages, each trimmed to about max_chars around its sentence that best matches the
    question (whole sentences, original order, exact offsets kept)."""
    scored = score_sentences(question, [h.text for h in hits])
    citations = []
    for i, hit in enumerate(hits):
        spans = sorted((s.start, s.end, s.relevance) for s in scored if s.passage == i)
        start, end = trim_window(spans, max_chars) if spans else (0, len(hit.text))
        citations.append(Citation(n=i + 1, id=hit.id, source=hit.source, title=hit.title,
                                  start=hit.start + start, end=hit.start + end,
                                  text=hit.text[start:end], score=float(hit.score)))
    return citations


def trim_window(spans: list[tuple[int, int, float]], max_chars: int) -> tuple[int, int]:
    """From the best sentence, grow by whole neighbouring sentences (the more relevant side first)
    while the window stays within max_chars. The best sentence is kept even if longer."""
    best = max(range(len(spans)), key=lambda i: spans[i][2])
    lo = hi = best
    while True:
        options = []
        if lo > 0 and spans[hi][1] - spans[lo - 1][0] <= max_chars:
            options.append((spans[lo - 1][2], "lo"))
        if hi + 1 < len(spans) and spans[hi + 1][1] - spans[lo][0] <= max_chars:
            options.append((spans[hi + 1][2], "hi"))
        if not options:
            break
        if max(options)[1] == "lo":
            lo -= 1
        else:
            hi += 1
    return spans[lo][0], spans[hi][1]
