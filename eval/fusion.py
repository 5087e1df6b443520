"""`python -m eval.fusion`: how dense and BM25 rankings are combined, and BM25's own parameters,
measured on the external sets (issue 12), without changing the index.

Today hybrid retrieval fuses the two rankings by weighted reciprocal rank fusion (RRF: rrf_k 10,
dense weight 2, 30 candidates each), which sees ranks only. Fusing the scores themselves, a convex
combination `a * dense + (1 - a) * bm25` of normalised scores, keeps how far apart two candidates
are; Bruch et al. ("An Analysis of Fusion Functions for Hybrid Retrieval", 2023) found it better
than RRF on most BEIR sets once `a` is tuned. Both normalisations they compare are here:
min-max over each retriever's candidates, and the theoretical one (dense cosine as it is, BM25
divided by the question's best BM25 score). BM25's k1 and b (bm25s's defaults 1.5 / 0.75) are swept
for BM25 alone and inside today's fusion. Three cheap ways to reorder the fused candidates are
measured on top of it: dense pseudo-relevance feedback (Rocchio: the question vector moved towards
the best fused chunks' vectors, then fused again), a chunk's score raised by its neighbours' in the
same file, and by the best score of its file.

Scored with eval's relevance rule (hit@3, hit@5, MRR@5) per set and on average; near-duplicates are
dropped as in retrieval; dense similarities are exact (numpy), not Chroma's approximate search.
Each set's index must exist (`make eval-external` builds it under --cache).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.dataset import EvalInputError  # noqa: E402

CANDIDATES = 30  # per retriever, as the default `candidates`
ALPHAS = (0.5, 0.6, 0.7, 0.8, 0.9)
# A candidate BM25 did not rank: "exact" takes its real BM25 score (what retrieval does), "zero" or
# "lowest" (the 30th score) stand in for it.
MISSING_BM25 = ("exact", "zero", "lowest")
REORDER_ALPHA = 0.8  # the default fusion weight (MiniLM) under the reordering variants


@dataclass(frozen=True)
class Options:
    alphas: tuple[float, ...] = ALPHAS
    candidates: int = CANDIDATES
    missing_bm25: str = "exact"
BM25_PARAMETERS = ((1.5, 0.75), (1.2, 0.75), (0.9, 0.4), (1.2, 0.5), (1.5, 0.9), (2.0, 0.75), (1.2, 0.3))


@dataclass
class SetScores:
    """One set's questions with every chunk's dense and BM25 score per question."""
    ids: list[str]
    vectors: np.ndarray           # chunk embeddings, normalised
    dense: np.ndarray             # questions x chunks, cosine
    bm25: dict[tuple, np.ndarray]  # (k1, b) -> questions x chunks
    relevant: list[set[str]]      # per question, the ids of chunks holding its evidence
    questions: np.ndarray         # question embeddings, normalised

    def __post_init__(self):
        # Chunk ids are "<source hash>-<file hash>-<index>" (rag.ingest.chunk_id): the file and the
        # neighbours of each chunk, for the reordering variants.
        keys = [cid.rsplit("-", 1) for cid in self.ids]
        files: dict[str, int] = {}
        self.file_of = np.array([files.setdefault(prefix, len(files)) for prefix, _ in keys])
        row_at = {(prefix, int(index)): row for row, (prefix, index) in enumerate(keys)}
        self.previous = np.array([row_at.get((prefix, int(index) - 1), -1) for prefix, index in keys])
        self.next = np.array([row_at.get((prefix, int(index) + 1), -1) for prefix, index in keys])


def load_set(name: str, cache: Path) -> SetScores:
    import bm25s

    from rag.bm25 import analyze, chunk_node, indexed_terms
    from rag.config import load_settings
    from rag.embedding import embed_texts
    from rag.retrieve import Retriever

    from eval.dataset import load_questions
    from eval.metrics import RelevanceJudge

    folder = cache / name
    if not (folder / "index").is_dir() or not (folder / "questions.jsonl").is_file():
        raise EvalInputError(f"no index for {name} under {folder}: run `python -m eval.external --cache {cache}` first")
    settings = load_settings().replace(index_dir=folder / "index")
    store = Retriever(settings).store
    chunks = store.chunks.get(include=["documents", "embeddings"])
    ids = chunks["ids"]
    vectors = np.asarray(chunks["embeddings"], dtype=np.float32)
    row_of = {cid: row for row, cid in enumerate(ids)}
    nodes = sorted((chunk_node(cid, text, meta) for cid, text, meta in store.all_chunks()),
                   key=lambda node: row_of[node.node_id])  # in the order of the vectors
    analyzed_chunks = indexed_terms(nodes)
    questions = [q for q in load_questions(folder / "questions.jsonl") if q.answerable]
    judge = RelevanceJudge(list(zip(ids, chunks["documents"])))
    question_vectors = np.asarray(embed_texts([q.question for q in questions], 64, settings), dtype=np.float32)
    dense = question_vectors @ vectors.T
    analyzed_questions = [analyze(q.question) for q in questions]
    bm25 = {}
    for k1, b in BM25_PARAMETERS:
        index = bm25s.BM25(k1=k1, b=b)
        index.index(analyzed_chunks, show_progress=False)
        vocab = index.vocab_dict
        bm25[(k1, b)] = np.stack([index.get_scores([t for t in terms if t in vocab]) if any(t in vocab for t in terms)
                                  else np.zeros(len(ids), np.float32) for terms in analyzed_questions])
    relevant = [judge.relevant_ids(q.evidence) for q in questions]
    print(f"{name}: {len(ids)} chunks, {len(questions)} answerable questions", file=sys.stderr)
    return SetScores(ids, vectors, dense, bm25, relevant, question_vectors)


def top(scores: np.ndarray, n: int) -> np.ndarray:
    """Rows of the n best scores, best first."""
    part = np.argpartition(-scores, min(n, len(scores) - 1))[:n]
    return part[np.argsort(-scores[part], kind="stable")]


def rrf(dense: np.ndarray, lexical: np.ndarray, n: int = CANDIDATES, rrf_k: int = 10,
        dense_weight: float = 2.0) -> list[int]:
    totals: dict[int, float] = {}
    for ranking, weight in ((top(dense, n), dense_weight), (top_positive(lexical, n), 1.0)):
        for rank, row in enumerate(ranking, start=1):
            totals[int(row)] = totals.get(int(row), 0.0) + weight / (rrf_k + rank)
    return sorted(totals, key=totals.get, reverse=True)


def top_positive(lexical: np.ndarray, n: int = CANDIDATES) -> np.ndarray:
    """BM25's candidates: chunks sharing no term with the question are left out, as in rag.bm25."""
    rows = top(lexical, n)
    return rows[lexical[rows] > 0]


