"""From retrieved hits to the numbered passages the model sees: the evidence score the refusal
floor reads, and each passage trimmed to the sentences around its best match."""
from __future__ import annotations

from rag.answer.results import Citation
from rag.answer.sentences import score_sentences
from rag.embedding import Embedder
from rag.formats.structure import span_pages
from rag.retrieve import Hit


def evidence_score(question: str, hits: list[Hit], embedder: Embedder | None = None) -> float:
    """Best dense cosine between the question and a retrieved chunk: the refusal floor's input.
    BM25-only hits carry no cosine, so theirs is computed here (a handful of embeddings)."""
    if not hits:
        return 0.0
    embedder = embedder or Embedder()
    known = [h.scores["dense"] for h in hits if "dense" in h.scores]
    missing = [h.text for h in hits if "dense" not in h.scores]
    if missing:
        known.extend(float(v) for v in embedder.texts(missing) @ embedder.query(question))
    return max(known)


def build_citations(question: str, hits: list[Hit], max_chars: int, embedder: Embedder | None = None) -> list[Citation]:
    """Numbered passages, each trimmed to about max_chars around its sentence that best matches the
    question (whole sentences, original order, exact offsets kept)."""
    scored = score_sentences(question, [h.text for h in hits], embedder)
    citations = []
    for i, hit in enumerate(hits):
        spans = sorted((s.start, s.end, s.relevance) for s in scored if s.passage == i)
        start, end = trim_window(spans, max_chars) if spans else (0, len(hit.text))
        page, page_end, page_offset = span_pages(hit.metadata, hit.start + start, hit.start + end)
        citations.append(Citation(n=i + 1, id=hit.id, source=hit.source, title=hit.title,
                                  start=hit.start + start, end=hit.start + end,
                                  text=hit.text[start:end], score=float(hit.score), page=page, page_end=page_end,
                                  heading=str(hit.metadata.get("heading", "")), page_offset=page_offset))
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
