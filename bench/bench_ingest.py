"""Ingestion and query benchmark on Debian's linux-doc-6.1 reStructuredText sources.

Prints figures; asserts nothing (the machines are shared and noisy). All ratios compare against a
raw baseline measured in the same run:
- ingestion throughput / raw SentenceTransformer.encode of the same chunk texts (target >= 0.90)
- re-ingest of the unchanged corpus / first ingest, process start excluded (target < 2%)
- query latency p50/p95 per mode (target hybrid p50 < 30 ms at ~2,000 chunks, < 100 ms at ~50,000)

The ~50,000-chunk tier is optional (--large): embedding 50,000 chunks takes ~25 minutes here, so it
replicates the real chunks (texts with a copy suffix, vectors with small noise) to reach the size.
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import rag  # noqa: E402,F401  (offline environment)
from eval.external import debian_package  # noqa: E402
from eval.metrics import percentile  # noqa: E402
from bench.workspace import embedded_texts, raw_encode_seconds  # noqa: E402
from rag.config import Settings  # noqa: E402

CACHE = REPO / ".bench"
PACKAGE = "linux-doc-6.1"


def fetch_linux_doc() -> Path:
    """The package's Documentation tree, downloaded from Debian's archive once and cached."""
    return debian_package(PACKAGE, CACHE / "linux-doc", f"usr/share/doc/{PACKAGE}/Documentation")


def build_corpus(docs: Path, target: Path, max_chars: int) -> int:
    """Decompress .rst sources in a fixed order until about `max_chars` of text."""
    if target.is_dir():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    total = files = 0
    for gz in sorted(docs.rglob("*.rst.gz")):
        text = gzip.decompress(gz.read_bytes()).decode("utf-8", errors="replace")
        if not text.strip():
            continue
        out = target / gz.relative_to(docs).with_suffix("")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        total += len(text)
        files += 1
        if total >= max_chars:
            break
    return files


def query_latencies(settings: Settings, questions: list[str]) -> dict[str, dict[str, float]]:
    from rag.retrieve import Retriever

    retriever = Retriever(settings)
    retriever.search(questions[0], mode="hybrid")  # load BM25 and warm the embedder
    # hybrid is the default convex fusion; "hybrid-rrf" the rank fusion it replaced, for comparison
    rrf = Retriever(settings.replace(fusion="rrf"))
    rrf.search(questions[0], mode="hybrid")
    figures = {}
    for mode, searcher in (("dense", retriever), ("bm25", retriever), ("hybrid", retriever), ("hybrid-rrf", rrf)):
        times = []
        for q in questions:
            started = time.perf_counter()
            searcher.search(q, mode=mode.removesuffix("-rrf"))
            times.append((time.perf_counter() - started) * 1000)
        figures[mode] = {"p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95)}
    return figures


def questions_from(store_texts: list[str], n: int) -> list[str]:
    """Queries made from the first words of random chunks: realistic length, real vocabulary."""
    rng = random.Random(3)
    picks = rng.sample(store_texts, min(n, len(store_texts)))
    return [" ".join(t.split()[:12]) or "kernel" for t in picks]


def run_tier(name: str, max_chars: int, docs: Path) -> dict:
    from rag.ingest import ingest
    from rag.store import Store

    corpus = CACHE / f"corpus-{name}"
    files = build_corpus(docs, corpus, max_chars)
    index = CACHE / f"index-{name}"
    shutil.rmtree(index, ignore_errors=True)
    settings = Settings(corpus_dir=corpus, index_dir=index)

    from rag.embedding import backend
    backend(settings, documents=True)  # load outside the timed region, like the raw baseline

    first = ingest(settings, show_progress=True)
    import resource

    ingest_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # embedder + ingest so far
    again = ingest(settings, show_progress=False)
    store = Store(settings)
    chunks = list(store.all_chunks())
    texts = embedded_texts(settings.corpus_dir)
    raw_s = raw_encode_seconds(texts, settings.embed_batch_size)
    latencies = query_latencies(settings, questions_from([t for _, t, _ in chunks], 200))
    return {
        "files": files, "chunks": first.chunks_total, "text_mb": max_chars / 1e6,
        "ingest_s": first.seconds, "ingest_chunks_per_s": first.chunks_total / first.seconds,
        "raw_encode_s": raw_s, "raw_chunks_per_s": len(texts) / raw_s,
        "throughput_ratio": (first.chunks_total / first.seconds) / (len(texts) / raw_s),
        "ingest_peak_rss_mb": ingest_peak_mb,
        "reingest_s": again.seconds, "reingest_fraction": again.seconds / first.seconds,
        "query_ms": latencies,
    }


def run_memory(max_chars: int, docs: Path) -> dict:
    """Only the ingest, for its peak RSS: run at two corpus sizes, the figure should not grow."""
    import resource

    from rag.ingest import ingest

    corpus = CACHE / "corpus-memory"
    files = build_corpus(docs, corpus, max_chars)
    index = CACHE / "index-memory"
    shutil.rmtree(index, ignore_errors=True)
    report = ingest(Settings(corpus_dir=corpus, index_dir=index), show_progress=True)
    return {"files": files, "chunks": report.chunks_total, "text_mb": max_chars / 1e6, "seconds": report.seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_large_tier(base_index: Path, copies: int) -> dict:
    """~50,000 chunks by replicating the real ones; measures query latency only."""
    import numpy as np

    from rag import bm25
    from rag.store import Store

    source = Settings(index_dir=base_index)
    src = Store(source)
    got = src.chunks.get(include=["documents", "metadatas", "embeddings"])
    large = Settings(index_dir=CACHE / "index-large")
    shutil.rmtree(large.index_dir, ignore_errors=True)
    dst = Store(large)
    rng = np.random.default_rng(0)
    for c in range(copies):
        vectors = np.asarray(got["embeddings"]) + rng.normal(0, 0.01, (len(got["ids"]), 384))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        metas = [dict(m, source=f"copy{c}/{m['source']}") for m in got["metadatas"]]
        dst.add_chunks([f"{i}-c{c}" for i in got["ids"]], vectors.tolist(), got["documents"], metas)
    bm25.build(dst, large.bm25_path, "synthetic")
    latencies = query_latencies(large, questions_from(got["documents"], 200))
    return {"chunks": dst.chunks.count(), "query_ms": latencies}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=1.4, help="text to ingest, in MB (default 1.4: ~2,000 chunks)")
    parser.add_argument("--large", type=int, default=0, metavar="COPIES",
                        help="also measure query latency on COPIES replicas of the index (25 = ~50,000 chunks)")
    parser.add_argument("--memory-only", action="store_true",
                        help="only ingest --mb of text and print the process's peak RSS")
    args = parser.parse_args()
    docs = fetch_linux_doc()
    if args.memory_only:
        m = run_memory(int(args.mb * 1e6), docs)
        print(f"\ningest of {m['text_mb']:.1f} MB ({m['files']} files, {m['chunks']} chunks) in {m['seconds']:.0f} s: "
              f"peak RSS {m['peak_rss_mb']:.0f} MB (target < 3 GB for ~25 MB of text)")
        return
    results = {"tier": run_tier("main", int(args.mb * 1e6), docs)}
    if args.large:
        results["large"] = run_large_tier(CACHE / "index-main", args.large)
    (CACHE / "results-ingest.json").write_text(json.dumps(results, indent=2))
    t = results["tier"]
    print(f"\ncorpus: {t['files']} files, {t['chunks']} chunks ({t['text_mb']:.1f} MB of text)")
    print(f"ingest: {t['ingest_s']:.1f} s = {t['ingest_chunks_per_s']:.1f} chunks/s; raw encode "
          f"{t['raw_chunks_per_s']:.1f} chunks/s; ratio {t['throughput_ratio']:.2f} (target >= 0.90)")
    print(f"peak RSS after ingest: {t['ingest_peak_rss_mb']:.0f} MB for {t['text_mb']:.1f} MB of text "
          "(target < 3 GB for ~25 MB; batches stream, so it should not grow with the corpus)")
    print(f"re-ingest unchanged: {t['reingest_s']:.2f} s = {t['reingest_fraction']:.1%} of first ingest (target < 2%)")
    for label, block in [("", t)] + ([("large ", results["large"])] if "large" in results else []):
        for mode, fig in block["query_ms"].items():
            print(f"{label}query {mode:10} at {block['chunks']} chunks: p50 {fig['p50_ms']:.1f} ms, p95 {fig['p95_ms']:.1f} ms")
    print(f"(figures saved to {CACHE / 'results-ingest.json'})")


if __name__ == "__main__":
    main()
