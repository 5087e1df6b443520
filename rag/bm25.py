"""The BM25 index (llama-index's BM25Retriever over bm25s), persisted beside the vector store.

It is rebuilt only when the corpus changed (its signature, a hash of the file manifest, differs),
never per query: peers that rebuilt it on every query became unusably slow (open-webui #8579).
"""
from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import threading
from pathlib import Path

from rag.store import FileRecord, Store

SIGNATURE_FILE = "signature.json"
# Metadata the lexical index and the embedder see; the rest (spans, hashes) is bookkeeping.
SEARCHED_METADATA = ("title",)


def _retriever_class():
    from llama_index.retrievers.bm25 import BM25Retriever

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets itself to DEBUG on import
    return BM25Retriever


def corpus_signature(records: dict[str, FileRecord]) -> str:
    lines = sorted(f"{r.source}\0{r.file_hash}\0{r.chunks}" for r in records.values())
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def stored_signature(path: Path) -> str | None:
    try:
        return json.loads((path / SIGNATURE_FILE).read_text())["signature"]
    except (OSError, ValueError, KeyError):
        return None


def chunk_node(chunk_id: str, text: str, metadata: dict):
    from llama_index.core.schema import TextNode

    return TextNode(id_=chunk_id, text=text, metadata=dict(metadata),
                    excluded_embed_metadata_keys=[k for k in metadata if k not in SEARCHED_METADATA],
                    excluded_llm_metadata_keys=list(metadata))


_BUILD_LOCKS: dict[str, threading.Lock] = {}
_BUILD_LOCKS_GUARD = threading.Lock()


def _build_lock(path: Path) -> threading.Lock:
    with _BUILD_LOCKS_GUARD:
        return _BUILD_LOCKS.setdefault(str(path.resolve()), threading.Lock())


def build(store: Store, path: Path, signature: str) -> None:
    """Write a fresh index to a temporary folder, then swap it in: a crash never leaves half an index.

    Builds in one process (the UI's ingest and a retriever's refresh) take turns; the temporary and
    the replaced folders are unique per build, so builds of several processes never share one."""
    with _build_lock(path):
        nodes = [chunk_node(cid, text, meta) for cid, text, meta in store.all_chunks()]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=path.name + ".tmp-", dir=path.parent))
        old = tmp.with_name(tmp.name.replace(".tmp-", ".old-"))
        try:
            if nodes:
                _retriever_class().from_defaults(nodes=nodes, language="english").persist(str(tmp), show_progress=False)
            (tmp / SIGNATURE_FILE).write_text(json.dumps({"signature": signature, "chunks": len(nodes)}))
            if path.exists():
                path.rename(old)
            tmp.rename(path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)


def load(path: Path):
    """The persisted retriever, or None for an empty corpus."""
    if not (path / "params.index.json").exists():
        return None
    return _retriever_class().from_persist_dir(str(path), show_progress=False)


def ensure_current(store: Store, path: Path, records: dict[str, FileRecord] | None = None) -> bool:
    """Rebuild when missing or stale (e.g. another client of a Chroma server changed the corpus)."""
    signature = corpus_signature(records if records is not None else store.file_records())
    if stored_signature(path) == signature:
        return False
    build(store, path, signature)
    return True
