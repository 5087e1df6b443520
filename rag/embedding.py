"""Text to vectors: the configured embedder (setting `embed`), loaded once per process; the
embedder's identity that an index records; `Embedder`, a per-question vector cache.

Backends: `onnx` (default; rag.embedding_onnx, no torch), `torch` (rag.embedding_torch) and
`openai` (rag.embedding_openai); the first two run the model `embed_model` picks (rag.embedding_models). Every backend returns unit-length float32 rows. Nothing here
imports torch, transformers or sentence-transformers unless `embed = "torch"`, or an ingest batch is
large enough for bfloat16 on a CPU that has it (`embed_bf16`, rag.embedding_bf16: same vectors, 1.8x).

An index records the embedder that built it (`minilm-l6-v2/onnx-int8`, `mpnet-base-v2/onnx`, …) and
refuses another. A packaged model's three local variants (and a server announcing the same model) count as one: their
vectors agree at cosine ≥ 0.99 (tests/test_embedding.py), so an index built by one is searched and
extended by another without re-embedding.
"""
from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.config import Settings
from rag.embedding_models import MINILM, MODELS, model_spec, source_folder
from rag.embedding_onnx import MODEL_WINDOW, counting_tokenizer
from rag.errors import BackendError

log = logging.getLogger(__name__)

__all__ = ["MODEL_WINDOW", "SPECIAL_TOKENS", "Embedder", "embed_documents", "embed_query", "embed_texts",
           "token_counts"]
# A batch this large pays for torch's import and the model's load (~3 s) in bf16's saved time.
BF16_MIN_TEXTS = 128
SPECIAL_TOKENS = 2  # [CLS] and [SEP] (mpnet: <s> and </s>), inside the window
MODEL_FAMILY = MINILM.family
# Indexes made before they recorded their embedder were all built by the torch path.
UNRECORDED = f"{MODEL_FAMILY}/torch"


def model_path() -> Path:
    """all-MiniLM-L6-v2's folder: the default model, and the tokenizer chunks are sized with."""
    return source_folder(MINILM, Path())


# --- word pieces ---------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def tokenizer():
    """The model's own word-piece tokenizer (`tokenizers`, no transformers), to size chunks in the
    unit the model truncates by."""
    return counting_tokenizer(model_path())


def token_counts(texts: list[str]) -> list[int]:
    # MiniLM's word pieces for either model: mpnet splits text into the same pieces (rag.embedding_models).
    if not texts:
        return []
    return [len(e.ids) for e in tokenizer().encode_batch(texts, add_special_tokens=False)]


# --- which embedder ------------------------------------------------------------------------------
def embedder_name(settings: Settings) -> str:
    """The identity an index records: `<model>/<backend>`."""
    if settings.embed == "openai":
        return f"{model_family(settings.embed_openai_model)}/openai"
    variant = "onnx-int8" if settings.embed == "onnx" and settings.embed_int8 else settings.embed
    return f"{model_spec(settings.embed_model).family}/{variant}"


def model_family(name: str) -> str:
    model = name.rsplit("/", 1)[0] if name.endswith(("/onnx", "/onnx-int8", "/torch", "/openai")) else name
    return next((m.family for m in MODELS.values() if model.lower() in m.aliases), model)


def same_vectors(a: str, b: str) -> bool:
    return model_family(a) == model_family(b)


def backend(settings: Settings, documents: bool = False):
    """The loaded embedder for these settings (one per distinct configuration, kept for the process).

    int8 weights (`embed_int8`) embed `documents` only, the bulk of the work: on chunk-length text
    they agree with fp32 at cosine >= 0.99 and run 2.4x faster, but short texts drift more (a question:
    0.987 at worst, one word 0.97), and a question's few texts cost milliseconds in fp32."""
    name = embedder_name(settings)
    if settings.embed == "openai":
        return _load(name, "", False, 0, settings.embed_openai_base_url, settings.embed_openai_model,
                     settings.embed_openai_api_key, settings.embed_concurrency, settings.request_timeout)
    model_dir = str(Path(settings.model_dir).expanduser().absolute())
    int8 = documents and settings.embed == "onnx" and settings.embed_int8
    return _load(name, model_dir, int8, settings.embed_threads, local_model=settings.embed_model)


