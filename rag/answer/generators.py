"""The answer generators behind `settings.llm`: one interface, one factory.

A generator turns a question and the numbered passages into answer text. Each backend implements
the same four members; the pipeline (rag.answer.pipeline) never asks which backend it holds.
Adding a backend is one class and one line in GENERATORS (and its name in config.LLM_BACKENDS).
"""
from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Protocol

from rag.config import Settings
from rag.embedding import Embedder
from rag.errors import BackendError

# settings.llm -> "module:class", imported only when chosen: a backend's client library matters
# only to whoever selects it.
GENERATORS = {
    "local": "rag.answer.llm:LocalLLM",
    "openai": "rag.answer.llm:OpenAILLM",
    "ollama": "rag.answer.llm:OllamaLLM",
    "extractive": "rag.answer.extractive:ExtractiveGenerator",
}


class Generator(Protocol):
    name: str  # what answered, as the JSON's "llm" field shows it ("local:qwen….gguf", "extractive")

    def warm_up(self) -> None:
        """Load the model now (or raise BackendError), not on the first question."""

    def rewrite(self, question: str, history: list[tuple[str, str]]) -> str:
        """The follow-up `question` made standalone using the conversation so far."""

    def stream(self, question: str, passages: list, embedder: Embedder | None = None) -> Iterator[str]:
        """Answer text deltas citing the passages (rag.answer.results.Citation) as [n]."""


def make_generator(settings: Settings) -> Generator:
    """The generator `settings.llm` names. Cheap: models load in warm_up."""
    target = GENERATORS.get(settings.llm)
    if target is None:
        raise BackendError(f"settings.llm={settings.llm!r} names no backend; use one of {', '.join(GENERATORS)}")
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)(settings)
