"""All settings in one place: defaults, then an optional `rag.toml`, then `RAG_*` environment variables.

The config file is `rag.toml` in the working directory, or the path in `RAG_CONFIG`. Keys are the
field names below (`top_k = 8`); environment variables are the upper-case names with the `RAG_`
prefix (`RAG_TOP_K=8`). Every field carries its allowed range, so a bad value stops at start-up with
a one-line `ConfigError` instead of failing at query time.

`Settings(...)` is exactly its arguments over the defaults (tests and benches rely on that);
`load_settings()` is the only place that reads the environment and the config file.
"""
from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BeforeValidator, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict, TomlConfigSettingsSource
from pydantic_settings.sources.utils import parse_env_vars

from rag.errors import ConfigError

ENV_PREFIX = "RAG_"
RetrievalMode = Literal["dense", "bm25", "hybrid"]
Fusion = Literal["convex", "rrf"]
LlmBackend = Literal["local", "openai", "ollama", "extractive"]
EmbedBackend = Literal["onnx", "torch", "openai"]
EmbedModel = Literal["minilm", "mpnet"]
RETRIEVAL_MODES: tuple[str, ...] = get_args(RetrievalMode)
LLM_BACKENDS: tuple[str, ...] = get_args(LlmBackend)
EMBED_BACKENDS: tuple[str, ...] = get_args(EmbedBackend)


def _blank_is_false(value: Any) -> Any:
    # `RAG_ALLOW_OPEN=` (set but empty) has always meant "off"; pydantic would refuse the empty string.
    return False if isinstance(value, str) and not value.strip() else value


