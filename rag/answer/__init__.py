"""Grounded answering: the pipeline (pipeline.py) over one generator interface (generators.py) with
LLM (llm.py, packaged model in model.py) and extractive (extractive.py) backends; prompts, sentence
scoring, passage trimming, follow-up rewriting and the citation check each in their own module.

The public surface is `Answerer` and what its `stream` yields, importable from here. They load on
first use, so importing a light submodule (rag.answer.citations) does not pull in the pipeline.
"""
import importlib

_EXPORTS = {"Answerer": "rag.answer.pipeline", "AnswerResult": "rag.answer.results",
            "AnswerSentence": "rag.answer.results", "Citation": "rag.answer.results",
            "DoneEvent": "rag.answer.results", "SourcesEvent": "rag.answer.results",
            "TokenEvent": "rag.answer.results"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rag.answer' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
