"""Install-time export of the packaged all-MiniLM-L6-v2 to ONNX (fp32, and int8 weights), so that
ingestion and queries run on ONNX Runtime without importing torch (6-7 s of start-up here).

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

from rag.embedding import model_path
from rag.errors import BackendError

log = logging.getLogger(__name__)

EXPORT_DIR = "all-minilm-l6-v2-onnx"
FP32_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
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


# Where `make install` (run at the repository root) writes the export: found from any working directory.
PROJECT_MODELS = Path(__file__).resolve().parents[1] / ".models"


def export_dir(model_dir: Path) -> Path:
    return Path(model_dir) / EXPORT_DIR


def find_export(model_dir: Path) -> Path | None:
    """The folder holding the export: under model_dir (a relative one is read from the working
    directory, like the GGUF), else under the project's own .models/; None when neither has it."""
    for candidate in (Path(model_dir), PROJECT_MODELS):
        if exported(candidate):
            return export_dir(candidate)
    return None


def exported(model_dir: Path) -> bool:
    folder = export_dir(model_dir)
    return all((folder / name).is_file() and (folder / name).stat().st_size > 0 for name in (FP32_FILE, INT8_FILE))


def export_onnx(model_dir: Path, force: bool = False) -> Path:
    """Write model.onnx and model.int8.onnx under model_dir (once; `force` redoes it). Returns the folder."""
    folder = export_dir(model_dir)
    if exported(model_dir) and not force:
        return folder
    try:
        import onnx  # noqa: F401  (torch.onnx.export and the quantizer both need it)
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise BackendError(f"exporting the embedding model to ONNX needs {exc.name}: run `make install`") from None
    folder.mkdir(parents=True, exist_ok=True)
    source = model_path()
    reference = _torch_vectors(source)
    # Eager attention traces into plain ONNX ops; the default SDPA path would bake in shape checks.
    model = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()
    fp32 = folder / FP32_FILE
    _publish(fp32, lambda tmp: _export(torch, model, source, tmp), reference)
    _publish(folder / INT8_FILE, lambda tmp: _quantize(fp32, tmp), reference)
    return folder


def _publish(target: Path, write, reference: np.ndarray) -> None:
    partial = target.with_name(f"{target.stem}.partial-{os.getpid()}.onnx")
    try:
        write(partial)
        _check(partial, reference, MIN_COSINE[target.name])
        partial.replace(target)
        log.info("wrote %s (%.1f MB)", target, target.stat().st_size / 1e6)
    finally:
        partial.unlink(missing_ok=True)


def _traceable(torch, model):
    """BertModel's forward takes keyword arguments in an order transformers changes between
    versions; the traced module takes exactly the three inputs, in order."""

    class LastHiddenState(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    return LastHiddenState()


def _export(torch, model, source: Path, target: Path) -> None:
    from rag.embedding_onnx import input_tokenizer

    encoded = input_tokenizer(source).encode_batch(CHECK_TEXTS[:2])
    ids = torch.tensor([e.ids for e in encoded])
    sample = (ids, torch.tensor([e.attention_mask for e in encoded]), torch.zeros_like(ids))
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    with torch.no_grad():
        # The TorchScript exporter: the dynamo one needs onnxscript, which is not installed.
        torch.onnx.export(_traceable(torch, model), sample, str(target), input_names=list(INPUTS),
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17,
                          dynamo=False)


def _quantize(fp32: Path, target: Path) -> None:
    """int8 weights for the matrix products that have weights (per output channel), activations
    quantised on the fly. Attention's activation-by-activation products stay fp32: the quantizer
    skips them. Quantising every MatMul and Gather per tensor instead cost 0.05 of cosine."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"], extra_options={"DefaultTensorType": 1})  # 1 = float


def _check(candidate: Path, reference: np.ndarray, min_cosine: float) -> None:
    from rag.embedding_onnx import OnnxEmbedder

    got = OnnxEmbedder(candidate, model_path(), threads=0, name="check").embed(CHECK_TEXTS, batch_size=8)
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
