"""Metric functions, each small and pure so tests can check them against hand-computed numbers.

Retrieval relevance follows the issue's rule: after lower-casing and collapsing whitespace, a chunk is
relevant to a question when it contains one of its evidence strings, or a run of at least
`MIN_RUN` characters of one (evidence may straddle a chunk boundary, and a long gold answer may
span several chunks).
"""
from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from rag.answer import citations as answer_citations

MIN_RUN = 50
# Any common run of MIN_RUN characters contains one evidence block of this size that starts at a
# multiple of it (50 >= 2*25 - 1), so finding blocks finds every qualifying run.
BLOCK = MIN_RUN // 2
WORD = re.compile(r"[a-z0-9]+")
# Dropped from token F1 (SQuAD convention): they inflate overlap without carrying an answer.
# Deliberately not rag.answer.sentences.STOPWORDS: that list tunes the answer scorer and changes with
# it; this one is part of the metric's definition and stays fixed so reports stay comparable.
STOPWORDS = frozenset("a an the of to in on and or is are was were be by for with as at that this it its".split())


# --- text normalisation ------------------------------------------------------------------------
def normalize(text: str) -> str:
    return " ".join((text or "").lower().split())


def strip_citations(text: str | None) -> str:
    """The answer without its [n] markers, parsed as the pipeline parses them."""
    return answer_citations.strip_citations(text or "")


# --- relevance ----------------------------------------------------------------------------------
def _longest_run_at(chunk: str, at: int, evidence: str, ev_at: int) -> int:
    """Length of the common run through chunk[at] == evidence[ev_at], extended both ways."""
    left = 0
    while at - left - 1 >= 0 and ev_at - left - 1 >= 0 and chunk[at - left - 1] == evidence[ev_at - left - 1]:
        left += 1
    right = 0
    while at + right < len(chunk) and ev_at + right < len(evidence) and chunk[at + right] == evidence[ev_at + right]:
        right += 1
    return left + right


def contains_evidence(chunk: str, evidence: str, min_run: int = MIN_RUN) -> bool:
    """Both arguments already normalized. Whole evidence, or a common run of >= min_run chars."""
    if not evidence:
        return False
    if evidence in chunk:
        return True
    if len(evidence) < min_run:
        return False
    block = min_run // 2
    for ev_at in range(0, len(evidence) - block + 1, block):
        piece = evidence[ev_at:ev_at + block]
        at = chunk.find(piece)
        while at != -1:
            if _longest_run_at(chunk, at, evidence, ev_at) >= min_run:
                return True
            at = chunk.find(piece, at + 1)
    return False


def is_relevant(chunk_text: str, evidence: Iterable[str]) -> bool:
    chunk = normalize(chunk_text)
    return any(contains_evidence(chunk, normalize(e)) for e in evidence)


class RelevanceJudge:
    """Which chunks of a whole index are relevant to an evidence list, fast enough for thousands.

    nDCG needs the number of relevant chunks in the index, not only among those retrieved. All
    normalized chunk texts are joined into one string, so locating evidence blocks is one C-level
    `find` per block instead of one per chunk; only chunks that share a block are then checked fully.
    """

    SEP = "\x00"

    def __init__(self, chunks: Sequence[tuple[str, str]]):
        self.ids = [cid for cid, _ in chunks]
        self.texts = [normalize(text) for _, text in chunks]
        self.starts: list[int] = []
        at = 0
        for text in self.texts:
            self.starts.append(at)
            at += len(text) + 1
        self.blob = self.SEP.join(self.texts)
        self._memo: dict[tuple[str, ...], set[str]] = {}  # configurations sharing an index ask the same

    def _candidates(self, evidence: str) -> set[int]:
        pieces = [evidence] if len(evidence) < MIN_RUN else \
            [evidence[i:i + BLOCK] for i in range(0, len(evidence) - BLOCK + 1, BLOCK)]
        found: set[int] = set()
        for piece in pieces:
            at = self.blob.find(piece)
            while at != -1:
                found.add(bisect_right(self.starts, at) - 1)
                at = self.blob.find(piece, at + 1)
        return found

    def relevant_ids(self, evidence: Iterable[str]) -> set[str]:
        key = tuple(evidence)
        if key not in self._memo:
            self._memo[key] = self._relevant_ids(key)
        return set(self._memo[key])

    def _relevant_ids(self, evidence: tuple[str, ...]) -> set[str]:
        hits: set[str] = set()
        for raw in evidence:
            ev = normalize(raw)
            if not ev:
                continue
            for i in self._candidates(ev):
                if self.ids[i] not in hits and contains_evidence(self.texts[i], ev):
                    hits.add(self.ids[i])
        return hits


