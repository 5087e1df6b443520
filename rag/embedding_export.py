"""Install-time export of a local embedding model (all-MiniLM-L6-v2, or all-mpnet-base-v2 after
`make install-mpnet`) to ONNX (fp32, and int8 weights), so that ingestion and queries run on ONNX
Runtime without importing torch (6-7 s of start-up here). One path for both models: what differs
(inputs, window, padding token, folder) is in their rag.embedding_models entry.

This is the only module that imports torch and transformers for the ONNX backend, and only when
`rag model export-onnx` (run by `make install`) or a first use without it calls `export_onnx`.
torch.onnx.export is used rather than sentence-transformers' ONNX backend: that one needs optimum,
which is not installed. Each file is written to a temporary name, checked against the torch vectors,
then renamed, so an interrupted export never leaves a file that looks ready.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from rag.embedding_models import MINILM, EmbeddingModel, search_dirs, source_folder
from rag.errors import BackendError

log = logging.getLogger(__name__)

FP32_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
# The exported graph must reproduce the torch vectors. int8 weights move them a little (corpus chunks:
# cosine 0.994 on average), short texts more (one word: 0.97), so the int8 file embeds documents only;
# its bound here is a sanity check that catches a broken quantisation (tests measure quality).
MIN_COSINE = {FP32_FILE: 0.9999, INT8_FILE: 0.95}
CHECK_TEXTS = [
    "Where was the African Defense Chiefs Conference held?",
    "General al-Haddad met the commander of US Africa Command in Gaborone, Botswana, to discuss "
    "security cooperation and the unification of the Libyan armed forces.",
    "How do I change the default configuration file? Edit /etc/privoxy/config and restart the service.",
    "x",
]


def export_dir(model_dir: Path, model: EmbeddingModel = MINILM) -> Path:
    return Path(model_dir) / model.export_dir


def find_export(model_dir: Path, model: EmbeddingModel = MINILM) -> Path | None:
    """The folder holding the export: under model_dir (a relative one is read from the working
    directory, like the GGUF), else under the project's own .models/; None when neither has it."""
    for candidate in search_dirs(model_dir):
        if exported(candidate, model):
            return export_dir(candidate, model)
    return None


def exported(model_dir: Path, model: EmbeddingModel = MINILM) -> bool:
    folder = export_dir(model_dir, model)
    files = (FP32_FILE, INT8_FILE) if model.int8 else (FP32_FILE,)
    return all((folder / name).is_file() and (folder / name).stat().st_size > 0 for name in files)


def export_onnx(model_dir: Path, model: EmbeddingModel = MINILM, force: bool = False) -> Path:
    """Write model.onnx and model.int8.onnx under model_dir (once; `force` redoes it). Returns the folder."""
    folder = export_dir(model_dir, model)
    if exported(model_dir, model) and not force:
        return folder
    try:
        import onnx  # noqa: F401  (torch.onnx.export and the quantizer both need it)
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise BackendError(f"exporting the embedding model to ONNX needs {exc.name}: run `make install`") from None
    source = source_folder(model, model_dir)
    folder.mkdir(parents=True, exist_ok=True)
    reference = _torch_vectors(source)
    # Eager attention traces into plain ONNX ops; the default SDPA path would bake in shape checks.
    network = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()
    fp32 = folder / FP32_FILE
    _publish(fp32, lambda tmp: _export(torch, network, model, source, tmp), reference, model, source)
    if model.int8:
        _publish(folder / INT8_FILE, lambda tmp: _quantize(fp32, tmp), reference, model, source)
    return folder


def _publish(target: Path, write, reference: np.ndarray, model: EmbeddingModel, source: Path) -> None:
    partial = target.with_name(f"{target.stem}.partial-{os.getpid()}.onnx")
    try:
        write(partial)
        _check(partial, reference, MIN_COSINE[target.name], model, source)
        partial.replace(target)
        log.info("wrote %s (%.1f MB)", target, target.stat().st_size / 1e6)
    finally:
        partial.unlink(missing_ok=True)


def _traceable(torch, network, inputs: tuple[str, ...]):
    """A model's forward takes keyword arguments in an order transformers changes between versions;
    the traced module takes exactly the model's inputs (MiniLM three, MPNet no token types), in order."""

    class LastHiddenState(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.network = network

        def forward(self, *tensors):
            return self.network(**dict(zip(inputs, tensors))).last_hidden_state

    return LastHiddenState()


def _export(torch, network, model: EmbeddingModel, source: Path, target: Path) -> None:
    from rag.embedding_onnx import input_tokenizer, padded

    tokenizer = input_tokenizer(source, model)
    ids, mask = (torch.from_numpy(a) for a in padded([e.ids for e in tokenizer.encode_batch(CHECK_TEXTS[:2])],
                                                     tokenizer.token_to_id(model.pad_token)))
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    sample = tuple(feeds[name] for name in model.inputs)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*model.inputs, "last_hidden_state")}
    with torch.no_grad():
        # The TorchScript exporter: the dynamo one needs onnxscript, which is not installed.
        torch.onnx.export(_traceable(torch, network, model.inputs), sample, str(target), input_names=list(model.inputs),
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17,
                          dynamo=False)


def _quantize(fp32: Path, target: Path) -> None:
    """int8 weights for the matrix products that have weights (per output channel), activations
    quantised on the fly. Attention's activation-by-activation products stay fp32: the quantizer
    skips them. Quantising every MatMul and Gather per tensor instead cost 0.05 of cosine."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"], extra_options={"DefaultTensorType": 1})  # 1 = float


def _check(candidate: Path, reference: np.ndarray, min_cosine: float, model: EmbeddingModel, source: Path) -> None:
    from rag.embedding_onnx import OnnxEmbedder

    got = OnnxEmbedder(candidate, source, threads=0, name="check", model=model).embed(CHECK_TEXTS, batch_size=8)
    worst = float((got * reference).sum(axis=1).min())
    if worst < min_cosine:
        raise BackendError(f"the exported {candidate.name} disagrees with the torch model "
                           f"(cosine {worst:.4f} < {min_cosine}); not installed")


def _torch_vectors(source: Path) -> np.ndarray:
    """The reference: sentence-transformers' own vectors, as the torch backend computes them. (The
    traced module is not used for this: after tracing it no longer reproduces them.)"""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(source), device="cpu")
    return np.asarray(model.encode(CHECK_TEXTS, normalize_embeddings=True), dtype=np.float32)
