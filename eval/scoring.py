"""Per-question scores and per-configuration summaries, built from the records `eval.run` collects.

A record is a plain dict (it goes into report.json as is); this module adds `scores` to it and
reduces a configuration's records to one summary dict.
"""
from __future__ import annotations

from typing import Callable

from eval import metrics

RANK_CUTOFFS = (1, 3, 5)
NDCG_K = 5


def retrieval_scores(record: dict) -> dict:
    """Needs record['retrieved'][*]['relevant'] and record['relevant_in_index']."""
    if not record["answerable"] or not record["evidence"]:
        return {}
    relevance = [bool(h["relevant"]) for h in record["retrieved"]]
    scores = {f"hit@{k}": metrics.hit_at(relevance, k) for k in RANK_CUTOFFS}
    scores["mrr"] = metrics.reciprocal_rank(relevance)
    scores[f"ndcg@{NDCG_K}"] = metrics.ndcg_at(relevance, NDCG_K, record.get("relevant_in_index"))
    found = record.get("evidence_found") or []
    if found:
        scores[f"evidence_recall@{NDCG_K}"] = sum(found) / len(found)
    return scores


def answer_scores(record: dict) -> dict:
    """Keyword accuracy and token F1 against the gold answer (answerable questions only);
    citation validity and support for every answer that cites."""
    if record.get("answer") is None:  # retrieval-only run
        return {}
    scores: dict = {}
    if record["answerable"]:
        answer = "" if record["refused"] else record["answer"]
        scores["keyword"] = metrics.keyword_match(answer, record["keywords"])
        if record["gold_answer"]:
            scores["token_f1"] = metrics.token_f1(answer, record["gold_answer"])
    scores["citation_validity"] = metrics.citation_validity(record["answer"], len(record["citations"]))
    scores["support_rate"] = metrics.support_rate(c.get("supported") for c in record["citations"] if c.get("cited"))
    return {k: v for k, v in scores.items() if v is not None}


def add_semantic_similarity(records: list[dict], embed: Callable[[list[str]], list[list[float]]] | None = None) -> None:
    """One batched embedding call for all answer/gold pairs of a configuration (much faster than pairs)."""
    todo = [r for r in records if r.get("answer") is not None and r["answerable"] and r["gold_answer"]]
    if not todo:
        return
    if embed is None:
        from rag.embedding import embed_texts as embed
    texts = []
    for r in todo:
        answer = "" if r["refused"] else metrics.strip_citations(r["answer"])
        texts += [answer.strip() or " ", r["gold_answer"]]
    vectors = embed(texts)
    for i, r in enumerate(todo):
        r["scores"]["semantic"] = metrics.cosine(vectors[2 * i], vectors[2 * i + 1])


def rewrite_scores(record: dict) -> dict:
    """A follow-up is resolved when its rewritten question names its referent (the `resolves` field)."""
    if not record.get("resolves") or not record.get("history") or record.get("standalone_question") is None:
        return {}
    return {"rewrite": metrics.names_referent(record["standalone_question"], record["resolves"])}


def score_record(record: dict) -> dict:
    record["scores"] = {**retrieval_scores(record), **answer_scores(record), **rewrite_scores(record)}
    return record


def summarize(records: list[dict]) -> dict:
    """Means of per-question scores, refusal precision/recall, latency percentiles, counts."""
    summary: dict = {"questions": len(records),
                     "answerable": sum(r["answerable"] for r in records),
                     "errors": sum(1 for r in records if r.get("error"))}
    names = sorted({name for r in records for name in r.get("scores", {})})
    for name in names:
        summary[name] = metrics.mean(r["scores"].get(name) for r in records)
        summary[f"n_{name}"] = sum(1 for r in records if r["scores"].get(name) is not None)
    answered = [r for r in records if r.get("answer") is not None and not r.get("error")]
    if answered:
        summary.update(metrics.refusal_scores([r["answerable"] for r in answered], [r["refused"] for r in answered]))
    for phase in ("retrieve_s", "first_token_s", "total_s"):
        values = [r["timings"].get(phase) for r in records if r.get("timings", {}).get(phase) is not None]
        if values:
            summary[f"{phase}_p50"] = metrics.percentile(values, 50)
            summary[f"{phase}_p95"] = metrics.percentile(values, 95)
    return summary


def failure_weight(record: dict) -> float:
    """Higher is worse, for the report's "worst failures": a missed passage, then a wrong answer."""
    s = record.get("scores", {})
    weight = 0.0
    if record.get("error"):
        return 10.0
    if "mrr" in s:
        weight += 1.0 - s["mrr"]
    if record.get("answer") is not None:
        if record["answerable"]:
            weight += 2.0 if record["refused"] else 1.0 - s.get("keyword", s.get("token_f1", 1.0))
        elif not record["refused"]:
            weight += 2.0  # answered what the documents cannot answer: the users' top complaint
    return weight
