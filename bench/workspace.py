"""A private, ingested copy of the default corpus for a benchmark run (the benchmarks never touch
the user's index)."""
from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

from rag.config import Settings

REPO = Path(__file__).resolve().parents[1]


def isolated_settings(tmp: Path, **overrides) -> Settings:
    """Settings over a copy of corpus/ in `tmp`, ingested, ignoring rag.toml and RAG_* variables."""
    from rag.ingest import ingest

    shutil.copytree(REPO / "corpus", tmp / "corpus", dirs_exist_ok=True)
    base = Settings().replace(corpus_dir=tmp / "corpus", index_dir=tmp / "index", model_dir=REPO / ".models")
    ingest(base, show_progress=False)
    return base.replace(**overrides)


def embedded_texts(corpus: Path) -> list[str]:
    """The strings an ingest of `corpus` gives the embedder (heading path, then passage), in order:
    the raw baselines encode exactly these, so both sides do the same work. A file the ingest skips
    (its reader fails) is skipped here too."""
    from rag.ingest import IngestReport, prepare, scan_corpus

    settings = Settings().replace(corpus_dir=corpus)
    texts = []
    for f in scan_corpus(corpus, IngestReport()):
        try:
            texts += prepare(f, settings).embed_texts
        except Exception:  # as rag.ingest does: whatever one file's reader raises skips that file
            continue
    return texts


def raw_encode_seconds(texts: list[str], batch_size: int = 64) -> float:
    """Raw sentence-transformers `encode` of `texts` on the packaged model, loaded and warm."""
    from sentence_transformers import SentenceTransformer

    from rag.embedding import model_path

    model = SentenceTransformer(str(model_path()), device="cpu")
    model.encode(texts[:32], batch_size=batch_size)  # warm-up, as ingest's model is warm after load
    started = time.perf_counter()
    model.encode(texts, batch_size=batch_size, normalize_embeddings=True)
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
