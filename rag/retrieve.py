"""Dense, BM25 and hybrid retrieval over the ingested chunks.

Hybrid fuses the dense and BM25 candidates by a convex combination of their scores (the default:
`fusion_alpha` x cosine + the rest x BM25 over the question's best BM25 score, as Bruch et al. 2023
recommend over RRF) or by reciprocal rank fusion (`fusion = "rrf"`). llama-index's
QueryFusionRetriever offers both ("relative_score", "reciprocal_rerank") but min-max normalises the
cosines (worse here: eval/fusion.py), scores a chunk one retriever missed as 0 there, runs an event
loop per query and drops the per-retriever scores, which the answering step needs for its evidence
floor; the fusion (a few lines) is done here.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from rag import bm25
from rag.config import Settings
from rag.embedding import Embedder, check_index
from rag.errors import BackendError
from rag.query import Query
from rag.store import Store, chroma_errors

log = logging.getLogger(__name__)
# Hits looked at when dropping near-duplicates, per passage asked for: enough for a few duplicates.
DUPLICATE_LOOKAHEAD = 3


@dataclass
class Hit:
    rank: int
    id: str
    source: str
    title: str
    start: int
    end: int
    text: str
    score: float
    scores: dict[str, float] = field(default_factory=dict)  # per retriever: dense cosine, bm25, rrf
    metadata: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def _hit(chunk_id: str, text: str, meta: dict, score: float, kind: str) -> Hit:
    return Hit(rank=0, id=chunk_id, source=meta.get("source", ""), title=meta.get("title", ""),
               start=int(meta.get("start", 0)), end=int(meta.get("end", 0)), text=text, score=score,
               scores={kind: score}, metadata={k: v for k, v in meta.items() if k not in ("start", "end")})


class Retriever:
    """Holds the Chroma collection and the BM25 index for the life of a process; cheap per query."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.store = Store(settings)
        self._bm25 = None
        self._bm25_signature: str | None = None
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Reload the BM25 index if the corpus changed since it was loaded (after an ingest)."""
        with self._lock:
            path = self.settings.bm25_path
            with chroma_errors(self.settings):
                try:
                    bm25.ensure_current(self.store, path)
                except OSError as exc:  # e.g. a read-only index folder: answer from the persisted index
                    log.warning("cannot rebuild the BM25 index in %s (%s); searching the one last built",
                                path, exc.strerror or exc)
            signature = bm25.stored_signature(path)
            if signature != self._bm25_signature:
                self._bm25 = bm25.load(path)
                self._bm25_signature = signature

    def dense(self, question: str, n: int, embedder: Embedder | None = None,
              vectors: dict | None = None) -> list[Hit]:
        """The n chunks closest to the question; `vectors`, when given, receives their stored
        embeddings by chunk id (score fusion and the duplicate filter read them)."""
        with chroma_errors(self.settings):
            if self.store.chunks.count() == 0:
                return []
            check_index(self.store, self.settings)
        vector = (embedder or Embedder(self.settings)).query(question).tolist()
        include = ["documents", "metadatas", "distances"] + (["embeddings"] if vectors is not None else [])
        with chroma_errors(self.settings):
            got = self.store.chunks.query(query_embeddings=[vector], n_results=n, include=include)
        if vectors is not None:
            vectors.update(zip(got["ids"][0], got["embeddings"][0]))
        # A chunk deleted by another process can still be in this process's vector index while its
        # text and metadata are gone: such a hit no longer resolves and is dropped.
        return [_hit(cid, text, meta, 1.0 - dist, "dense")
                for cid, text, meta, dist in zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0])
                if text is not None and meta is not None]

    def corpus_names(self) -> frozenset[str]:
        """The words the corpus only writes as names, lower-cased, read with the BM25 index (so none
        in dense mode, which never loads it)."""
        return self._bm25.names if self._bm25 is not None else frozenset()

    def lexical(self, question: str, n: int) -> list[Hit]:
        # Every query follows the manifest: another process (a CLI ingest, a client of the same
        # Chroma server) may have changed the corpus since the BM25 index was loaded. When nothing
        # changed this costs one small read of the manifest and of the signature file.
        self.refresh()
        if self._bm25 is None:
            return []
        return [_hit(node.node_id, node.get_content(), node.metadata, score, "bm25")
                for node, score in bm25.search(self._bm25, question, n, self.settings.bm25_feedback)]

    def search(self, query: Query | str, k: int | None = None, mode: str | None = None,
               embedder: Embedder | None = None) -> list[Hit]:
        """The query.k best chunks. A plain string is checked here (k and mode default to the
        settings); a Query was checked where it was made. `embedder` carries the question's vectors."""
        if not isinstance(query, Query):
            query = Query.of(query, self.settings, k, mode)
        question, k, mode = query.text, query.k, query.mode
        pool = max(k, self.settings.candidates)
        diverse = self.settings.duplicate_cosine < 1.0
        # Reranking and dropping duplicates both need more than k passages to choose from.
        depth = pool if diverse or self.settings.reranker_path else k
        vectors: dict = {}  # stored embeddings of the candidates, by chunk id: read once per search
        if mode == "dense":
            hits = self.dense(question, depth, embedder, vectors)
        elif mode == "bm25":
            hits = self.lexical(question, depth)
        elif self.settings.fusion == "rrf":
            hits = reciprocal_rank_fusion([self.dense(question, pool, embedder, vectors), self.lexical(question, pool)],
                                          self.settings.rrf_k,
                                          [self.settings.dense_weight, self.settings.bm25_weight])[:depth]
        else:
            embedder = embedder or Embedder(self.settings)  # one question vector for both uses
            dense, lexical = self.dense(question, pool, embedder, vectors), self.lexical(question, pool)
            self.fill_missing_scores(question, dense, lexical, embedder, vectors)
            hits = convex_fusion(dense, lexical, fusion_weight(self.settings))[:depth]
        if self.settings.reranker_path:
            hits = rerank(question, hits, self.settings.reranker_path)
        if diverse:
            hits = self.without_near_duplicates(hits, k, vectors)
        hits = hits[:k]
        for rank, hit in enumerate(hits, start=1):
            hit.rank = rank
        return hits

    def fill_missing_scores(self, question: str, dense: list[Hit], lexical: list[Hit],
                            embedder: Embedder | None = None, vectors: dict | None = None) -> None:
        """Gives every candidate both scores: the cosine of a chunk only BM25 found (from its stored
        vector, added to `vectors`) and the BM25 score of a chunk only the dense search found.
        Scoring such a chunk as 0 instead sank chunks one retriever ranked 31st (external sets'
        hit@5 0.765 -> 0.732)."""
        import numpy as np

        vectors = {} if vectors is None else vectors
        dense_ids = {h.id for h in dense}
        lexical_ids = {h.id for h in lexical}
        only_lexical = [h for h in lexical if h.id not in dense_ids]
        if only_lexical:
            self.read_vectors([h.id for h in only_lexical], vectors)
            question_vector = (embedder or Embedder(self.settings)).query(question)
            for hit in only_lexical:
                stored = vectors.get(hit.id)
                hit.scores["dense"] = float(np.dot(question_vector, stored)) if stored is not None else 0.0
        only_dense = [h for h in dense if h.id not in lexical_ids]
        if only_dense and self._bm25 is not None:
            found = bm25.scores_of(self._bm25, question, [h.id for h in only_dense])
            for hit in only_dense:
                hit.scores["bm25"] = found[hit.id]
        else:
            for hit in only_dense:
                hit.scores["bm25"] = 0.0

    def without_near_duplicates(self, hits: list[Hit], k: int, vectors: dict | None = None) -> list[Hit]:
        """The first k hits in rank order that are not near-duplicates of a better-ranked one (the same
        paragraph in two files, a page saved twice), judged on the stored passage embeddings
        (`vectors`: those already read, by chunk id)."""
        considered = hits[:DUPLICATE_LOOKAHEAD * k]
        if len(considered) < 2:
            return considered
        vectors = {} if vectors is None else vectors
        self.read_vectors([h.id for h in considered], vectors)
        return drop_near_duplicates(considered, vectors, self.settings.duplicate_cosine, k)

    def read_vectors(self, ids: list[str], vectors: dict) -> None:
        """Adds the stored embeddings of the chunks `vectors` lacks; one Chroma read, none when it
        has them all."""
        missing = [cid for cid in ids if cid not in vectors]
        if missing:
            with chroma_errors(self.settings):
                got = self.store.chunks.get(ids=missing, include=["embeddings"])
            vectors.update(zip(got["ids"], got["embeddings"]))


