"""Grounded answering: the pipeline (pipeline.py) over one generator interface (generators.py) with
LLM (llm.py, packaged model in model.py) and extractive (extractive.py) backends; prompts, sentence
scoring, passage trimming, follow-up rewriting and the citation check each in their own module.

The public surface is re-exported here: `Answerer` and what its `stream` yields."""
from rag.answer.pipeline import Answerer
from rag.answer.results import AnswerResult, AnswerSentence, Citation, DoneEvent, SourcesEvent, TokenEvent

__all__ = ["Answerer", "AnswerResult", "AnswerSentence", "Citation", "DoneEvent", "SourcesEvent", "TokenEvent"]
