"""`python -m eval.hyde`: HyDE measured (issue 12, item 5) on the external sets, without changing
the index or the product.

HyDE (hypothetical document embeddings): the configured LLM writes a short passage that would
answer the question, and dense retrieval embeds the question together with that passage instead of
the question alone. Its cost is one LLM generation before retrieval can start, so it is measured
here, gain next to latency, before anything ships. Scored like `eval.windows`: eval's relevance rule,
hit@5 and MRR@5, near-duplicates dropped, on every `--every`-th answerable question of each set
(the LLM is slow on a CPU); the baseline is scored on the same questions. Configurations:

- dense / hybrid: today (the question alone);
- dense HyDE: the question and the hypothetical passage embedded as one text;
- hybrid HyDE: dense HyDE fused with BM25 of the question;
- hybrid HyDE, BM25 too: dense HyDE fused with BM25 of the question and the passage.

The generated passages are cached beside each set's index (`hyde-EVERY.jsonl`), with the seconds
each took, so a second run only scores.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.dataset import EvalInputError  # noqa: E402

DEPTH = 30  # candidates per retriever before fusion, as the default `candidates`
MAX_PASSAGE_TOKENS = 80
PROMPT = ("Write a short passage, two or three sentences, from documentation that answers this question. "
          "Write only the passage.\n\nQuestion: {question}")
CONFIGS = ("dense", "hybrid", "dense HyDE", "hybrid HyDE", "hybrid HyDE, BM25 too")


def hypothetical_passages(questions: list[str], settings, cache: Path) -> dict[str, tuple[str, float]]:
    """question -> (passage, seconds) from the configured LLM, cached in `cache` (JSON lines)."""
    done: dict[str, tuple[str, float]] = {}
    if cache.is_file():
        for line in cache.read_text().splitlines():
            row = json.loads(line)
            done[row["question"]] = (row["passage"], row["seconds"])
    todo = [q for q in questions if q not in done]
    if todo:
        from llama_index.core.base.llms.types import ChatMessage, MessageRole

        from rag.answer.generators import make_generator

        backend = make_generator(settings)
        if not hasattr(backend, "complete"):
            raise EvalInputError("HyDE needs an LLM: choose --llm local, openai or ollama")
        from tqdm import tqdm

        with cache.open("a") as out:
            for q in tqdm(todo, desc=f"hypothetical passages ({cache.parent.name})", unit="q"):
                start = time.perf_counter()
                passage = backend.complete([ChatMessage(role=MessageRole.USER, content=PROMPT.format(question=q))],
                                           MAX_PASSAGE_TOKENS).strip()
                done[q] = (passage, time.perf_counter() - start)
                out.write(json.dumps({"question": q, "passage": passage, "seconds": done[q][1]}) + "\n")
                out.flush()
    return done


def score_set(name: str, cache: Path, every: int, llm: str) -> tuple[dict[str, tuple[float, float]], list[float], int]:
    from rag.config import load_settings
    from rag.embedding import embed_texts
    from rag.retrieve import Hit, Retriever, drop_near_duplicates, reciprocal_rank_fusion

    from eval.dataset import load_questions
    from eval.metrics import RelevanceJudge

    folder = cache / name
    if not (folder / "index").is_dir() or not (folder / "questions.jsonl").is_file():
        raise EvalInputError(f"no index for {name} under {folder}: run `python -m eval.external --cache {cache}` first")
    settings = load_settings().replace(index_dir=folder / "index", llm=llm)
    retriever = Retriever(settings)
    chunks = retriever.store.chunks.get(include=["documents", "embeddings"])
    ids, texts = chunks["ids"], chunks["documents"]
    chunk_vectors = np.asarray(chunks["embeddings"], dtype=np.float32)
    questions = [q for q in load_questions(folder / "questions.jsonl") if q.answerable][::every]
    generated = hypothetical_passages([q.question for q in questions], settings, folder / f"hyde-{every}.jsonl")
    judge = RelevanceJudge(list(zip(ids, texts)))
    plain = embed_texts([q.question for q in questions], 64, settings) @ chunk_vectors.T
    hyde = embed_texts([f"{q.question}\n{generated[q.question][0]}" for q in questions], 64, settings) @ chunk_vectors.T
    row_of = {cid: row for row, cid in enumerate(ids)}

    def dense(scores: np.ndarray) -> list[Hit]:
        return [Hit(0, ids[r], "", "", 0, 0, texts[r], float(scores[r])) for r in np.argsort(-scores)[:DEPTH]]

    def fused(dense_hits: list[Hit], lexical: list[Hit]) -> list[Hit]:
        return reciprocal_rank_fusion([dense_hits, lexical], settings.rrf_k, [settings.dense_weight, settings.bm25_weight])

    sums = {config: [0.0, 0.0] for config in CONFIGS}
    for qi, q in enumerate(questions):
        lexical = retriever.lexical(q.question, DEPTH)
        rankings = {
            "dense": dense(plain[qi]),
            "hybrid": fused(dense(plain[qi]), lexical),
            "dense HyDE": dense(hyde[qi]),
            "hybrid HyDE": fused(dense(hyde[qi]), lexical),
            "hybrid HyDE, BM25 too": fused(dense(hyde[qi]),
                                           retriever.lexical(f"{q.question} {generated[q.question][0]}", DEPTH)),
        }
        relevant = judge.relevant_ids(q.evidence)
        for config, ranked in rankings.items():
            top = drop_near_duplicates(ranked[:15], {h.id: chunk_vectors[row_of[h.id]] for h in ranked[:15]},
                                       settings.duplicate_cosine, 5)
            flags = [h.id in relevant for h in top]
            sums[config][0] += any(flags)
            sums[config][1] += next((1 / rank for rank, hit in enumerate(flags, start=1) if hit), 0.0)
    n = len(questions)
    return {c: (h / n, m / n) for c, (h, m) in sums.items()}, [generated[q.question][1] for q in questions], n


def table(results: dict[str, dict], counts: dict[str, int]) -> str:
    from eval.external import hit_mrr_cells

    names = list(results)
    lines = ["| configuration | " + " | ".join(f"{n} ({counts[n]} q.)" for n in names) + " | average |",
             "|---|" + "---:|" * (len(names) + 1)]
    for config in CONFIGS:
        lines.append(f"| {config} | {hit_mrr_cells([results[n][config] for n in names])} |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    from eval.external import SETS

    p = argparse.ArgumentParser(prog="python -m eval.hyde",
                                description="HyDE (a hypothetical answer passage from the LLM, embedded with the "
                                            "question) measured on the external sets' indexes: hit@5 / MRR@5 and "
                                            "the generation's latency.")
    p.add_argument("--cache", type=Path, default=Path(".cache"), help="eval.external's cache folder (default: .cache)")
    p.add_argument("--sets", default=",".join(SETS), help=f"comma-separated sets (default: {','.join(SETS)})")
    p.add_argument("--every", type=int, default=3, help="use every N-th answerable question (default: 3)")
    p.add_argument("--llm", default="local", choices=["local", "openai", "ollama"],
                   help="the LLM that writes the passages (default: local)")
    return p


def main(argv: list[str] | None = None) -> int:
    from rag.cli import run_reporting_errors

    from eval.external import parse_sets

    args = build_parser().parse_args(argv)

    def run() -> int:
        if args.every < 1:
            raise EvalInputError("--every must be at least 1")
        results, counts, seconds = {}, {}, []
        for name in parse_sets(args.sets):
            results[name], took, counts[name] = score_set(name, args.cache, args.every, args.llm)
            seconds += took
        print(table(results, counts))
        print(f"\nhypothetical passage: median {statistics.median(seconds):.2f} s, "
              f"p95 {np.percentile(seconds, 95):.2f} s per question ({len(seconds)} generated; retrieval "
              "itself takes milliseconds)")
        return 0

    return run_reporting_errors(run)


if __name__ == "__main__":
    sys.exit(main())