def convex(dense: np.ndarray, lexical: np.ndarray, alpha: float, norm: str, n: int = CANDIDATES,
           missing_bm25: str = "exact") -> list[int]:
    """alpha * dense + (1 - alpha) * bm25 over the union of both candidate lists."""
    if norm == "theoretical" and missing_bm25 == "exact":  # what retrieval does
        return candidates_by(dense, lexical, fused_scores(dense, lexical, alpha), n)
    dense_rows, lexical_rows = top(dense, n), top_positive(lexical, n)
    pool = np.union1d(dense_rows, lexical_rows)
    d, s = dense[pool].astype(np.float64), lexical[pool].astype(np.float64)
    if norm == "minmax":
        low_d, high_d = dense[dense_rows].min(), dense[dense_rows].max()
        d = np.clip((d - low_d) / max(high_d - low_d, 1e-9), 0, None)
        if len(lexical_rows):
            low_s, high_s = lexical[lexical_rows].min(), lexical[lexical_rows].max()
            s = np.clip((s - low_s) / max(high_s - low_s, 1e-9), 0, None)
    else:  # theoretical: cosine as it is, BM25 over the question's best score
        high = lexical[lexical_rows].max() if len(lexical_rows) else 1.0
        outside = ~np.isin(pool, lexical_rows)
        s[outside] = 0.0 if missing_bm25 == "zero" else (lexical[lexical_rows].min() if len(lexical_rows) else 0.0)
        s = s / max(high, 1e-9)
    fused = alpha * d + (1 - alpha) * s
    return [int(pool[i]) for i in np.argsort(-fused, kind="stable")]


