"""Embeddings from any OpenAI-compatible `/v1/embeddings` server (text-embeddings-inference, vLLM,
Infinity, Ollama, llama.cpp server), several batches in flight, so a large corpus can be embedded
on a GPU box.

The `openai` client is used directly: llama-index's OpenAIEmbedding/OpenAILikeEmbedding packages are
not installed, and a thread pool over the client is all the concurrency this needs.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from rag.errors import BackendError, short_error


class OpenAIEmbedder:
    def __init__(self, base_url: str, model: str, api_key: str, concurrency: int, timeout: float, name: str):
        from openai import OpenAI

        self.name = name
        self.base_url = base_url
        self.model = model
        self.concurrency = concurrency
        # One retry: a server that is down should be reported in seconds, not after a back-off.
        self.client = OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=1)

    def embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        batches = [texts[at:at + batch_size] for at in range(0, len(texts), batch_size)]
        if len(batches) == 1:
            return self._batch(batches[0])
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(batches)),
                                thread_name_prefix="embed-request") as pool:
            return np.vstack(list(pool.map(self._batch, batches)))

    def _batch(self, texts: list[str]) -> np.ndarray:
        import openai

        try:
            response = self.client.embeddings.create(model=self.model, input=texts, encoding_format="float")
        except openai.APIConnectionError as exc:
            raise BackendError(f"the embeddings server at {self.base_url} is unreachable ({short_error(exc)}): "
                               "start it, fix RAG_EMBED_OPENAI_BASE_URL, or set RAG_EMBED=onnx") from None
        except openai.APIStatusError as exc:
            raise BackendError(f"the embeddings server at {self.base_url} answered {exc.status_code} "
                               f"for model {self.model!r}: {short_error(exc)}") from None
        rows = sorted(response.data, key=lambda item: item.index)
        if len(rows) != len(texts):
            raise BackendError(f"the embeddings server at {self.base_url} returned {len(rows)} vectors "
                               f"for {len(texts)} texts")
        vectors = np.asarray([row.embedding for row in rows], dtype=np.float32)
        # Cosine distances in Chroma and the dot products of the answer checks expect unit vectors;
        # not every server normalises.
        return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
