"""The LLM backends behind one setting (`settings.llm`): local GGUF, OpenAI-compatible, Ollama.

Each backend is a llama-index LLM class, imported lazily so a missing optional package only
matters to whoever selects that backend, and it then gets one BackendError naming what to install
or set. The local model is loaded once per process (keyed by file and context settings) and shared
by every Answerer; llama.cpp contexts are not thread-safe, so calls into it hold a lock.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import ChatMessage

from rag.config import Settings
from rag.errors import BackendError

log = logging.getLogger(__name__)

_CACHE: dict[tuple, Any] = {}
_CACHE_LOCK = threading.Lock()
_LOCAL_LOCKS: dict[str, threading.Lock] = {}


@dataclass
class Backend:
    """One configured LLM: `stream` yields text deltas; errors come out as BackendError."""

    name: str
    llm: Any
    lock: threading.Lock | None
    describe: str  # what to check when the call fails ("the server at http://…")

    def stream(self, messages: list[ChatMessage], max_tokens: int, temperature: float) -> Iterator[str]:
        if self.lock is None:
            yield from self._stream(messages, max_tokens, temperature)
            return
        with self.lock:
            yield from self._stream(messages, max_tokens, temperature)

    def _stream(self, messages, max_tokens, temperature) -> Iterator[str]:
        try:
            for chunk in self.llm.stream_chat(messages, **self._kwargs(max_tokens, temperature)):
                if chunk.delta:
                    yield chunk.delta
        except BackendError:
            raise
        except Exception as exc:  # every client library has its own exception tree
            raise BackendError(f"the {self.name} LLM failed ({type(exc).__name__}: {_short(exc)}); "
                               f"check {self.describe}, or use --llm extractive") from None

    def complete(self, messages: list[ChatMessage], max_tokens: int, temperature: float = 0.0) -> str:
        return "".join(self.stream(messages, max_tokens, temperature))

    def _kwargs(self, max_tokens: int, temperature: float) -> dict:
        if self.name == "local":
            return {"max_tokens": max_tokens, "temperature": temperature}
        if self.name == "ollama":
            return {}  # llama-index's Ollama ignores per-call options: set at construction instead
        return {"max_tokens": max_tokens, "temperature": temperature}

    def count_tokens(self, text: str) -> int | None:
        """Prompt tokens as the local model counts them (None for remote backends)."""
        if self.name != "local":
            return None
        return len(self.llm._model.tokenize(text.encode("utf-8"), add_bos=False, special=True))


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:200] or "no message"


def get_backend(settings: Settings) -> Backend:
    """The backend `settings.llm` names, created once per process per configuration."""
    if settings.llm == "local":
        return _local(settings)
    if settings.llm == "openai":
        return _remote(settings, "openai")
    if settings.llm == "ollama":
        return _remote(settings, "ollama")
    raise BackendError(f"settings.llm={settings.llm!r} has no LLM backend (extractive needs none)")


# --- local GGUF through llama.cpp ------------------------------------------------------------------

def _local(settings: Settings) -> Backend:
    from rag.models import resolve_model_path

    path = resolve_model_path(settings)
    threads = settings.llm_threads or os.cpu_count() or 2
    key = ("local", str(path.resolve()), settings.context_window, threads)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = _load_llamacpp(path, settings.context_window, threads)
        lock = _LOCAL_LOCKS.setdefault(str(path.resolve()), threading.Lock())
    return Backend("local", _CACHE[key], lock, f"the model file {path} (setting model_path)")


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

def _remote(settings: Settings, kind: str) -> Backend:
    if kind == "openai":
        key = ("openai", settings.openai_base_url, settings.openai_model, settings.openai_api_key,
               settings.request_timeout)
        describe = (f"that an OpenAI-compatible server answers at {settings.openai_base_url} with model "
                    f"{settings.openai_model!r} (settings openai_base_url, openai_model, openai_api_key)")
    else:
        key = ("ollama", settings.ollama_host, settings.ollama_model, settings.request_timeout,
               settings.max_new_tokens, settings.temperature)
        describe = (f"that Ollama runs at {settings.ollama_host} and has pulled {settings.ollama_model!r} "
                    "(settings ollama_host, ollama_model)")
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = _openai_like(settings) if kind == "openai" else _ollama(settings)
    return Backend(kind, _CACHE[key], None, describe)


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
