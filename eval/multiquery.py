"""`python -m eval.multiquery`: multi-query retrieval measured (issue 12, item 5) on the external
sets, without changing the index or the product.

Multi-query: the configured LLM rewrites the question a few ways, each wording is retrieved, and the
rankings are fused (reciprocal rank fusion, as llama-index's QueryFusionRetriever does) so that a
passage worded unlike the user's question can still be found. Its cost is one LLM generation before
retrieval can start, so gain and latency are measured together, on the same questions and indexes
as eval.hyde (`--every`-th answerable question of each set; the rewrites cached beside each index in
`multiquery-EVERY.jsonl`). Configurations, each fused with the product's weights:

- dense / hybrid: today (the question alone);
- dense, multi-query: dense rankings of the question and of each rewrite;
- hybrid, multi-query: dense and BM25 rankings of the question and of each rewrite;
- hybrid, multi-query for dense: dense of the question and the rewrites, BM25 of the question only.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.hyde import ExternalSet, build_parser, llm_texts, measure  # noqa: E402

REWRITES = 3
MAX_REWRITE_TOKENS = 96
PROMPT = ("Write three different search queries for the question below, each on its own line, using other "
          "words than the question. Write only the queries.\n\nQuestion: {question}")
CONFIGS = ("dense", "hybrid", "dense, multi-query", "hybrid, multi-query", "hybrid, multi-query for dense")
LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d+[.)]|query\s*\d*:)\s*", re.IGNORECASE)


def rewrites(question: str, text: str) -> list[str]:
    """The distinct rewrites in the LLM's reply (list marks and quotes removed), at most REWRITES."""
    seen, found = {question.strip().lower()}, []
    for line in text.splitlines():
        query = LIST_MARK.sub("", line).strip().strip('"“”').strip()
        if len(query) > 3 and query.lower() not in seen:
            seen.add(query.lower())
            found.append(query)
    return found[:REWRITES]


def score_set(name: str, cache: Path, every: int, llm: str) -> tuple[dict[str, tuple[float, float]], list[float], int]:
    data = ExternalSet(name, cache, every, llm)
    questions = [q.question for q in data.questions]
    generated = llm_texts(questions, data.settings, data.folder / f"multiquery-{every}.jsonl", PROMPT,
                          MAX_REWRITE_TOKENS, "rewritten queries")
    plain = data.cosines(questions)
    rankings = []
    for qi, q in enumerate(questions):
        variants = rewrites(q, generated[q][0])
        variant_cosines = data.cosines(variants) if variants else np.zeros((0, len(data.ids)), dtype=np.float32)
        dense_all = [data.dense(plain[qi])] + [data.dense(row) for row in variant_cosines]
        lexical = data.lexical(q)
        rankings.append({
            "dense": dense_all[0],
            "hybrid": data.fused(dense_all[:1], [lexical]),
            "dense, multi-query": data.fused(dense_all, []),
            "hybrid, multi-query": data.fused(dense_all, [lexical] + [data.lexical(v) for v in variants]),
            "hybrid, multi-query for dense": data.fused(dense_all, [lexical]),
        })
    return data.score(rankings), [generated[q][1] for q in questions], len(questions)


def main(argv: list[str] | None = None) -> int:
    args = build_parser("python -m eval.multiquery",
                        "Multi-query retrieval (the LLM rewrites the question; the rankings of every wording are "
                        "fused) measured on the external sets' indexes: hit@5 / MRR@5 and the generation's latency.",
                        "rewrites the questions").parse_args(argv)
    return measure(args, score_set, CONFIGS, "rewritten queries")


if __name__ == "__main__":
    sys.exit(main())
