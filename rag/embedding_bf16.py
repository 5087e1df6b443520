"""Bulk document embedding in bfloat16 on CPUs that compute it natively (AVX512-BF16 or AMX).

The model is the same packaged one (transformers' own class for it, loaded from its folder), run by
torch under `autocast` to bfloat16: the matrix products take bf16 inputs and accumulate in fp32,
layer norms and softmax stay fp32. On privoxy-faq's 1,018 chunks this encodes 1.8x faster than
fp32 (torch or ONNX Runtime, which do the same arithmetic), with vectors at cosine >= 0.9999 to
fp32's: unlike int8 weights (2.4x, cosine 0.977 at worst, retrieval moved), nothing a search can
tell. ONNX Runtime has no bf16 matrix product on x86, hence torch; so it is only worth its import
(~1.6 s) and load for a large batch, and questions and answer checks stay on ONNX (no torch on the
query path). Word pieces, batching and mean pooling are the ONNX embedder's.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.embedding_models import EmbeddingModel
from rag.embedding_onnx import LengthBatched, available_cores

# CPU flags (Linux /proc/cpuinfo) of a native bf16 matrix product; elsewhere torch emulates it,
# slower than fp32.
NATIVE_BF16_FLAGS = {"avx512_bf16", "amx_bf16"}


@lru_cache(maxsize=1)
def native_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware, read without importing torch."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:  # not Linux: no way to tell cheaply, so no
        return False
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return bool(NATIVE_BF16_FLAGS & set(flags))


class Bf16Embedder(LengthBatched):
    # Batches of `embed_batch_size` chunks, as measured on the bf16 CPU (README); the word-piece budget
    # was measured with ONNX Runtime on an AVX2 CPU, which has no native bf16.
    batch_pieces = None

    def __init__(self, model_source: Path, threads: int, name: str, model: EmbeddingModel):
        import torch
        from transformers import AutoModel

        self.torch = torch
        self.name = name
        self.dims = model.dims
        self.inputs = model.inputs
        self._use_tokenizer(model_source, model)
        torch.set_num_threads(threads or available_cores())
        self.network = AutoModel.from_pretrained(str(model_source)).eval()

    def _hidden(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        torch = self.torch
        ids, mask = torch.from_numpy(ids), torch.from_numpy(mask)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            hidden = self.network(**{k: v for k, v in feed.items() if k in self.inputs}).last_hidden_state
        return hidden.float().numpy()
