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
    return llm_texts(questions, settings, cache, PROMPT, MAX_PASSAGE_TOKENS, "hypothetical passages")


def llm_texts(questions: list[str], settings, cache: Path, prompt: str, max_tokens: int,
              what: str) -> dict[str, tuple[str, float]]:
    """question -> (what the configured LLM wrote for `prompt`, seconds it took), cached in `cache`
    (JSON lines) so that a second run only scores (eval.hyde, eval.multiquery)."""
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
            raise EvalInputError(f"{what} need an LLM: choose --llm local, openai or ollama")
        from tqdm import tqdm

        with cache.open("a") as out:
            for q in tqdm(todo, desc=f"{what} ({cache.parent.name})", unit="q"):
                start = time.perf_counter()
                text = backend.complete([ChatMessage(role=MessageRole.USER, content=prompt.format(question=q))],
                                        max_tokens).strip()
                done[q] = (text, time.perf_counter() - start)
                out.write(json.dumps({"question": q, "passage": text, "seconds": done[q][1]}) + "\n")
                out.flush()
    return done


class ExternalSet:
    """One external set's index and every `every`-th answerable question, for scoring retrieval
    variants that the product does not run (eval.hyde, eval.multiquery)."""

    def __init__(self, name: str, cache: Path, every: int, llm: str):
        from rag.config import load_settings
        from rag.retrieve import Retriever

        from eval.dataset import load_questions
        from eval.metrics import RelevanceJudge

        self.folder = cache / name
        if not (self.folder / "index").is_dir() or not (self.folder / "questions.jsonl").is_file():
            raise EvalInputError(f"no index for {name} under {self.folder}: "
                                 f"run `python -m eval.external --cache {cache}` first")
        self.settings = load_settings().replace(index_dir=self.folder / "index", llm=llm)
        self.retriever = Retriever(self.settings)
        chunks = self.retriever.store.chunks.get(include=["documents", "embeddings"])
        self.ids, self.texts = chunks["ids"], chunks["documents"]
        self.vectors = np.asarray(chunks["embeddings"], dtype=np.float32)
        self.row_of = {cid: row for row, cid in enumerate(self.ids)}
        self.questions = [q for q in load_questions(self.folder / "questions.jsonl") if q.answerable][::every]
        self.judge = RelevanceJudge(list(zip(self.ids, self.texts)))

    def cosines(self, texts: list[str]) -> np.ndarray:
        """Each text's cosine with every chunk (one row per text)."""
        from rag.embedding import embed_texts

        return embed_texts(texts, 64, self.settings) @ self.vectors.T

    def dense(self, scores: np.ndarray):
        from rag.retrieve import Hit

        return [Hit(0, self.ids[r], "", "", 0, 0, self.texts[r], float(scores[r])) for r in np.argsort(-scores)[:DEPTH]]

    def lexical(self, text: str):
        return self.retriever.lexical(text, DEPTH)

    def fused(self, dense_rankings: list, lexical_rankings: list):
        """Reciprocal rank fusion with the product's weights for each kind of ranking."""
        from rag.retrieve import reciprocal_rank_fusion

        weights = [self.settings.dense_weight] * len(dense_rankings) + [self.settings.bm25_weight] * len(lexical_rankings)
        return reciprocal_rank_fusion(dense_rankings + lexical_rankings, self.settings.rrf_k, weights)

    def score(self, rankings: list[dict[str, list]]) -> dict[str, tuple[float, float]]:
        """(hit@5, MRR@5) per configuration, from each question's ranking per configuration; near
        duplicates dropped from the top 5 as the product does."""
        from rag.retrieve import drop_near_duplicates

        sums: dict[str, list[float]] = {}
        for q, by_config in zip(self.questions, rankings):
            relevant = self.judge.relevant_ids(q.evidence)
            for config, ranked in by_config.items():
                top = drop_near_duplicates(ranked[:15], {h.id: self.vectors[self.row_of[h.id]] for h in ranked[:15]},
                                           self.settings.duplicate_cosine, 5)
                flags = [h.id in relevant for h in top]
                total = sums.setdefault(config, [0.0, 0.0])
                total[0] += any(flags)
                total[1] += next((1 / rank for rank, hit in enumerate(flags, start=1) if hit), 0.0)
        n = len(self.questions)
        return {c: (h / n, m / n) for c, (h, m) in sums.items()}


