"""All settings in one place: defaults, then an optional `rag.toml`, then `RAG_*` environment variables.

The config file is `rag.toml` in the working directory, or the path in `RAG_CONFIG`. Keys are the
field names below (`top_k = 8`); environment variables are the upper-case names with the `RAG_`
prefix (`RAG_TOP_K=8`).
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, get_type_hints

from rag.errors import ConfigError

RETRIEVAL_MODES = ("dense", "bm25", "hybrid")
LLM_BACKENDS = ("local", "openai", "ollama", "extractive")


@dataclass(frozen=True)
class Settings:
    # Where things live
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path(".index")
    model_dir: Path = Path(".models")

    # Chroma: embedded (under index_dir) unless a server host is given
    chroma_host: str = ""
    chroma_port: int = 8000
    collection: str = "documents"

    # Chunking, in word pieces of the embedding model (its window is 256, title included)
    chunk_size: int = 160
    chunk_overlap: int = 32

    # Retrieval
    top_k: int = 5
    retrieval_mode: str = "hybrid"
    # rrf_k, dense_weight, candidates: best hit@5 + MRR@5 averaged over the external sets (perlfaq,
    # debian-faq, privoxy-faq; grid rrf_k 5-60, dense_weight 1-3, candidates 20-50): sharper fusion
    # that trusts the dense ranking twice as much; plain RRF (60, equal weights) is 0.04 hit@5 worse.
    rrf_k: int = 10
    dense_weight: float = 2.0  # weights of each ranking in the fusion
    bm25_weight: float = 1.0
    candidates: int = 30
    reranker_path: str = ""
    # A passage whose embedding has at least this cosine with a better-ranked one is dropped from the
    # top-k (near-duplicates: the same paragraph in two files); 1.0 keeps every passage. 0.9 was the
    # best of 0.85-0.98 on the external sets' average (hybrid hit@5 0.775 -> 0.782, MRR@5 0.607 -> 0.609).
    duplicate_cosine: float = 0.9

    # Answering
    llm: str = "local"
    model_path: str = ""  # any GGUF; empty = the packaged Qwen2.5 1.5B assembled into model_dir
    llm_threads: int = 0  # 0 = all cores
    context_window: int = 4096
    max_new_tokens: int = 320
    temperature: float = 0.0
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_model: str = "local-model"
    openai_api_key: str = "not-needed"
    ollama_host: str = "http://127.0.0.1:11434"
    ollama_model: str = "qwen2.5:1.5b"
    request_timeout: float = 120.0
    # 3 passages of ~500 characters keep the default prompt at 420-460 tokens (~6 s of prefill on 2
    # quiet cores); 400 cut the second sentence of a two-sentence answer. The floor 0.20 is the best
    # dense cosine that refused no answerable question of eval/questions.jsonl
    answer_passages: int = 3
    passage_chars: int = 500
    refusal_min_score: float = 0.20
    support_threshold: float = 0.55
    max_question_chars: int = 2000

    # Ingestion
    max_file_mb: float = 20.0  # larger files are skipped with a warning (a 20 MB text is ~30,000 chunks)
    embed_batch_size: int = 64

    # UI
    host: str = "127.0.0.1"
    port: int = 7860
    auth_user: str = ""
    auth_password: str = ""
    allow_open: bool = False
    upload_max_mb: float = 20.0

    def __post_init__(self) -> None:
        # Library callers pass plain strings for folders; every consumer expects a Path.
        for f in fields(self):
            if f.type in ("Path", Path) and not isinstance(getattr(self, f.name), Path):
                object.__setattr__(self, f.name, Path(getattr(self, f.name)))

    @property
    def chroma_path(self) -> Path:
        return self.index_dir / "chroma"

    @property
    def bm25_path(self) -> Path:
        return self.index_dir / "bm25"

    @property
    def uses_chroma_server(self) -> bool:
        return bool(self.chroma_host)

    def replace(self, **changes: Any) -> "Settings":
        """A copy with some fields changed (CLI flags, UI per-session settings), validated."""
        hints = get_type_hints(Settings)
        typed = {k: _coerce(k, v, hints[k]) for k, v in changes.items() if v is not None}
        return validated(dataclasses.replace(self, **typed))

    def as_dict(self) -> dict[str, Any]:
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        if shown["auth_password"]:
            shown["auth_password"] = "***"
        return {k: str(v) if isinstance(v, Path) else v for k, v in shown.items()}


def _coerce(name: str, raw: Any, kind: type) -> Any:
    try:
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(raw)
        return kind(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name!r}: cannot read {raw!r} as {kind.__name__}") from None


def validated(settings: Settings) -> Settings:
    checks = [
        (settings.retrieval_mode in RETRIEVAL_MODES, f"retrieval_mode must be one of {', '.join(RETRIEVAL_MODES)}"),
        (settings.llm in LLM_BACKENDS, f"llm must be one of {', '.join(LLM_BACKENDS)}"),
        (1 <= settings.top_k <= 50, "top_k must be between 1 and 50"),
        (0.5 <= settings.duplicate_cosine <= 1.0, "duplicate_cosine must be between 0.5 and 1.0 (1.0 keeps all passages)"),
        (32 <= settings.chunk_size <= 250, "chunk_size must be between 32 and 250 word pieces"),
        (0 <= settings.chunk_overlap < settings.chunk_size // 2, "chunk_overlap must be below half of chunk_size"),
        (0 < settings.chroma_port < 65536, "chroma_port must be a TCP port"),
        (0 < settings.port < 65536, "port must be a TCP port"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)
    return settings


def _config_file(env: dict[str, str]) -> dict[str, Any]:
    path = Path(env.get("RAG_CONFIG", "rag.toml"))
    if not path.is_file():
        if "RAG_CONFIG" in env:
            raise ConfigError(f"config file {path} (from RAG_CONFIG) does not exist")
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    hints = get_type_hints(Settings)
    known = {f.name for f in fields(Settings)}
    from_file = _config_file(env)
    unknown = sorted(set(from_file) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s) in config file: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name in known:
        raw = env.get(f"RAG_{name.upper()}", from_file.get(name))
        if raw is not None:
            values[name] = _coerce(name, raw, hints[name])
    return validated(Settings(**values))
