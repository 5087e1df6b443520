"""A conversation as Markdown: each question, the answer with its [n] markers, and the numbered
sources (file, page or character span, the quoted passage). `rag ask --markdown` prints one answer;
the UI's "Export" downloads a saved conversation.

Works on the `AnswerResult.as_json()` form (what `rag ask --json` prints and what saved
conversations store), so an answer exported today and one reopened from storage read the same.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rag.answer.results import AnswerResult

REFUSAL_NOTE = "_No passage of the documents answers this question._"


def as_record(result: AnswerResult | dict) -> dict[str, Any]:
    return result.as_json() if isinstance(result, AnswerResult) else result


def sources_shown(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The passages an answer rests on: the cited ones; every passage when a backend marked none;
    none for a refusal (the passages it saw do not answer the question)."""
    citations = record.get("citations") or []
    cited = [c for c in citations if c.get("cited")]
    return cited or ([] if record.get("refused") else citations)


def location(citation: dict[str, Any]) -> str:
    # `page` exists only for paged documents (PDF); other files are located by character offsets.
    page = citation.get("page")
    return f"page {page}" if page else f"characters {citation['start']}–{citation['end']}"


def plain(text: str) -> str:
    """Document and user text as literal Markdown: no raw HTML runs in a viewer, no line turns into a
    heading or list by accident. The [n] markers stay readable."""
    return text.replace("<", "\\<")


def quoted(text: str) -> str:
    return "\n".join("> " + plain(line) if line.strip() else ">" for line in text.strip().splitlines())


def turn_markdown(record: dict[str, Any], heading: str = "##") -> str:
    question = " ".join(str(record.get("question", "")).split())
    parts = [f"{heading} {plain(question)}", "", plain(str(record.get("answer", "")).strip())]
    if record.get("refused"):
        parts += ["", REFUSAL_NOTE]
    shown = sources_shown(record)
    if shown:
        parts += ["", "**Sources**", ""]
    for c in shown:
        title = f" — {plain(c['title'])}" if c.get("title") else ""
        parts += [f"[{c['n']}] `{c['source']}`{title}, {location(c)}", "", quoted(c.get("text", "")), ""]
    return "\n".join(parts).rstrip() + "\n"


def to_markdown(turns: Iterable[AnswerResult | dict], title: str | None = None) -> str:
    """The whole conversation; each turn is an AnswerResult or its as_json() dict (question included)."""
    blocks = [f"# {plain(' '.join(title.split()))}\n"] if title else []
    blocks += [turn_markdown(as_record(turn)) for turn in turns]
    return "\n".join(blocks)