def score_set(name: str, cache: Path, every: int, llm: str) -> tuple[dict[str, tuple[float, float]], list[float], int]:
    data = ExternalSet(name, cache, every, llm)
    questions = [q.question for q in data.questions]
    generated = hypothetical_passages(questions, data.settings, data.folder / f"hyde-{every}.jsonl")
    plain = data.cosines(questions)
    hyde = data.cosines([f"{q}\n{generated[q][0]}" for q in questions])
    rankings = []
    for qi, q in enumerate(questions):
        lexical = data.lexical(q)
        rankings.append({
            "dense": data.dense(plain[qi]),
            "hybrid": data.fused([data.dense(plain[qi])], [lexical]),
            "dense HyDE": data.dense(hyde[qi]),
            "hybrid HyDE": data.fused([data.dense(hyde[qi])], [lexical]),
            "hybrid HyDE, BM25 too": data.fused([data.dense(hyde[qi])], [data.lexical(f"{q} {generated[q][0]}")]),
        })
    return data.score(rankings), [generated[q][1] for q in questions], len(questions)


def table(results: dict[str, dict], counts: dict[str, int], configs: tuple[str, ...] = CONFIGS) -> str:
    from eval.external import hit_mrr_cells

    names = list(results)
    lines = ["| configuration | " + " | ".join(f"{n} ({counts[n]} q.)" for n in names) + " | average |",
             "|---|" + "---:|" * (len(names) + 1)]
    for config in configs:
        lines.append(f"| {config} | {hit_mrr_cells([results[n][config] for n in names])} |")
    return "\n".join(lines)


def build_parser(prog: str = "python -m eval.hyde", description: str = (
        "HyDE (a hypothetical answer passage from the LLM, embedded with the question) measured on the external "
        "sets' indexes: hit@5 / MRR@5 and the generation's latency."), writes: str = "writes the passages"):
    from eval.external import SETS

    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--cache", type=Path, default=Path(".cache"), help="eval.external's cache folder (default: .cache)")
    p.add_argument("--sets", default=",".join(SETS), help=f"comma-separated sets (default: {','.join(SETS)})")
    p.add_argument("--every", type=int, default=3, help="use every N-th answerable question (default: 3)")
    p.add_argument("--llm", default="local", choices=["local", "openai", "ollama"],
                   help=f"the LLM that {writes} (default: local)")
    return p


def measure(args, score, configs: tuple[str, ...], generated: str) -> int:
    """Score every chosen set with `score` (a score_set), print the table and the generation's latency."""
    from rag.cli import run_reporting_errors

    from eval.external import parse_sets

    def run() -> int:
        if args.every < 1:
            raise EvalInputError("--every must be at least 1")
        results, counts, seconds = {}, {}, []
        for name in parse_sets(args.sets):
            results[name], took, counts[name] = score(name, args.cache, args.every, args.llm)
            seconds += took
        print(table(results, counts, configs))
        print(f"\n{generated}: median {statistics.median(seconds):.2f} s, "
              f"p95 {np.percentile(seconds, 95):.2f} s per question ({len(seconds)} generated; retrieval "
              "itself takes milliseconds)")
        return 0

    return run_reporting_errors(run)


def main(argv: list[str] | None = None) -> int:
    return measure(build_parser().parse_args(argv), score_set, CONFIGS, "hypothetical passage")


if __name__ == "__main__":
    sys.exit(main())