def drop_near_duplicates(hits: list[Hit], vectors: dict, threshold: float, k: int) -> list[Hit]:
    """Greedy, in rank order: keep a hit unless its cosine to a kept one is >= threshold (vectors are
    normalized, so the dot product); stop at k kept. A hit without a vector is kept."""
    import numpy as np

    kept: list[Hit] = []
    kept_vectors: list = []
    for hit in hits:
        vector = vectors.get(hit.id)
        if vector is not None:
            vector = np.asarray(vector, dtype=np.float32)
            if kept_vectors and float(np.max(np.stack(kept_vectors) @ vector)) >= threshold:
                continue
            kept_vectors.append(vector)
        kept.append(hit)
        if len(kept) == k:
            break
    return kept


def reciprocal_rank_fusion(rankings: list[list[Hit]], rrf_k: int, weights: list[float] | None = None) -> list[Hit]:
    """Sum of weight/(rrf_k + rank) over the rankings a chunk appears in; one Hit per chunk id."""
    weights = weights or [1.0] * len(rankings)
    fused: dict[str, Hit] = {}
    totals: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, hit in enumerate(ranking, start=1):
            if hit.id in fused:
                fused[hit.id].scores.update(hit.scores)
            else:
                fused[hit.id] = Hit(**{**asdict(hit), "scores": dict(hit.scores)})
            totals[hit.id] = totals.get(hit.id, 0.0) + weight / (rrf_k + rank)
    for cid, hit in fused.items():
        hit.score = totals[cid]
        hit.scores["rrf"] = totals[cid]
    return sorted(fused.values(), key=lambda h: h.score, reverse=True)


