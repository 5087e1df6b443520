"""`rag ask` and `rag chat`: the terminal face of rag.answer.Answerer."""
from __future__ import annotations

import json
import sys
from typing import TextIO

from rag.answer import AnswerResult, Answerer, DoneEvent, SourcesEvent, TokenEvent
from rag.config import Settings
from rag.errors import InputError
from rag.query import Query
from rag.terminal import terminal_safe

EXIT_WORDS = {"exit", "quit", ":q"}


def ask(settings: Settings, question: str, as_json: bool = False, out: TextIO | None = None,
        k: int | None = None, as_markdown: bool = False) -> int:
    """k: the passages to answer from and show (default: answer_passages, at most top_k)."""
    out = out or sys.stdout
    answerer = Answerer(settings)
    query = answerer.query(question, k)
    if as_json:
        result = answerer.ask(query)
        print(json.dumps(result.as_json(), indent=2, ensure_ascii=False), file=out)
        return 0
    if as_markdown:
        from rag.export import to_markdown

        print(to_markdown([answerer.ask(query)]), end="", file=out)
        return 0
    _stream_to(answerer, query, [], out)
    return 0


def _stream_to(answerer: Answerer, query: Query, history: list[tuple[str, str]], out: TextIO) -> AnswerResult:
    """Print tokens as they arrive, then the answer's verdicts and the numbered sources."""
    result = None
    for event in answerer.stream(query, history):
        if isinstance(event, SourcesEvent):
            if event.standalone_question != query.text:
                print(terminal_safe(f"(searching for: {event.standalone_question})"), file=out, flush=True)
        elif isinstance(event, TokenEvent):
            print(terminal_safe(event.text), end="", file=out, flush=True)
        elif isinstance(event, DoneEvent):
            result = event.result
    print(file=out)
    print(terminal_safe(format_footer(result)), file=out, flush=True)
    return result


def format_footer(result: AnswerResult) -> str:
    lines = []
    if result.refused:
        lines.append("(refused: the retrieved passages do not answer this question)")
    unsupported = [s for s in result.sentences if s.supported is False]
    for s in unsupported:
        lines.append(f"warning: not supported by its sources: {s.text}")
    shown = [c for c in result.citations if c.cited] or ([] if result.refused else result.citations)
    if shown:
        lines.append("")
        lines.append("Sources:")
    for c in shown:
        mark = "" if c.supported is not False else "  [unsupported]"
        where = f"{c.location()}, " if c.page is not None else ""
        lines.append(f"[{c.n}] {c.source} ({c.heading or c.title}) {where}chars {c.start}-{c.end}{mark}")
        lines.append("    " + " ".join(c.text.split())[:300])
    t = result.timings
    lines.append(f"({result.llm}; retrieval {t.get('retrieve_s', 0):.2f} s, first token "
                 f"{t.get('first_token_s', 0):.2f} s, total {t.get('total_s', 0):.2f} s)")
    return "\n".join(lines)


def chat(settings: Settings, lines: TextIO | None = None, out: TextIO | None = None) -> int:
    """Read questions until EOF or "exit"; each answer goes into this conversation's history so a
    follow-up ("Where did he meet them?") is rewritten with it."""
    lines = lines or sys.stdin
    out = out or sys.stdout
    answerer = Answerer(settings)
    history: list[tuple[str, str]] = []
    interactive = lines.isatty() if hasattr(lines, "isatty") else False
    print("Ask about your documents; follow-up questions work. Ctrl-D or `exit` quits.", file=out)
    while True:
        if interactive:
            print("> ", end="", file=out, flush=True)
        line = lines.readline()
        if not line or line.strip().lower() in EXIT_WORDS:
            break
        question = line.strip()
        if not question:
            continue
        try:
            result = _stream_to(answerer, answerer.query(question), history, out)
        except InputError as exc:
            print(f"error: {exc}", file=out)
            continue
        history.append((question, result.answer))
        print(file=out)
    return 0
