"""One question as the library receives it: its text, how many passages, which retrieval mode.

Validated once, where the question enters (CLI, UI, Answerer.stream with a plain string); a
rewritten follow-up is derived with `with_text` and not checked again against the user's limits.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from rag.config import RETRIEVAL_MODES, Settings
from rag.errors import InputError


@dataclass(frozen=True)
class Query:
    text: str
    k: int      # passages retrieved; for an answer, also the passages shown and cited
    mode: str   # dense, bm25 or hybrid

    @classmethod
    def of(cls, text: str, settings: Settings, k: int | None = None, mode: str | None = None) -> Query:
        """A checked query; k and mode default to the settings (top_k, retrieval_mode)."""
        k = k or settings.top_k
        mode = mode or settings.retrieval_mode
        if k < 1:
            raise InputError(f"k must be at least 1 (got {k})")
        if mode not in RETRIEVAL_MODES:
            raise InputError(f"unknown retrieval mode {mode!r}; use one of {', '.join(RETRIEVAL_MODES)}")
        return cls(check_question(text, settings), k, mode)

    def with_text(self, text: str) -> Query:
        """The same request for another text (the standalone form of a follow-up)."""
        return replace(self, text=text)


def passages_shown(settings: Settings) -> int:
    """How many passages an answer uses and shows when the caller does not say: answer_passages,
    never more than top_k (the prompt budget, see config)."""
    return max(1, min(settings.answer_passages, settings.top_k))


def check_question(question: str, settings: Settings) -> str:
    text = (question or "").strip()
    if not text:
        raise InputError("the question is empty: type a question about your documents")
    if len(text) > settings.max_question_chars:
        raise InputError(f"the question is {len(text):,} characters long; the limit is "
                         f"{settings.max_question_chars:,} (setting max_question_chars)")
    if not any(ch.isalnum() for ch in text):
        raise InputError("the question has no words in it: type a question about your documents")
    return "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
