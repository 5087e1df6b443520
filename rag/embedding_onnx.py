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
    """Model inputs: cut at the window like sentence-transformers; padding is per batch (`padded`)."""
    tokenizer = _tokenizer(model_source)
    tokenizer.enable_truncation(max_length=model.window)
    tokenizer.no_padding()
    return tokenizer


def padded(rows: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Word-piece ids padded to the longest row, and the attention mask (1 on real pieces)."""
    width = max(len(row) for row in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, :len(row)] = row
        mask[i, :len(row)] = 1
    return ids, mask


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


# Word pieces per batch (texts x the longest). On a 2-core AVX2 CPU (no native bf16), privoxy-faq's
# 990 chunks embedded in 26.6 s in batches of at most 1,536 pieces (~7 chunks) against 34.5 s in
# batches of 64 (768: 26.9 s, 3,072: 28.2 s; README, issue 13): attention's scores alone are
# batch x 12 heads x length^2 floats, ~120 MB for 64 chunks of 200 pieces, far past the caches.
# Questions and sentences, being short, still go many at a time.
BATCH_PIECES = 1536


def length_batches(lengths: list[int], most: int, budget: int | None = BATCH_PIECES) -> list[list[int]]:
    """Indices into `lengths` by increasing length (as sentence-transformers sorts, so a batch pads to
    a similar length rather than to an outlier), cut into batches of at most `most` texts whose
    count x longest stays within `budget` word pieces if one is given (one text per batch at least)."""
    batches: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        batch = batches[-1] if batches else None
        if batch is None or len(batch) >= most or (budget and (len(batch) + 1) * lengths[i] > budget):
            batches.append([i])
        else:
            batch.append(i)
    return batches


class LengthBatched:
    """Batching shared by the local embedders: word pieces once, batches by `length_batches`, padding
    per batch, mean pooling; `_hidden` runs the network on one batch."""
    dims: int
    tokenizer: object  # input_tokenizer's
    pad_id: int
    batch_pieces: int | None = BATCH_PIECES

    def _use_tokenizer(self, model_source: Path, model: EmbeddingModel) -> None:
        """The model's input word pieces and the id that pads them."""
        self.tokenizer = input_tokenizer(model_source, model)
        self.pad_id = self.tokenizer.token_to_id(model.pad_token)

    def embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        """One normalised row per text, in order."""
        out = np.empty((len(texts), self.dims), dtype=np.float32)
        if not texts:
            return out
        pieces = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        for chosen in length_batches([len(p) for p in pieces], batch_size, self.batch_pieces):
            ids, mask = padded([pieces[i] for i in chosen], self.pad_id)
            out[chosen] = mean_pooled(self._hidden(ids, mask), mask)
        return out

    def _hidden(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The last hidden state of one padded batch, float32 (batch x pieces x dims)."""
        raise NotImplementedError


class OnnxEmbedder(LengthBatched):
    def __init__(self, model_file: Path, model_source: Path, threads: int, name: str, model: EmbeddingModel = MINILM):
        import onnxruntime as ort

        self.name = name
        self.dims = model.dims
        self._use_tokenizer(model_source, model)
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

    def _hidden(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return self.session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
