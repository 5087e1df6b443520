"""The LLM answer generators behind `settings.llm`: local GGUF, OpenAI-compatible, Ollama.

Each wraps a llama-index LLM class, imported lazily so a missing optional package only matters to
whoever selects that backend, and it then gets one BackendError naming what to install or set. The
client is built on first use (`warm_up`) and cached per process per configuration, so every Answerer
shares it; llama.cpp contexts are not thread-safe, so calls into the local model hold a lock.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import ChatMessage

from rag.answer.followup import changes_what_is_asked, clean_rewrite, heuristic_rewrite, invented_names
from rag.answer.prompts import answer_messages, condense_messages
from rag.config import Settings
from rag.errors import BackendError, short_error

REWRITE_MAX_TOKENS = 60
_CACHE: dict[tuple, tuple[Any, threading.Lock | None]] = {}
_CACHE_LOCK = threading.Lock()
_LOCAL_LOCKS: dict[str, threading.Lock] = {}


class LLMGenerator:
    """A llama-index LLM prompted with the numbered passages. Subclasses say how to build the client
    (`load`), what identifies one configuration (`cache_key`) and what to check when it fails."""

    kind = ""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._client: tuple[Any, threading.Lock | None] | None = None

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.model_name()}"

    def model_name(self) -> str:
        raise NotImplementedError

    def cache_key(self) -> tuple:
        raise NotImplementedError

    def load(self) -> tuple[Any, threading.Lock | None]:
        """The llama-index LLM and the lock its calls must hold (None: thread-safe)."""
        raise NotImplementedError

    def describe(self) -> str:
        """What to check when a call fails ("that Ollama runs at …")."""
        raise NotImplementedError

    @property
    def llm(self) -> Any:
        self.warm_up()
        return self._client[0]

    def warm_up(self) -> None:
        """Build (or fail to build) the client now, before any retrieval work."""
        if self._client is None:
            key = (self.kind, *self.cache_key())
            with _CACHE_LOCK:
                if key not in _CACHE:
                    _CACHE[key] = self.load()
            self._client = _CACHE[key]

    def rewrite(self, question: str, history: list[tuple[str, str]]) -> str:
        raw = self.complete(condense_messages(question, history[-3:]), REWRITE_MAX_TOKENS)
        rewritten = clean_rewrite(raw)
        if (rewritten and not invented_names(rewritten, question, history[-3:])
                and not changes_what_is_asked(rewritten, question)):
            return rewritten
        return heuristic_rewrite(question, history)

    def stream(self, question: str, passages: list, embedder=None) -> Iterator[str]:
        """Answer text deltas for the question over the numbered passages (Citation objects)."""
        messages = answer_messages(question, [(c.n, c.title, c.text) for c in passages])
        yield from self.stream_messages(messages, self.settings.max_new_tokens, self.settings.temperature)

    def stream_messages(self, messages: list[ChatMessage], max_tokens: int, temperature: float) -> Iterator[str]:
        self.warm_up()
        llm, lock = self._client
        if lock is None:
            yield from self._stream(llm, messages, max_tokens, temperature)
            return
        with lock:
            yield from self._stream(llm, messages, max_tokens, temperature)

    def _stream(self, llm, messages, max_tokens, temperature) -> Iterator[str]:
        try:
            for chunk in llm.stream_chat(messages, **self.call_kwargs(max_tokens, temperature)):
                if chunk.delta:
                    yield chunk.delta
        except BackendError:
            raise
        except Exception as exc:  # every client library has its own exception tree
            raise BackendError(f"the {self.kind} LLM failed ({type(exc).__name__}: {short_error(exc)}); "
                               f"check {self.describe()}, or use --llm extractive") from None

    def complete(self, messages: list[ChatMessage], max_tokens: int, temperature: float = 0.0) -> str:
        return "".join(self.stream_messages(messages, max_tokens, temperature))

    def call_kwargs(self, max_tokens: int, temperature: float) -> dict:
        return {"max_tokens": max_tokens, "temperature": temperature}

    def count_tokens(self, text: str) -> int | None:
        """Prompt tokens as the model counts them (None where the client cannot say)."""
        return None


# --- local GGUF through llama.cpp ------------------------------------------------------------------

class LocalLLM(LLMGenerator):
    """The GGUF at model_path (default: the packaged model) through llama.cpp."""

    kind = "local"

    def model_name(self) -> str:
        from rag.answer.model import MODEL_FILE

        path = self.settings.model_path
        return path.rsplit("/", 1)[-1] if path else MODEL_FILE

    def _threads(self) -> int:
        return self.settings.llm_threads or os.cpu_count() or 2

    @cached_property
    def path(self) -> Path:
        from rag.answer.model import resolve_model_path

        return resolve_model_path(self.settings)  # BackendError: missing, truncated or foreign file

    def cache_key(self) -> tuple:
        return str(self.path.resolve()), self.settings.context_window, self._threads()

    def load(self):
        from rag.answer.llamacpp import load_llamacpp

        llm = load_llamacpp(self.path, self.settings.context_window, self._threads())
        return llm, _LOCAL_LOCKS.setdefault(str(self.path.resolve()), threading.Lock())

    def describe(self) -> str:
        return f"the model file {self.path} (setting model_path)"

    def count_tokens(self, text: str) -> int | None:
        return len(self.llm._model.tokenize(text.encode("utf-8"), add_bos=False, special=True))


# --- remote servers --------------------------------------------------------------------------------

class OpenAILLM(LLMGenerator):
    """Any server speaking the OpenAI chat API (vLLM, llama.cpp server, LM Studio, OpenAI)."""

    kind = "openai"

    def model_name(self) -> str:
        return self.settings.openai_model

    def cache_key(self) -> tuple:
        s = self.settings
        return s.openai_base_url, s.openai_model, s.openai_api_key, s.request_timeout

    def load(self):
        try:
            from llama_index.llms.openai_like import OpenAILike
        except ImportError:
            raise BackendError("the openai backend needs llama-index-llms-openai-like: run `make install`") from None
        s = self.settings
        # No retries: an unreachable server should fail in seconds with one clear message.
        return OpenAILike(model=s.openai_model, api_base=s.openai_base_url, api_key=s.openai_api_key or "not-needed",
                          is_chat_model=True, context_window=s.context_window, timeout=s.request_timeout,
                          max_retries=0, temperature=s.temperature), None

    def describe(self) -> str:
        s = self.settings
        return (f"that an OpenAI-compatible server answers at {s.openai_base_url} with model "
                f"{s.openai_model!r} (settings openai_base_url, openai_model, openai_api_key)")


class OllamaLLM(LLMGenerator):
    """A model served by Ollama."""

    kind = "ollama"

    def model_name(self) -> str:
        return self.settings.ollama_model

    def cache_key(self) -> tuple:
        s = self.settings
        return s.ollama_host, s.ollama_model, s.request_timeout, s.max_new_tokens, s.temperature

    def load(self):
        try:
            from llama_index.llms.ollama import Ollama
        except ImportError:
            raise BackendError("the ollama backend needs llama-index-llms-ollama: run `make install`") from None
        s = self.settings
        return Ollama(model=s.ollama_model, base_url=s.ollama_host, request_timeout=s.request_timeout,
                      temperature=s.temperature, context_window=s.context_window,
                      additional_kwargs={"num_predict": s.max_new_tokens}), None

    def describe(self) -> str:
        s = self.settings
        return f"that Ollama runs at {s.ollama_host} and has pulled {s.ollama_model!r} (settings ollama_host, ollama_model)"

    def call_kwargs(self, max_tokens: int, temperature: float) -> dict:
        return {}  # llama-index's Ollama ignores per-call options: they are set at construction
