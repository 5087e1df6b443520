"""`python -m eval.windows`: small-to-big measured (issue 12) on the external sets, without changing
the index.

Today every chunk (160 word pieces under its heading path) has one vector. Small-to-big embeds
smaller windows of each chunk (whole sentences up to `--window` pieces, under the same heading path)
and scores a chunk by its own vector and its best window: `mix * chunk + (1 - mix) * best window`
(mix 1.0 is today's retrieval, 0.0 the windows alone). The chunk is still what is returned and
shown. Dense and hybrid (RRF with the BM25 ranking, `rag.retrieve`'s fusion when this was
measured) are scored with eval's relevance rule, hit@5 and MRR@5, per set and on average;
near-duplicates are dropped as in retrieval. Vectors are compared exactly (numpy), not through Chroma's approximate index.

Each set's index must exist (`make eval-external` builds it under --cache); the windows' vectors are
cached beside it (`windows-W.npz`), so a second run costs only the scoring.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.dataset import EvalInputError  # noqa: E402

DEPTH = 30  # candidates per retriever before fusion, as the default `candidates`
MODES = ("dense", "hybrid, rank fusion", "hybrid, score fusion")


def chunk_windows(text: str, budget: int) -> list[str]:
    """The chunk's sentences packed, in order, into windows of at most `budget` word pieces (a longer
    sentence is a window of its own: the model truncates it)."""
    from rag.answer.sentences import sentences_of
    from rag.embedding import token_counts

    sentences = [text[s:e] for s, e in sentences_of(text)] or [text]
    windows: list[list[str]] = [[]]
    used = 0
    for sentence, pieces in zip(sentences, token_counts(sentences)):
        if windows[-1] and used + pieces > budget:
            windows.append([])
            used = 0
        windows[-1].append(sentence)
        used += pieces
    return [" ".join(w) for w in windows]


def window_vectors(chunks: dict, settings, budget: int, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """(owner chunk row, vector) of every window of every chunk that has more than one window."""
    if cache.is_file():
        saved = np.load(cache)
        return saved["owner"], saved["vectors"]
    from rag.embedding import embed_documents

    texts, owner = [], []
    for row, (text, meta) in enumerate(zip(chunks["documents"], chunks["metadatas"])):
        windows = chunk_windows(text, budget)
        if len(windows) < 2:
            continue  # the chunk's own vector already is its only window
        heading = meta.get("heading", "")
        texts += [f"{heading}\n{w}" if heading else w for w in windows]
        owner += [row] * len(windows)
    vectors = embed_documents(texts, settings) if texts else np.zeros((0, 384), np.float32)
    np.savez(cache, owner=np.asarray(owner, dtype=np.int64), vectors=vectors)
    return np.asarray(owner, dtype=np.int64), vectors


def best_window(similarity: np.ndarray, owner: np.ndarray, chunk_similarity: np.ndarray) -> np.ndarray:
    """Per question and chunk, the best window's similarity (the chunk's own where it has one window)."""
    best = chunk_similarity.copy()
    if owner.size:
        order = np.argsort(owner, kind="stable")
        starts = np.concatenate([[0], np.flatnonzero(np.diff(owner[order])) + 1])
        best[:, owner[order][starts]] = np.maximum.reduceat(similarity[:, order], starts, axis=1)
    return best


def score_set(name: str, cache: Path, budget: int, mixes: list[float]) -> dict[tuple[str, float], tuple[float, float]]:
    from rag.config import load_settings
    from rag.embedding import embed_texts
    from rag import bm25
    from rag.retrieve import Hit, Retriever, convex_fusion, drop_near_duplicates, fusion_weight, reciprocal_rank_fusion

    from eval.dataset import load_questions
    from eval.metrics import RelevanceJudge

    folder = cache / name
    if not (folder / "index").is_dir() or not (folder / "questions.jsonl").is_file():
        raise EvalInputError(f"no index for {name} under {folder}: run `python -m eval.external --cache {cache}` first")
    settings = load_settings().replace(index_dir=folder / "index")
    retriever = Retriever(settings)
    chunks = retriever.store.chunks.get(include=["documents", "metadatas", "embeddings"])
    ids, texts = chunks["ids"], chunks["documents"]
    chunk_vectors = np.asarray(chunks["embeddings"], dtype=np.float32)
    owner, vectors = window_vectors(chunks, settings, budget, folder / f"windows-{budget}.npz")
    questions = [q for q in load_questions(folder / "questions.jsonl") if q.answerable]
    judge = RelevanceJudge(list(zip(ids, texts)))
    asked = embed_texts([q.question for q in questions], 64, settings)
    chunk_similarity = asked @ chunk_vectors.T
    window_similarity = best_window(asked @ vectors.T, owner, chunk_similarity)
    lexical = [retriever.lexical(q.question, DEPTH) for q in questions]
    row_of = {cid: row for row, cid in enumerate(ids)}
    results = {}
    for mix in mixes:
        scores = mix * chunk_similarity + (1 - mix) * window_similarity
        for mode in MODES:
            hits5 = mrr = 0.0
            for qi, q in enumerate(questions):
                top = np.argsort(-scores[qi])[:DEPTH]
                dense = [Hit(0, ids[r], "", "", 0, 0, texts[r], float(scores[qi, r]), {"dense": float(scores[qi, r])})
                         for r in top]
                if mode == "dense":
                    ranked = dense
                elif mode == "hybrid, rank fusion":
                    ranked = reciprocal_rank_fusion([dense, lexical[qi]], settings.rrf_k,
                                                    [settings.dense_weight, settings.bm25_weight])
                else:  # score fusion as rag.retrieve: each candidate with both scores
                    words = [Hit(**{**h.as_dict(), "scores": {**h.scores, "dense": float(scores[qi, row_of[h.id]])}})
                             for h in lexical[qi]]
                    missing = bm25.scores_of(retriever._bm25, q.question, [h.id for h in dense])
                    with_bm25 = [Hit(**{**h.as_dict(), "scores": {**h.scores, "bm25": missing[h.id]}}) for h in dense]
                    ranked = convex_fusion(with_bm25, words, fusion_weight(settings))
                ranked = drop_near_duplicates(ranked[:15], {h.id: chunk_vectors[row_of[h.id]] for h in ranked[:15]},
                                              settings.duplicate_cosine, 5)
                relevant = judge.relevant_ids(q.evidence)
                flags = [h.id in relevant for h in ranked[:5]]
                hits5 += any(flags)
                mrr += next((1 / rank for rank, hit in enumerate(flags, start=1) if hit), 0.0)
            results[(mode, mix)] = (hits5 / len(questions), mrr / len(questions))
    print(f"{name}: {len(ids)} chunks, {len(owner)} windows of chunks with more than one", file=sys.stderr)
    return results


def table(results: dict[str, dict], mixes: list[float]) -> str:
    from eval.external import hit_mrr_cells

    names = list(results)
    lines = ["| mode | chunk weight | " + " | ".join(names) + " | average |", "|---|---:|" + "---:|" * (len(names) + 1)]
    for mode in MODES:
        for mix in mixes:
            lines.append(f"| {mode} | {mix:.1f} | {hit_mrr_cells([results[n][(mode, mix)] for n in names])} |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    from eval.external import add_set_arguments

    p = argparse.ArgumentParser(prog="python -m eval.windows",
                                description="Small-to-big retrieval measured on the external sets' indexes: each chunk "
                                            "scored by its own vector and its best sentence window (hit@5 / MRR@5).")
    add_set_arguments(p)
    p.add_argument("--window", type=int, default=48, help="word pieces per window (default: 48)")
    p.add_argument("--mixes", default="1.0,0.7,0.5,0.0",
                   help="weights of the chunk's own similarity to try (1.0 = today; default: 1.0,0.7,0.5,0.0)")
    return p


def main(argv: list[str] | None = None) -> int:
    from rag.cli import run_reporting_errors

    from eval.external import parse_sets

    args = build_parser().parse_args(argv)

    def run() -> int:
        try:
            mixes = [float(m) for m in args.mixes.split(",")]
        except ValueError:
            raise EvalInputError(f"--mixes: numbers between 0 and 1, comma-separated (got {args.mixes!r})") from None
        if not mixes or any(not 0.0 <= m <= 1.0 for m in mixes) or args.window < 8:
            raise EvalInputError("--mixes must be between 0 and 1 and --window at least 8")
        results = {name: score_set(name, args.cache, args.window, mixes) for name in parse_sets(args.sets)}
        print(table(results, mixes))
        return 0

    return run_reporting_errors(run)


if __name__ == "__main__":
    sys.exit(main())
