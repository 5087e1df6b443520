"""The local model through llama.cpp (llama-index's LlamaCPP): loading a GGUF with its own chat
template and stop strings, and per-call generation settings on one loaded model."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from rag.errors import BackendError, short_error


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


def load_llamacpp(path: Path, context_window: int, threads: int):
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
        raise BackendError(f"llama.cpp cannot load {path} ({short_error(exc)}): the file is damaged or not a "
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