# --- ranking metrics (relevance: list of booleans in rank order) ----------------------------------
def hit_at(relevance: Sequence[bool], k: int) -> float:
    return 1.0 if any(relevance[:k]) else 0.0


def reciprocal_rank(relevance: Sequence[bool]) -> float:
    for rank, rel in enumerate(relevance, start=1):
        if rel:
            return 1.0 / rank
    return 0.0


def ndcg_at(relevance: Sequence[bool], k: int, total_relevant: int | None = None) -> float:
    """Binary-gain nDCG@k. The ideal ranking puts min(k, total_relevant) relevant chunks first;
    total_relevant defaults to the relevant chunks that were retrieved (when the index count is unknown)."""
    dcg = sum(1.0 / math.log2(i + 2) for i, rel in enumerate(relevance[:k]) if rel)
    n_rel = sum(bool(r) for r in relevance) if total_relevant is None else total_relevant
    n_rel = max(n_rel, sum(bool(r) for r in relevance[:k]))
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, n_rel)))
    return dcg / ideal if ideal else 0.0


# --- answer metrics -----------------------------------------------------------------------------
def keyword_match(answer: str, groups: Sequence[Sequence[str]]) -> float | None:
    """1.0 when the answer contains one alternative of every group (case-insensitive); None if no groups."""
    if not groups:
        return None
    text = normalize(strip_citations(answer))
    return 1.0 if all(any(normalize(alt) in text for alt in group) for group in groups) else 0.0


def tokens(text: str) -> list[str]:
    return [w for w in WORD.findall(normalize(strip_citations(text))) if w not in STOPWORDS]


def token_f1(prediction: str, gold: str) -> float:
    pred, ref = tokens(prediction), tokens(gold)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def names_referent(question: str, referents: Sequence[str]) -> float:
    """1.0 when the question names one of the referents (case and spacing aside), else 0.0."""
    text = f" {' '.join(WORD.findall(normalize(question)))} "
    return float(any(f" {' '.join(WORD.findall(normalize(r)))} " in text for r in referents))


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    return float(dot / (na * nb)) if na and nb else 0.0  # a plain float: numpy's float32 is no JSON number


# --- citations ----------------------------------------------------------------------------------
def cited_numbers(answer: str | None) -> list[int]:
    return answer_citations.cited_numbers(answer or "")


def citation_validity(answer: str, shown: int) -> float | None:
    """Share of [n] markers that point at one of the `shown` passages (1-based); None when none cited."""
    numbers = cited_numbers(answer)
    if not numbers:
        return None
    return sum(1 for n in numbers if 1 <= n <= shown) / len(numbers)


def support_rate(flags: Iterable[bool | None]) -> float | None:
    """Share of checked citations the support check accepted; unchecked (None) ones are left out."""
    checked = [f for f in flags if f is not None]
    return sum(bool(f) for f in checked) / len(checked) if checked else None


# --- refusals -----------------------------------------------------------------------------------
def refusal_scores(answerable: Sequence[bool], refused: Sequence[bool]) -> dict[str, float | None]:
    """Precision/recall of refusing, treating "unanswerable" as the positive class."""
    tp = sum(1 for a, r in zip(answerable, refused) if r and not a)
    fp = sum(1 for a, r in zip(answerable, refused) if r and a)
    fn = sum(1 for a, r in zip(answerable, refused) if not r and not a)
    n_answerable = sum(1 for a in answerable if a)
    return {
        "refusal_precision": tp / (tp + fp) if tp + fp else None,
        "refusal_recall": tp / (tp + fn) if tp + fn else None,
        "false_refusal_rate": fp / n_answerable if n_answerable else None,
    }


# --- aggregation --------------------------------------------------------------------------------
def percentile(values: Sequence[float | None], q: float) -> float | None:
    """Linear-interpolated percentile, q in [0, 100]; None for no values."""
    data = [v for v in values if v is not None]
    return float(np.percentile(data, q)) if data else None


def mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None