@lru_cache(maxsize=4)
def _load(name: str, model_dir: str, int8: bool, threads: int, base_url: str = "", model: str = "",
          api_key: str = "", concurrency: int = 1, timeout: float = 0.0, local_model: str = "minilm"):
    if name.endswith("/openai"):
        from rag.embedding_openai import OpenAIEmbedder

        return OpenAIEmbedder(base_url, model, api_key, concurrency, timeout, name)
    spec = model_spec(local_model)
    source = source_folder(spec, Path(model_dir))  # a missing mpnet says `make install-mpnet` here
    if name.endswith("/torch"):
        from rag.embedding_torch import TorchEmbedder

        return TorchEmbedder(source, name, spec)
    from rag.embedding_export import FP32_FILE, INT8_FILE, export_onnx, find_export
    from rag.embedding_onnx import OnnxEmbedder

    folder = find_export(Path(model_dir), spec)
    if folder is None:
        # First use without `make install`: export now (needs torch once; later runs do not).
        log.warning("exporting the embedding model to ONNX under %s (once; `rag model export-onnx`)", model_dir)
        folder = export_onnx(Path(model_dir), spec)
    model_file = folder / (INT8_FILE if int8 and spec.int8 else FP32_FILE)  # mpnet: fp32 only
    try:
        return OnnxEmbedder(model_file, source, threads, name, spec)
    except Exception as exc:  # a truncated or foreign file: onnxruntime's own error is a page of C++
        raise BackendError(f"cannot load the ONNX embedding model {model_file} ({type(exc).__name__}): "
                           f"run `RAG_EMBED_MODEL={spec.key} rag model export-onnx --force`") from None


def _settings(settings: Settings | None) -> Settings:
    return settings if settings is not None else Settings()


def embed_texts(texts: list[str], batch_size: int = 64, settings: Settings | None = None) -> np.ndarray:
    """One unit-length row per text, in order (question-time work: questions, sentences, passages)."""
    return backend(_settings(settings)).embed(list(texts), batch_size)


def embed_documents(texts: list[str], settings: Settings) -> np.ndarray:
    """Chunks for the index: the bulk of all embedding, with int8 weights when `embed_int8`, in
    bfloat16 when the batch is large enough to pay for loading torch (`embed_bf16`)."""
    texts = list(texts)
    if len(texts) >= BF16_MIN_TEXTS and bf16_wanted(settings) and (fast := _bf16(settings)) is not None:
        return fast.embed(texts, settings.embed_batch_size)
    return backend(settings, documents=True).embed(texts, settings.embed_batch_size)


def bf16_wanted(settings: Settings) -> bool:
    from rag.embedding_bf16 import native_bf16

    return settings.embed_bf16 and settings.embed == "onnx" and not settings.embed_int8 and native_bf16()


def _bf16(settings: Settings):
    spec = model_spec(settings.embed_model)
    source = source_folder(spec, Path(settings.model_dir).expanduser().absolute())
    return _load_bf16(str(source), settings.embed_threads, embedder_name(settings), spec.key)


@lru_cache(maxsize=2)
def _load_bf16(source: str, threads: int, name: str, model_key: str):
    """The bf16 embedder, or None (once, with a warning) when torch or the model will not load: the
    ONNX embedder then does the work, as on a CPU without bf16."""
    try:
        from rag.embedding_bf16 import Bf16Embedder

        return Bf16Embedder(Path(source), threads, name, model_spec(model_key))
    except Exception as exc:  # an install without torch, a damaged safetensors file: not worth failing for
        log.warning("bf16 document embedding unavailable (%s: %s); using ONNX fp32", type(exc).__name__, exc)
        return None


def embed_query(text: str, settings: Settings | None = None) -> np.ndarray:
    # Neither all-MiniLM-L6-v2 nor all-mpnet-base-v2 has a query prompt: a question embeds like any text.
    return embed_texts([text], 1, settings)[0]


# --- the index's embedder ------------------------------------------------------------------------
def check_index(store, settings: Settings) -> None:
    """Refuse to search or extend an index built by an embedder whose vectors are not these."""
    if store.chunks.count() == 0:
        return  # nothing to mix with
    recorded = store.embedder_record() or UNRECORDED
    wanted = embedder_name(settings)
    if not same_vectors(recorded, wanted):
        raise BackendError(f"{store.where} was built by the embedder {recorded}, but the settings select "
                           f"{wanted}: set RAG_EMBED, RAG_EMBED_MODEL (and RAG_EMBED_OPENAI_MODEL) back to what built it, "
                           "or re-embed everything with `rag ingest --rebuild`")


def claim_index(store, settings: Settings) -> None:
    """Record this embedder on an index that holds no chunks (new, or emptied by a rebuild)."""
    if store.chunks.count() == 0 and store.embedder_record() != embedder_name(settings):
        store.put_embedder_record(embedder_name(settings))


# --- one question's vectors ----------------------------------------------------------------------
class Embedder:
    """Vectors for one question's work (retrieval, evidence score, passage trimming, sentence
    scoring, citation check), each distinct text embedded once. Make one per question; a longer-lived
    one (eval's sweep over configurations) keeps every vector it has made."""

    def __init__(self, settings: Settings | None = None):
        self.settings = _settings(settings)
        self._queries: dict[str, np.ndarray] = {}
        self._texts: dict[str, np.ndarray] = {}

    def query(self, text: str) -> np.ndarray:
        if text not in self._queries:
            self._queries[text] = embed_query(text, self.settings)
        return self._queries[text]

    def texts(self, texts: list[str]) -> np.ndarray:
        """One row per text, in order; only texts not seen before go to the model (one batch)."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._texts))
        if missing:
            self._texts.update(zip(missing, embed_texts(missing, 64, self.settings)))
        return np.asarray([self._texts[t] for t in texts])
