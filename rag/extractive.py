"""Answers without an LLM, and the question/sentence scoring the LLM path shares.

The extractive answer is the best-matching sentences of the retrieved passages, quoted verbatim and
each cited: instant, deterministic, and supported by construction. It is also what the UI offers
when no LLM is available. Follow-ups get a cheap rewrite (the previous question appended) instead of
an LLM call.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.citations import names_and_numbers, neutralise_citations, sentences_of
from rag.embedding import embed_query, embed_texts

WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = set("""a an the and or but of to in on at by for with from as is are was were be been being do does
did what who whom whose which when where why how that this these those it its he she they them his her their
there here about into than then so if not no yes can could would should will shall may might has have had
i you we me my our your please tell explain describe give according document documents text""".split())
# Words that make a question lean on the conversation ("Where did he meet them?").
ANAPHORA = set("""he she him her his hers they them their theirs it its this that these those there then
such same former latter""".split())
FOLLOW_UP_OPENERS = ("and ", "what about", "how about", "also", "why?", "why not", "when?", "where?")

SIMILARITY_WEIGHT = 0.7
MIN_RELEVANCE = 0.30      # below this no sentence is worth quoting: refuse instead
KEEP_WITHIN = 0.85        # quote further sentences scoring within 85% of the best one
MAX_SENTENCES = 2
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


def content_words(text: str) -> set[str]:
    return {w for w in WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1}


def needs_rewrite(question: str) -> bool:
    """Does the question lean on earlier turns? Pronouns, "what about …" openers, or very short."""
    words = WORD.findall(question.lower())
    if len(words) <= 2:
        return True
    return bool(ANAPHORA & set(words)) or question.lower().lstrip().startswith(FOLLOW_UP_OPENERS)


def heuristic_rewrite(question: str, history: list[tuple[str, str]]) -> str:
    """Standalone question without an LLM: the follow-up plus the previous question and the names in
    the previous answer, so both retrieval and sentence scoring see the entities "he"/"them" mean."""
    if not history or not needs_rewrite(question):
        return question
    previous_question, previous_answer = history[-1]
    names = [n for n in sorted(names_and_numbers(previous_answer)) if not n.isdigit()][:6]
    context = previous_question.strip()
    if names:
        context += "; " + ", ".join(names)
    return f"{question.strip()} ({context})"


@dataclass
class ScoredSentence:
    passage: int      # index into the passages list (0-based)
    start: int        # offsets within that passage's text
    end: int
    text: str
    relevance: float


def score_sentences(question: str, texts: list[str]) -> list[ScoredSentence]:
    """Every sentence of `texts`, scored against the question: embedding cosine plus the share of
    the question's content words it contains (names and rare terms the small embedder blurs)."""
    found = [(i, s, e, t[s:e].strip()) for i, t in enumerate(texts) for s, e in sentences_of(t)]
    found = [f for f in found if f[3]]
    if not found:
        return []
    q_vec = np.asarray(embed_query(question))
    s_vecs = np.asarray(embed_texts([f[3] for f in found]))
    cosines = s_vecs @ q_vec
    q_words = content_words(question)
    scored = []
    for (i, s, e, text), cos in zip(found, cosines):
        overlap = len(q_words & content_words(text)) / len(q_words) if q_words else 0.0
        relevance = SIMILARITY_WEIGHT * float(cos) + (1 - SIMILARITY_WEIGHT) * overlap
        scored.append(ScoredSentence(i, s, e, text, relevance))
    return scored


def extractive_answer(question: str, texts: list[str]) -> str | None:
    """Up to MAX_SENTENCES best sentences, each followed by [n] (n = passage index + 1), in order of
    relevance; None when nothing is relevant enough (the caller refuses)."""
    coverage = term_coverage(question, texts)
    if coverage is not None and coverage < MIN_TERM_COVERAGE:
        return None
    scored = sorted(score_sentences(question, texts), key=lambda s: (-s.relevance, s.passage, s.start))
    if not scored or scored[0].relevance < MIN_RELEVANCE:
        return None
    best = scored[0].relevance
    chosen, seen = [], set()
    for s in scored:
        key = " ".join(s.text.lower().split())
        if s.relevance < best * KEEP_WITHIN or len(chosen) == MAX_SENTENCES:
            break
        if key not in seen:  # overlapping chunks repeat sentences
            seen.add(key)
            chosen.append(s)
    return " ".join(cite(s.text, s.passage + 1) for s in chosen)


def cite(sentence: str, n: int) -> str:
    """'He met them.' -> 'He met them [1].' (the marker before the final punctuation). Bracketed
    numbers of the document itself are dropped: the only citation is the passage quoted."""
    sentence = " ".join(neutralise_citations(sentence).split())
    m = re.match(r"(.*?)([.!?…]+[\"”’']?)$", sentence)
    if m:
        return f"{m.group(1)} [{n}]{m.group(2)}"
    return f"{sentence} [{n}]."