def fused_scores(dense: np.ndarray, lexical: np.ndarray, alpha: float) -> np.ndarray:
    """Every chunk's convex score as retrieval computes it for candidates (cosine + relative BM25)."""
    lexical_rows = top_positive(lexical)
    high = lexical[lexical_rows].max() if len(lexical_rows) else 1.0
    return alpha * dense + (1 - alpha) * lexical / max(high, 1e-9)


def candidates_by(dense: np.ndarray, lexical: np.ndarray, order: np.ndarray, n: int = CANDIDATES) -> list[int]:
    """Both retrievers' n candidates, ranked by `order` (a score per chunk)."""
    pool = np.union1d(top(dense, n), top_positive(lexical, n))
    return [int(pool[i]) for i in np.argsort(-order[pool], kind="stable")]


def with_dense_feedback(data: SetScores, q: int, alpha: float, chunks: int, weight: float) -> list[int]:
    """Rocchio for the dense side: the question vector plus `weight` x the mean vector of the
    `chunks` best fused candidates, normalised; then dense search and fusion again."""
    lexical = data.bm25[BM25_PARAMETERS[0]][q]
    first = convex(data.dense[q], lexical, alpha, "theoretical")
    moved = data.questions[q] + weight * data.vectors[first[:chunks]].mean(axis=0)
    dense = data.vectors @ (moved / np.linalg.norm(moved))
    return convex(dense, lexical, alpha, "theoretical")


def with_neighbours(data: SetScores, q: int, alpha: float, weight: float) -> list[int]:
    """A candidate's fused score plus `weight` x the mean fused score of the chunks before and after it."""
    lexical = data.bm25[BM25_PARAMETERS[0]][q]
    fused = fused_scores(data.dense[q], lexical, alpha)
    around = [np.where(side >= 0, fused[side], 0.0) for side in (data.previous, data.next)]
    return candidates_by(data.dense[q], lexical, fused + weight * (around[0] + around[1]) / 2)


def with_file_score(data: SetScores, q: int, alpha: float, weight: float) -> list[int]:
    """A candidate's fused score plus `weight` x the best fused score of any chunk of its file."""
    lexical = data.bm25[BM25_PARAMETERS[0]][q]
    fused = fused_scores(data.dense[q], lexical, alpha)
    best = np.full(data.file_of.max() + 1, -np.inf)
    np.maximum.at(best, data.file_of, fused)
    return candidates_by(data.dense[q], lexical, fused + weight * best[data.file_of])


def score(ranked_rows: list[list[int]], data: SetScores, duplicate_cosine: float = 0.9) -> tuple[float, float, float]:
    """hit@3, hit@5 and MRR@5 after near-duplicates are dropped as rag.retrieve drops them."""
    hit3 = hit5 = mrr = 0.0
    for rows, relevant in zip(ranked_rows, data.relevant):
        kept: list[int] = []
        for row in rows[:15]:
            if kept and float(np.max(data.vectors[kept] @ data.vectors[row])) >= duplicate_cosine:
                continue
            kept.append(row)
            if len(kept) == 5:
                break
        flags = [data.ids[r] in relevant for r in kept]
        hit3 += any(flags[:3])
        hit5 += any(flags)
        mrr += next((1 / rank for rank, hit in enumerate(flags, start=1) if hit), 0.0)
    n = len(ranked_rows)
    return hit3 / n, hit5 / n, mrr / n