Flag = Annotated[bool, BeforeValidator(_blank_is_false)]
Port = Annotated[int, Field(ge=1, le=65535)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Count = Annotated[int, Field(ge=1)]
Positive = Annotated[float, Field(gt=0)]
Url = Annotated[str, Field(pattern=r"^https?://\S+$", description="an http:// or https:// URL")]
Name = Annotated[str, Field(min_length=1, description="a non-empty name")]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="forbid", allow_inf_nan=False,
        coerce_numbers_to_str=True,  # `auth_password = 1234` in rag.toml is a password, not an error
    )

    # Where things live
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path(".index")
    model_dir: Path = Path(".models")

    # Chroma: embedded (under index_dir) unless a server host is given
    chroma_host: str = ""
    chroma_port: Port = 8000
    collection: str = Field("documents", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,500}[A-Za-z0-9]$",
                            description="3 to 502 letters, digits, '.', '_' or '-', starting and ending "
                                        "with a letter or digit (Chroma's rule for collection names)")

    # Chunking, in word pieces of the embedding model (its window is 256, title included)
    chunk_size: int = Field(160, ge=32, le=250)
    chunk_overlap: int = Field(32, ge=0)  # and below chunk_size / 2, checked with chunk_size below

    # Retrieval
    top_k: int = Field(5, ge=1, le=50)
    retrieval_mode: RetrievalMode = "hybrid"
    # How hybrid mode fuses the two candidate lists: "convex" adds fusion_alpha x the dense cosine
    # and (1 - fusion_alpha) x the BM25 score over the question's best BM25 score; "rrf" adds ranks.
    # With MiniLM, convex at 0.8 beat the tuned RRF below on the external sets' average (hit@5 0.753
    # -> 0.765, MRR@5 0.572 -> 0.614, MRR better on each set; 0.75 and 0.85 also beat RRF): ranks
    # alone lose how far apart two candidates are (eval/fusion.py). "auto": the embedding model's own
    # weight (rag/embedding_models.py: 0.8 MiniLM, 0.9 mpnet).
    fusion: Fusion = "convex"
    fusion_alpha: Fraction | Literal["auto"] = Field("auto", description="a number between 0 and 1, or auto")
    # rrf_k, dense_weight, candidates: best hit@5 + MRR@5 averaged over the external sets (perlfaq,
    # debian-faq, privoxy-faq; grid rrf_k 5-60, dense_weight 1-3, candidates 20-50): sharper fusion
    # that trusts the dense ranking twice as much; plain RRF (60, equal weights) is 0.04 hit@5 worse.
    rrf_k: Count = 10
    dense_weight: Positive = 2.0  # weights of each ranking in the fusion
    bm25_weight: Positive = 1.0
    candidates: Count = 30
    # Pseudo-relevance feedback for BM25: expand the query from this many best chunks (0 = off).
    bm25_feedback: int = Field(0, ge=0, le=20)
    reranker_path: str = ""
    # A passage whose embedding has at least this cosine with a better-ranked one is dropped from the
    # top-k (near-duplicates: the same paragraph in two files); 1.0 keeps every passage. 0.9 was the
    # best of 0.85-0.98 on the external sets' average (hybrid hit@5 0.775 -> 0.782, MRR@5 0.607 -> 0.609).
    duplicate_cosine: float = Field(0.9, ge=0.5, le=1.0)

    # Answering
    llm: LlmBackend = "local"
    model_path: str = ""  # any GGUF; empty = the packaged Qwen2.5 1.5B assembled into model_dir
    llm_threads: int = Field(0, ge=0)  # 0 = all cores
    context_window: int = Field(4096, ge=512)  # the default prompt alone is ~450 tokens
    max_new_tokens: Count = 320  # and below context_window, checked below
    temperature: float = Field(0.0, ge=0, le=2)
    openai_base_url: Url = "http://127.0.0.1:8080/v1"
    openai_model: Name = "local-model"
    openai_api_key: str = Field("not-needed", repr=False)
    ollama_host: Url = "http://127.0.0.1:11434"
    ollama_model: Name = "qwen2.5:1.5b"
    request_timeout: Positive = 120.0
    # 3 passages of ~500 characters keep the default prompt at 420-460 tokens (~6 s of prefill on 2
    # quiet cores); 400 cut the second sentence of a two-sentence answer. The floor 0.20 is the best
    # dense cosine that refused no answerable question of eval/questions.jsonl
    answer_passages: int = Field(3, ge=1, le=50)
    passage_chars: Count = 500
    refusal_min_score: Fraction = 0.20
    max_question_chars: Count = 2000

    # Embeddings: `onnx` (the packaged all-MiniLM-L6-v2 exported to ONNX at install time: no torch at
    # run time), `torch` (the same model through sentence-transformers, for comparison) or `openai`
    # (any OpenAI-compatible /v1/embeddings server). An index remembers its embedder (rag.embedding).
    embed: EmbedBackend = "onnx"
    # The model the onnx and torch backends run: `minilm` (all-MiniLM-L6-v2, 384 dims) or `mpnet`
    # (all-mpnet-base-v2, 768 dims, ~6x the cost per text; `make install-mpnet`, see rag.embedding_models)
    embed_model: EmbedModel = "minilm"
    # int8 weights for documents: 2.4x the fp32 speed here; cosine to the torch vectors 0.994 on average
    # over corpus chunks (0.977 at worst), and hybrid hit@5 on perlfaq 0.013 below torch, so off by
    # default (fp32 reproduces torch). Questions are always embedded in fp32
    embed_int8: Flag = False
    # Large document batches in bfloat16 through torch, on CPUs with native bf16 (AVX512-BF16, AMX):
    # 1.8x fp32's speed with the same vectors (cosine >= 0.9999; rag.embedding_bf16)
    embed_bf16: Flag = True
    embed_threads: int = Field(0, ge=0, le=256)  # ONNX Runtime threads; 0 = every core this process may use
    embed_openai_base_url: Url = "http://127.0.0.1:8081/v1"
    embed_openai_model: Name = "all-MiniLM-L6-v2"
    embed_openai_api_key: str = Field("not-needed", repr=False)
    embed_concurrency: int = Field(4, ge=1, le=64)  # batches in flight to the embeddings server

    # Ingestion
    max_file_mb: Positive = 20.0  # larger files are skipped with a warning (a 20 MB text is ~30,000 chunks)
    embed_batch_size: Count = 64
    # With a Chroma server, the ingest lock is a record in Chroma renewed while the ingest runs; one
    # left by a machine that died expires after this many seconds
    ingest_lock_ttl_s: float = Field(120.0, ge=3)

    # UI
    host: Name = "127.0.0.1"
    port: Port = 7860
    auth_user: str = ""
    auth_password: str = Field("", repr=False)
    allow_open: Flag = False
    # The bearer token the OpenAI-compatible API (/v1) asks for; empty = none (loopback or an open
    # server only, see ui/session.api_access)
    api_key: str = Field("", repr=False, pattern=r"^(|\S{8,1000})$",
                         description="empty, or 8 to 1000 characters without spaces")
    upload_max_mb: Positive = 20.0
    # Host names (comma-separated) the UI answers to besides the bound address, localhost and
    # 127.0.0.1/::1; any other Host header is refused (DNS rebinding). "*" switches the check off
    allowed_hosts: str = ""

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError(exc) from None

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, **other_sources):
        # Only the arguments: the environment and the config file are read by load_settings alone.
        return (init_settings,)

    @model_validator(mode="after")
    def _check_pairs(self) -> "Settings":
        if self.chunk_overlap >= self.chunk_size / 2:
            raise ValueError(f"chunk_overlap must be below half of chunk_size ({self.chunk_size}), "
                             f"not {self.chunk_overlap}")
        if self.max_new_tokens >= self.context_window:
            raise ValueError(f"max_new_tokens must be below context_window ({self.context_window}), "
                             f"not {self.max_new_tokens}")
        if not all(re.fullmatch(r"[A-Za-z0-9.*:\[\]_-]+", h) for h in self.allowed_host_names):
            raise ValueError("allowed_hosts must be host names separated by commas (e.g. docs.internal,10.0.0.5)")
        return self

    @property
    def chroma_path(self) -> Path:
        return self.index_dir / "chroma"

    @property
    def bm25_path(self) -> Path:
        return self.index_dir / "bm25"

    @property
    def max_file_bytes(self) -> int:
        """The ingest limit, in bytes. Sizes are in MB (10^6 bytes) everywhere, never MiB."""
        return int(self.max_file_mb * 1e6)

    @property
    def upload_limit_mb(self) -> float:
        """An upload ingest would skip is refused at once: the smaller of the two limits."""
        return min(self.upload_max_mb, self.max_file_mb)

    @property
    def allowed_host_names(self) -> list[str]:
        return [h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip()]

    @property
    def uses_chroma_server(self) -> bool:
        return bool(self.chroma_host)

    def replace(self, **changes: Any) -> "Settings":
        """A validated copy with some fields changed (CLI flags, UI per-session choices, eval overrides).

        None means "not given" (an unset flag); strings are read like environment values ("8", "yes").
        """
        given = {name: value for name, value in changes.items() if value is not None}
        return Settings(**{**self.model_dump(), **given})

    def as_dict(self) -> dict[str, Any]:
        """The settings for display (`rag config`): paths as text, secrets masked unless left at the default."""
        shown = self.model_dump(mode="json")
        for secret in SECRETS:
            if shown[secret] != Settings.model_fields[secret].default:
                shown[secret] = "***"
        return shown


