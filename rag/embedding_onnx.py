"""A sentence-transformers model (all-MiniLM-L6-v2, all-mpnet-base-v2) on ONNX Runtime: the `tokenizers` word pieces, the exported graph, mean pooling
and L2 normalisation (what sentence-transformers' Pooling and Normalize modules do). No torch.

chromadb ships the same thing (`ONNXMiniLM_L6_V2`), but it cannot be used here: it pads every text
to 256 word pieces (a 12-word question costs as much as a full chunk), reads its model only from its
download folder (~/.cache/chroma, with a download when files are missing), and gives no control over
threads or the int8 file.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from rag.embedding_models import MINILM, EmbeddingModel

# all-MiniLM-L6-v2 reads at most 256 word pieces, [CLS] and [SEP] included: chunks are sized for it.
MODEL_WINDOW = MINILM.window


def _tokenizer(model_source: Path):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(Path(model_source) / "tokenizer.json"))


def counting_tokenizer(model_source: Path):
    """Word pieces as the model splits them, without truncation or padding (to size chunks)."""
    tokenizer = _tokenizer(model_source)
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def input_tokenizer(model_source: Path, model: EmbeddingModel = MINILM):
    """Model inputs: cut at the window like sentence-transformers, padded to the longest in the batch."""
    tokenizer = _tokenizer(model_source)
    tokenizer.enable_truncation(max_length=model.window)
    pad_id = tokenizer.token_to_id(model.pad_token)
    tokenizer.enable_padding(pad_id=pad_id, pad_token=model.pad_token)
    return tokenizer


def mean_pooled(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the token vectors that are not padding, scaled to length 1."""
    weights = mask[..., None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(summed, axis=1, keepdims=True)
    return (summed / np.clip(norms, 1e-12, None)).astype(np.float32)


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class LengthBatched:
    """Batching shared by the local embedders: texts sorted by length (as sentence-transformers does),
    so a batch pads to a similar length rather than to its longest outlier; `_batch` embeds one."""
    dims: int

    def embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        """One normalised row per text, in order."""
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dims), dtype=np.float32)
        for at in range(0, len(order), batch_size):
            chosen = order[at:at + batch_size]
            out[chosen] = self._batch([texts[i] for i in chosen])
        return out

    def _batch(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError


class OnnxEmbedder(LengthBatched):
    def __init__(self, model_file: Path, model_source: Path, threads: int, name: str, model: EmbeddingModel = MINILM):
        import onnxruntime as ort

        self.name = name
        self.dims = model.dims
        self.tokenizer = input_tokenizer(model_source, model)
        options = ort.SessionOptions()
        # One process embeds at a time; its matrix products use every core it may run on (2 here).
        options.intra_op_num_threads = threads or available_cores()
        options.inter_op_num_threads = 1
        # Idle worker threads sleep instead of spinning: the ingest reader, Chroma's writer and other
        # processes share the same cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self.session.get_inputs()}

    def _batch(self, texts: list[str]) -> np.ndarray:
        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        return mean_pooled(hidden, mask)
