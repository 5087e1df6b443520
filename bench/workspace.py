"""A private, ingested copy of the default corpus for a benchmark run (the benchmarks never touch
the user's index)."""
from __future__ import annotations

import shutil
import socket
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
