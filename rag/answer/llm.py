"""The LLM answer generators behind `settings.llm`: local GGUF, OpenAI-compatible, Ollama.

Each wraps a llama-index LLM class, imported lazily so a missing optional package only matters to
whoever selects that backend, and it then gets one BackendError naming what to install or set. The
client is built on first use (`warm_up`) and cached per process per configuration, so every Answerer
shares it; llama.cpp contexts are not thread-safe, so calls into the local model hold a lock.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import ChatMessage

from rag.answer.followup import clean_rewrite, heuristic_rewrite
from rag.answer.prompts import answer_messages, condense_messages
from rag.config import Settings
from rag.errors import BackendError

log = logging.getLogger(__name__)

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
        return clean_rewrite(raw) or heuristic_rewrite(question, history)

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
            raise BackendError(f"the {self.kind} LLM failed ({type(exc).__name__}: {_short(exc)}); "
                               f"check {self.describe()}, or use --llm extractive") from None

    def complete(self, messages: list[ChatMessage], max_tokens: int, temperature: float = 0.0) -> str:
        return "".join(self.stream_messages(messages, max_tokens, temperature))

    def call_kwargs(self, max_tokens: int, temperature: float) -> dict:
        return {"max_tokens": max_tokens, "temperature": temperature}

    def count_tokens(self, text: str) -> int | None:
        """Prompt tokens as the model counts them (None where the client cannot say)."""
        return None


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:200] or "no message"


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
        llm = _load_llamacpp(self.path, self.settings.context_window, self._threads())
        return llm, _LOCAL_LOCKS.setdefault(str(self.path.resolve()), threading.Lock())

    def describe(self) -> str:
        return f"the model file {self.path} (setting model_path)"

    def count_tokens(self, text: str) -> int | None:
        return len(self.llm._model.tokenize(text.encode("utf-8"), add_bos=False, special=True))


def _llamacpp_class():
    try:
        from llama_index.llms.llama_cpp import LlamaCPP
    except ImportError:
        raise BackendError("the local LLM needs llama-cpp-python: run `make install-local` (it builds "
                           "llama-cpp-python with CMAKE_ARGS=-DGGML_NATIVE=OFF and installs the [local] "
                           "extra), or choose another backend with RAG_LLM=openai|ollama|extractive") from None

    class PerCallLlamaCPP(LlamaCPP):
        """LlamaCPP ignores per-call kwargs and mutates shared generate_kwargs; this passes
        max_tokens/temperature per call so one loaded model serves every setting."""

        def complete(self, prompt: str, formatted: bool = False, **kwargs: Any):
            from llama_index.core.base.llms.types import CompletionResponse

            if not formatted:
                prompt = self.completion_to_prompt(prompt)
            out = self._model(prompt=prompt, **{**self.generate_kwargs, **kwargs, "stream": False})
            return CompletionResponse(text=out["choices"][0]["text"], raw=out)

        def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any):
            from llama_index.core.base.llms.types import CompletionResponse

            if not formatted:
                prompt = self.completion_to_prompt(prompt)
            parts = self._model(prompt=prompt, **{**self.generate_kwargs, **kwargs, "stream": True})

            def gen():
                text = ""
                for part in parts:
                    delta = part["choices"][0]["text"]
                    text += delta
                    yield CompletionResponse(delta=delta, text=text, raw=part)
            return gen()

    return PerCallLlamaCPP


def _load_llamacpp(path: Path, context_window: int, threads: int):
    cls = _llamacpp_class()
    try:
        llm = cls(model_path=str(path), context_window=context_window, max_new_tokens=256, temperature=0.0,
                  verbose=False,
                  # use_mmap=False: llama.cpp repacks the Q4_K weights for AVX2 into its own buffers;
                  # with mmap the original file pages stay resident too (1.86 GB RSS vs 1.27 GB
                  # measured), for about 2 s more load time once per process.
                  model_kwargs={"n_threads": threads, "n_threads_batch": threads, "use_mmap": False},
                  generate_kwargs={"stop": []})
    except Exception as exc:  # llama.cpp reports a truncated or foreign file as ValueError
        raise BackendError(f"llama.cpp cannot load {path} ({_short(exc)}): the file is damaged or not a "
                           "model llama.cpp supports; run `rag model install` or fix model_path") from None
    llm.messages_to_prompt, stops = chat_formatter(llm._model)
    llm.generate_kwargs["stop"] = stops
    return llm


def chat_formatter(model) -> tuple:
    """Chat messages -> prompt with the GGUF's own chat template (so any model_path works), plus its
    stop strings. Falls back to ChatML, the format of the packaged Qwen2.5 model."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    meta = model.metadata
    template = meta.get("tokenizer.chat_template")
    if not template:
        template = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
                    "{% endfor %}<|im_start|>assistant\n")

    def token_text(key: str) -> str:
        tid = meta.get(key)
        return model._model.token_get_text(int(tid)) if tid is not None else ""

    formatter = Jinja2ChatFormatter(template=template, eos_token=token_text("tokenizer.ggml.eos_token_id"),
                                    bos_token=token_text("tokenizer.ggml.bos_token_id"))

    def to_prompt(messages) -> str:
        rows = [{"role": m.role.value, "content": m.content or ""} for m in messages]
        return formatter(messages=rows).prompt

    stops = ["<|im_end|>", "<|endoftext|>"] if "<|im_start|>" in template else []
    return to_prompt, stops


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
        return _openai_like(self.settings), None

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
        return _ollama(self.settings), None

    def describe(self) -> str:
        s = self.settings
        return f"that Ollama runs at {s.ollama_host} and has pulled {s.ollama_model!r} (settings ollama_host, ollama_model)"

    def call_kwargs(self, max_tokens: int, temperature: float) -> dict:
        return {}  # llama-index's Ollama ignores per-call options: they are set at construction


def _openai_like(settings: Settings):
    try:
        from llama_index.llms.openai_like import OpenAILike
    except ImportError:
        raise BackendError("the openai backend needs llama-index-llms-openai-like: run `make install`") from None
    # No retries: an unreachable server should fail in seconds with one clear message.
    return OpenAILike(model=settings.openai_model, api_base=settings.openai_base_url,
                      api_key=settings.openai_api_key or "not-needed", is_chat_model=True,
                      context_window=settings.context_window, timeout=settings.request_timeout,
                      max_retries=0, temperature=settings.temperature)


def _ollama(settings: Settings):
    try:
        from llama_index.llms.ollama import Ollama
    except ImportError:
        raise BackendError("the ollama backend needs llama-index-llms-ollama: run `make install`") from None
    return Ollama(model=settings.ollama_model, base_url=settings.ollama_host,
                  request_timeout=settings.request_timeout, temperature=settings.temperature,
                  context_window=settings.context_window,
                  additional_kwargs={"num_predict": settings.max_new_tokens})