def fusion_weight(settings: Settings) -> float:
    """The cosine's weight in score fusion: the setting, or the embedding model's tuned default."""
    from rag.embedding_models import model_spec

    return model_spec(settings.embed_model).fusion_alpha if settings.fusion_alpha == "auto" else settings.fusion_alpha


def convex_fusion(dense: list[Hit], lexical: list[Hit], alpha: float) -> list[Hit]:
    """alpha x cosine + (1 - alpha) x BM25 / the best BM25 score, over both candidate lists; one Hit
    per chunk id, each carrying both scores (see Retriever.fill_missing_scores). The cosine is taken
    as it is, not min-max normalised over the candidates: that spreads a question whose candidates are
    all far away as wide as one with a clear match (external sets' hit@5 0.765 against 0.733)."""
    fused: dict[str, Hit] = {}
    for hit in dense + lexical:
        if hit.id in fused:
            fused[hit.id].scores.update(hit.scores)
        else:
            fused[hit.id] = Hit(**{**asdict(hit), "scores": dict(hit.scores)})
    best_bm25 = max((h.scores.get("bm25", 0.0) for h in fused.values()), default=0.0)
    for hit in fused.values():
        lexical_part = hit.scores.get("bm25", 0.0) / best_bm25 if best_bm25 > 0 else 0.0
        hit.score = alpha * hit.scores.get("dense", 0.0) + (1 - alpha) * lexical_part
        hit.scores["fused"] = hit.score
    return sorted(fused.values(), key=lambda h: h.score, reverse=True)


@lru_cache(maxsize=2)
def _cross_encoder(path: str):
    from pathlib import Path

    if not Path(path).is_dir():
        raise BackendError(f"reranker_path {path} is not a folder holding a sentence-transformers cross-encoder")
    from sentence_transformers import CrossEncoder

    try:
        return CrossEncoder(path, device="cpu")
    except Exception as exc:
        raise BackendError(f"cannot load the cross-encoder at {path}: {exc}") from None


def rerank(question: str, hits: list[Hit], path: str) -> list[Hit]:
    """Optional second stage: a cross-encoder reads question and passage together."""
    if not hits:
        return hits
    scores = _cross_encoder(path).predict([(question, h.text) for h in hits])
    for hit, score in zip(hits, scores):
        hit.scores["rerank"] = float(score)
        hit.score = float(score)
    return sorted(hits, key=lambda h: h.score, reverse=True)