SECRETS = ("auth_password", "openai_api_key", "api_key", "embed_openai_api_key")


# --- errors: one line naming each bad setting and what it accepts ----------------------------------
class SettingsError(ConfigError):
    """Values that fail their checks. Keeps pydantic's report so load_settings can say where each came from."""

    def __init__(self, report: ValidationError, origins: Mapping[str, str] | None = None) -> None:
        self.report = report
        super().__init__(explain(report, origins))


def explain(exc: ValidationError, origins: Mapping[str, str] | None = None) -> str:
    """pydantic's multi-line report as one line; `origins` says where a value came from (RAG_TOP_K, a file)."""
    return "; ".join(dict.fromkeys(_explain_one(error, origins or {}) for error in exc.errors()))


def _explain_one(error: Mapping[str, Any], origins: Mapping[str, str]) -> str:
    if not error["loc"]:  # a check across fields: its message is already a sentence
        return str(error["ctx"]["error"])
    name = str(error["loc"][0])
    where = f" (from {origins[name]})" if name in origins else ""
    if error["type"] == "extra_forbidden":
        return f"unknown setting {name!r}{where}"
    return f"{name} must be {_rule(name)}, not {error['input']!r}{where}"


def _rule(name: str) -> str:
    field = Settings.model_fields[name]
    if field.description:
        return field.description
    if get_origin(field.annotation) is Literal:
        return "one of " + ", ".join(get_args(field.annotation))
    kind = {int: "an integer", float: "a number", bool: "true or false", Path: "a path"}.get(field.annotation, "text")
    return kind + _bounds(field.metadata)


def _bounds(metadata: list[Any]) -> str:
    limits = {key: getattr(m, key) for m in metadata for key in ("ge", "gt", "le", "lt")
              if getattr(m, key, None) is not None}
    if "ge" in limits and "le" in limits:
        return f" between {limits['ge']} and {limits['le']}"
    symbols = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    return "".join(f" {symbols[key]} {value}" for key, value in limits.items())


# --- loading ---------------------------------------------------------------------------------------
class _EnvSource(EnvSettingsSource):
    """The `RAG_*` variables of the given mapping rather than of os.environ (tests pass their own)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._given_env = env
        super().__init__(Settings)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._given_env, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


def _config_file(env: Mapping[str, str]) -> tuple[Path, dict[str, Any]]:
    path = Path(env.get(f"{ENV_PREFIX}CONFIG", "rag.toml"))
    if not path.is_file():
        if f"{ENV_PREFIX}CONFIG" in env:
            raise ConfigError(f"config file {path} (from {ENV_PREFIX}CONFIG) does not exist")
        return path, {}
    try:
        values = TomlConfigSettingsSource(Settings, toml_file=path)()
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    unknown = sorted(set(values) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(f"unknown setting(s) in config file {path}: {', '.join(unknown)}")
    return path, values


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Defaults < the config file < `RAG_*` variables of `env` (os.environ when None), validated."""
    env = os.environ if env is None else env
    path, from_file = _config_file(env)
    from_env = _EnvSource(env)()
    origins = {name: str(path) for name in from_file} | {name: ENV_PREFIX + name.upper() for name in from_env}
    try:
        return Settings(**{**from_file, **from_env})
    except SettingsError as bad:
        raise SettingsError(bad.report, origins) from None
