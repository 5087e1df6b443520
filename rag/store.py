"""Chroma, embedded or client/server, holding two collections.

- `<name>`: one record per chunk (our own embeddings; the collection has no embedding function).
- `<name>__files`: one record per ingested file (hash, chunk count, title, time), plus the embedder
  that built the index and, during an ingest on a Chroma server, its lock. A file's record
  is written after all its chunks and removed before any of them, so a crash at any moment leaves
  a state the next ingest can see and repair. Keeping it in Chroma, not on local disk, means every
  client of a Chroma server sees the same corpus state.

llama-index's ChromaVectorStore is not used for writes: it serializes every node into the metadata
(doubling storage and making id listings slow) and cannot order writes as above.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from rag.config import Settings
from rag.errors import BackendError, RagError

FILES_SUFFIX = "__files"
# The manifest also holds which embedder built the index (rag.embedding.check_index). A record, not
# collection metadata: Chroma's modify() replaces the whole metadata and clients cache it.
EMBEDDER_RECORD = "embedder"


@dataclass(frozen=True)
class FileRecord:
    source: str
    file_hash: str
    chunks: int
    title: str
    ingested_at: float
    recipe: str = ""  # rag.chunking.chunking_recipe at ingest; "" for records written before it existed


def _where(settings: Settings) -> tuple[str, str]:
    """Which Chroma, and what to check when it fails."""
    if settings.uses_chroma_server:
        return (f"the Chroma server at {settings.chroma_host}:{settings.chroma_port}",
                "Is `chroma run` up? Check RAG_CHROMA_HOST/RAG_CHROMA_PORT.")
    return (f"the Chroma index at {settings.chroma_path}",
            "Check that the index directory exists and is writable (RAG_INDEX_DIR).")


@contextmanager
def chroma_errors(settings: Settings):
    """Chroma raises transport and storage errors of many types; the user needs one clear message.
    Nothing is cached across the failure, so the next call works again once Chroma is back."""
    try:
        yield
    except RagError:
        raise
    except Exception as exc:
        where, hint = _where(settings)
        raise BackendError(f"{where} failed: {type(exc).__name__}: {exc}. {hint}") from None


def _chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


@lru_cache(maxsize=8)
def _client(path: str, host: str, port: int):
    import chromadb

    # Failures surface through chroma_errors in Store, with the same wording as any other call.
    if host:
        return chromadb.HttpClient(host=host, port=port, settings=_chroma_settings())
    return chromadb.PersistentClient(path=path, settings=_chroma_settings())


class Store:
    def __init__(self, settings: Settings):
        self.settings = settings
        if not settings.uses_chroma_server:
            try:
                settings.chroma_path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise BackendError(f"cannot create the index directory {settings.chroma_path}: {exc.strerror}") from None
        with chroma_errors(settings):
            self.client = _client(str(settings.chroma_path), settings.chroma_host, settings.chroma_port)
            self.chunks = self._collection(settings.collection)
            self.files = self._collection(settings.collection + FILES_SUFFIX)

    def _collection(self, name: str):
        # Called inside chroma_errors: a failure gets the same message as any other Chroma call.
        return self.client.get_or_create_collection(name, embedding_function=None, metadata={"hnsw:space": "cosine"})

    # --- file manifest -------------------------------------------------------------------------
    def file_records(self) -> dict[str, FileRecord]:
        got = self.files.get(include=["metadatas"])
        # Only file records: the collection also holds the ingest lock record (rag.locks.ChromaIngestLock).
        return {m["source"]: FileRecord(m["source"], m["file_hash"], int(m["chunks"]), m.get("title", ""),
                                        float(m.get("ingested_at", 0.0)), str(m.get("recipe", "")))
                for m in got["metadatas"] or [] if "source" in m}

    @property
    def where(self) -> str:
        return _where(self.settings)[0]

    def embedder_record(self) -> str | None:
        got = self.files.get(ids=[EMBEDDER_RECORD], include=["metadatas"])
        return (got["metadatas"] or [{}])[0].get("embedder") if got["ids"] else None

    def put_embedder_record(self, name: str) -> None:
        self.files.upsert(ids=[EMBEDDER_RECORD], embeddings=[[1.0]], metadatas=[{"embedder": name}])

    def put_file_record(self, record: FileRecord) -> None:
        # A 1-dimensional placeholder vector: Chroma stores no record without an embedding.
        self.files.upsert(ids=[record_id(record.source)], embeddings=[[1.0]],
                          metadatas=[record.__dict__])

    def drop_file_record(self, source: str) -> None:
        self.files.delete(ids=[record_id(source)])

    # --- chunks --------------------------------------------------------------------------------
    def chunk_ids(self) -> list[str]:
        return self.chunks.get(include=[])["ids"]

    def add_chunks(self, ids, embeddings, documents, metadatas) -> None:
        limit = self.client.get_max_batch_size()
        for at in range(0, len(ids), limit):
            sl = slice(at, at + limit)
            self.chunks.upsert(ids=ids[sl], embeddings=embeddings[sl], documents=documents[sl],
                               metadatas=metadatas[sl])

    def delete_chunks(self, ids: list[str]) -> None:
        limit = self.client.get_max_batch_size()
        for at in range(0, len(ids), limit):
            self.chunks.delete(ids=ids[at:at + limit])

    def all_chunks(self):
        """Every chunk's id, text and metadata, in pages (for building the BM25 index)."""
        total, page = self.chunks.count(), 5000
        for offset in range(0, total, page):
            got = self.chunks.get(include=["documents", "metadatas"], limit=page, offset=offset)
            yield from zip(got["ids"], got["documents"], got["metadatas"])


def record_id(source: str) -> str:
    return "file:" + source
