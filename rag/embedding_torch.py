"""A packaged model through llama-index's HuggingFaceEmbedding (torch and sentence-transformers):
the path before ONNX, kept (`RAG_EMBED=torch`) to compare against."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.embedding_models import EmbeddingModel


class TorchEmbedder:
    def __init__(self, model_source: Path, name: str, model: EmbeddingModel):
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        self.name = name
        self.dims = model.dims
        self.model = HuggingFaceEmbedding(model_name=str(model_source), embed_batch_size=64,
                                          max_length=model.window, device="cpu")

    def embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        # The batch size is set per call: query and ingest batches share one loaded model.
        self.model.embed_batch_size = batch_size
        return np.asarray(self.model.get_text_embedding_batch(texts), dtype=np.float32)
