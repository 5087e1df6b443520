"""The extractive backend: answers without an LLM.

The answer is the best-matching sentences of the retrieved passages, quoted verbatim and each
cited: instant, deterministic, and supported by construction. It is also what the UI offers when no
LLM is available. Follow-ups get the cheap heuristic rewrite instead of an LLM call.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from rag.answer.citations import neutralise_citations
from rag.answer.followup import heuristic_rewrite
from rag.answer.prompts import REFUSAL
from rag.answer.relevance import question_type, tells_new
from rag.answer.sentences import LABEL_WORDS, content_words, score_sentences, sentences_of
from rag.config import Settings
from rag.embedding import Embedder

MIN_RELEVANCE = 0.30      # below this no sentence is worth quoting: refuse instead
KEEP_WITHIN = 0.85        # quote further sentences scoring within 85% of the best one
MAX_SENTENCES = 2
# A sentence opening on one of these says who or what only in the sentence before it ("It was the
# first DebConf in Africa." follows "DebConf16 was held in Cape Town …"), which is quoted with it.
ANAPHORA = re.compile(r"^(it|this|these|he|she|they|its|his|her|their|there)\b", re.IGNORECASE)
# A quotable sentence closes on one of these; a short line without one is a heading or label, and so
# is one closing on a colon ("Debian 9 Stretch (June 17th, 2017):" introduces, it does not answer).
CLOSING_STOP = re.compile(r"[.!?…][\"”’')\]]*$")
# Without an LLM's verdict, a question most of whose terms appear in no retrieved passage ("How many
# barrels of oil does Libya export per day?") is taken as unanswerable. Measured on
# eval/questions.jsonl: it refuses 2 more unanswerable questions and no answerable one.
MIN_TERM_COVERAGE = 0.25
MIN_TERMS_FOR_COVERAGE = 3


def _stems(text: str) -> set[str]:
    return {w[:5] for w in content_words(text)}  # crude stemming: "suspected"/"suspicions" agree


def term_coverage(question: str, texts: list[str]) -> float | None:
    """Share of the question's content words found in the passages; None for too short a question."""
    wanted = _stems(question)
    if len(wanted) < MIN_TERMS_FOR_COVERAGE:
        return None
    present = set().union(*(_stems(t) for t in texts)) if texts else set()
    return len(wanted & present) / len(wanted)


def extractive_answer(question: str, texts: list[str], embedder: Embedder | None = None) -> str | None:
    """Up to MAX_SENTENCES best sentences, each followed by [n] (n = passage index + 1), in order of
    relevance; None when nothing is relevant enough (the caller refuses)."""
    coverage = term_coverage(question, texts)
    if coverage is not None and coverage < MIN_TERM_COVERAGE:
        return None
    scored = sorted((s for s in score_sentences(question, texts, embedder) if not heading_like(s.text)),
                    key=lambda s: (-s.relevance, s.passage, s.start))
    if not scored or scored[0].relevance < MIN_RELEVANCE:
        return None
    best = scored[0].relevance
    candidates, seen = [], set()
    for s in scored:
        key = s.text.lower()  # score_sentences gives each sentence on one line, spaces collapsed
        if s.relevance < best * KEEP_WITHIN:
            break
        if key not in seen:  # overlapping chunks repeat sentences
            seen.add(key)
            candidates.append(s)
    # Of sentences about equally close to the question, the ones holding what a where/who/when/how
    # many question asks for (a place, a person, …, not named in the question) answer it; the others
    # only share its words.
    kind = question_type(question)
    typed = [s for s in candidates if tells_new(kind, question, s.text)] if kind != "other" else []
    return " ".join(cite(with_antecedent(s.text, texts[s.passage], s.start), s.passage + 1)
                    for s in (typed or candidates)[:MAX_SENTENCES])


def heading_like(sentence: str) -> bool:
    """A section heading or list label ("7. Term limit", "4.13.6. November 2002: Fire burnt Debian
    server"): short and without a sentence's closing stop. It names a topic; it answers nothing."""
    return len(sentence.split()) <= LABEL_WORDS and not CLOSING_STOP.search(sentence.strip())


def with_antecedent(sentence: str, passage: str, start: int) -> str:
    """The sentence, preceded by the passage's sentence before it when it opens on a pronoun."""
    if not ANAPHORA.match(sentence):
        return sentence
    before = [" ".join(passage[a:b].split()) for a, b in sentences_of(passage) if b <= start]
    if not before or heading_like(before[-1]):
        return sentence
    return f"{before[-1]} {sentence}"


def cite(sentence: str, n: int) -> str:
    """'He met them.' -> 'He met them [1].' (the marker before the final punctuation). Bracketed
    numbers of the document itself are dropped: the only citation is the passage quoted."""
    sentence = " ".join(neutralise_citations(sentence).split())
    m = re.match(r"(.*?)([.!?…]+[\"”’']?)$", sentence)
    if m:
        return f"{m.group(1)} [{n}]{m.group(2)}"
    return f"{sentence} [{n}]."


class ExtractiveGenerator:
    """The answer-generator interface (see rag.answer.generators) without a model."""

    name = "extractive"

    def __init__(self, settings: Settings | None = None):
        self.settings = settings

    def warm_up(self) -> None:
        """Nothing to load beyond the embedder, which retrieval loads anyway."""

    def rewrite(self, question: str, history: list[tuple[str, str]]) -> str:
        return heuristic_rewrite(question, history)

    def stream(self, question: str, passages: list, embedder: Embedder | None = None) -> Iterator[str]:
        yield extractive_answer(question, [c.text for c in passages], embedder) or REFUSAL
