"""The configurations of an evaluation run (`--configs`): a retrieval mode with optional setting
overrides after colons, e.g. `hybrid:fusion_alpha=0.7:candidates=50` or `hybrid:llm=local:answer_passages=2`;
parsed and checked here, run by eval/run.py."""
from __future__ import annotations

from dataclasses import dataclass, field

from rag.config import RETRIEVAL_MODES, Settings

from eval.dataset import EvalInputError

# Overrides a configuration may carry; chunking ones change the index, the rest only the query.
INDEX_FIELDS = ("chunk_size", "chunk_overlap")
QUERY_FIELDS = ("fusion", "fusion_alpha", "rrf_k", "dense_weight", "bm25_weight", "candidates", "top_k", "duplicate_cosine", "bm25_feedback", "answer_passages",
                "refusal_min_score")
# The answering backend and its prompt/generation settings: one backend per configuration.
ANSWER_FIELDS = ("llm", "model_path", "max_new_tokens", "temperature", "context_window", "passage_chars",
                 "openai_model", "ollama_model")


@dataclass
class EvalConfig:
    name: str
    mode: str
    overrides: dict = field(default_factory=dict)

    def index_overrides(self) -> dict:
        return {k: v for k, v in self.overrides.items() if k in INDEX_FIELDS}

    def run_overrides(self) -> dict:
        return {k: v for k, v in self.overrides.items() if k in QUERY_FIELDS + ANSWER_FIELDS}


def _coerce_override(key: str, raw: str) -> object:
    """The override read and range-checked exactly as the setting would be (rag.config)."""
    from rag.errors import ConfigError

    try:
        return getattr(Settings().replace(**{key: raw}), key)
    except ConfigError as exc:
        raise EvalInputError(f"configuration override {key}={raw!r}: {exc}") from None


def parse_configs(text: str) -> list[EvalConfig]:
    allowed = INDEX_FIELDS + QUERY_FIELDS + ANSWER_FIELDS
    configs: list[EvalConfig] = []
    for name in [c.strip() for c in text.split(",") if c.strip()]:
        mode, *parts = name.split(":")
        if mode not in RETRIEVAL_MODES:
            raise EvalInputError(f"unknown configuration {name!r}: it must start with one of "
                                 f"{', '.join(RETRIEVAL_MODES)}")
        overrides = {}
        for part in parts:
            key, sep, raw = part.partition("=")
            if not sep or key not in allowed:
                raise EvalInputError(f"configuration {name!r}: override {part!r} must be KEY=VALUE with KEY "
                                     f"one of {', '.join(allowed)}")
            overrides[key] = _coerce_override(key, raw)
        configs.append(EvalConfig(name, mode, overrides))
    if not configs:
        raise EvalInputError("--configs names no configuration")
    if len({c.name for c in configs}) != len(configs):
        raise EvalInputError("--configs names a configuration twice")
    return configs


def reject_answer_overrides(configs: list[EvalConfig]) -> None:
    for config in configs:
        answering = sorted(set(config.overrides) & set(ANSWER_FIELDS))
        if answering:
            raise EvalInputError(f"configuration {config.name!r} sets {', '.join(answering)}, but --retrieval-only "
                                 "generates no answers")