def configurations(data: SetScores, options: Options) -> dict[str, list[list[int]]]:
    """Every configuration's ranking per question."""
    questions, n = range(len(data.relevant)), options.candidates
    default_bm25 = data.bm25[BM25_PARAMETERS[0]]
    out = {"dense": [list(top(data.dense[q], n)) for q in questions]}
    for k1, b in BM25_PARAMETERS:
        out[f"bm25 k1={k1} b={b}"] = [list(top_positive(data.bm25[(k1, b)][q], n)) for q in questions]
    for k1, b in BM25_PARAMETERS:
        out[f"hybrid RRF, bm25 k1={k1} b={b}"] = [rrf(data.dense[q], data.bm25[(k1, b)][q], n) for q in questions]
    for norm in ("minmax", "theoretical"):
        for alpha in options.alphas:
            out[f"hybrid convex {norm} a={alpha}"] = [
                convex(data.dense[q], default_bm25[q], alpha, norm, n, options.missing_bm25) for q in questions]
    alpha = REORDER_ALPHA
    for chunks, weight in ((3, 0.3), (5, 0.3), (3, 0.5)):
        out[f"a={alpha}, dense feedback from {chunks} chunks x {weight}"] = [
            with_dense_feedback(data, q, alpha, chunks, weight) for q in questions]
    for weight in (0.05, 0.1, 0.2):
        out[f"a={alpha}, + {weight} x neighbours' mean"] = [with_neighbours(data, q, alpha, weight) for q in questions]
    for weight in (0.05, 0.1, 0.2):
        out[f"a={alpha}, + {weight} x the file's best"] = [with_file_score(data, q, alpha, weight) for q in questions]
    return out


def table(results: dict[str, dict[str, tuple[float, float, float]]]) -> str:
    names = list(results)
    header = "| configuration | " + " | ".join(names) + " | **average** |"
    lines = [header, "|---|" + "---:|" * (len(names) + 1)]
    for config in next(iter(results.values())):
        cells = [results[n][config] for n in names]
        average = tuple(float(np.mean([c[i] for c in cells])) for i in range(3))
        lines.append(f"| {config} | " + " | ".join("%.3f / %.3f / %.3f" % c for c in cells + [average]) + " |")
    return "\n".join(lines) + "\n\n(hit@3 / hit@5 / MRR@5)"


def build_parser() -> argparse.ArgumentParser:
    from eval.external import add_set_arguments

    p = argparse.ArgumentParser(prog="python -m eval.fusion",
                                description="Fusion of dense and BM25 scores (RRF against convex combinations) and "
                                            "BM25's k1/b, measured on the external sets' indexes.")
    add_set_arguments(p)
    p.add_argument("--alphas", default=",".join(map(str, ALPHAS)),
                   help=f"dense weights of the convex combinations (default: {','.join(map(str, ALPHAS))})")
    p.add_argument("--candidates", type=int, default=CANDIDATES,
                   help=f"candidates per retriever before fusion (default: {CANDIDATES}, as retrieval's default)")
    p.add_argument("--missing-bm25", choices=MISSING_BM25, default="exact",
                   help="BM25 score of a candidate BM25 did not rank: its real score (default, as retrieval), "
                        "0, or the lowest of BM25's candidates")
    return p


def main(argv: list[str] | None = None) -> int:
    from rag.cli import run_reporting_errors

    from eval.external import parse_sets

    args = build_parser().parse_args(argv)

    def run() -> int:
        try:
            alphas = tuple(float(a) for a in args.alphas.split(","))
        except ValueError:
            raise EvalInputError(f"--alphas: numbers between 0 and 1, comma-separated (got {args.alphas!r})") from None
        if any(not 0.0 <= a <= 1.0 for a in alphas) or args.candidates < 5:
            raise EvalInputError("--alphas must be between 0 and 1 and --candidates at least 5")
        options = Options(alphas, args.candidates, args.missing_bm25)
        results = {}
        for name in parse_sets(args.sets):
            data = load_set(name, args.cache)
            results[name] = {config: score(rows, data) for config, rows in configurations(data, options).items()}
        print(table(results))
        return 0

    return run_reporting_errors(run)


if __name__ == "__main__":
    sys.exit(main())
