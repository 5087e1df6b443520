"""Markdown export (rag/export.py) and `rag ask --markdown`: questions, answers with their [n]
markers, numbered sources with file, page or span, and the quoted passage."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.answer.results import AnswerResult, AnswerSentence, Citation
from rag.export import to_markdown

QUESTION = "Who is the commander of US Africa Command?"


def result(answer: str, citations: list[Citation], refused: bool = False, question: str = "Q?") -> AnswerResult:
    return AnswerResult(question=question, standalone_question=question, answer=answer, refused=refused,
                        citations=citations, sentences=[AnswerSentence(answer, [1], True)], timings={},
                        llm="extractive")


def citation(n: int, cited: bool, text: str = "Passage text.", source: str = "a.txt") -> Citation:
    return Citation(n=n, id=f"id{n}", source=source, title=f"Title {n}", start=10 * n, end=10 * n + 9,
                    text=text, score=0.5, cited=cited, supported=True if cited else None)


def test_cited_sources_are_numbered_with_span_and_quote():
    md = to_markdown([result("It was built in 1887 [2].", [citation(1, False), citation(2, True, "Built in 1887.\nBy Ottilie.")])],
                     title="Lighthouse")
    assert md.startswith("# Lighthouse\n")
    assert "## Q?\n\nIt was built in 1887 [2].\n" in md
    assert "[2] `a.txt` — Title 2, characters 20–29\n\n> Built in 1887.\n> By Ottilie.\n" in md
    assert "[1]" not in md  # an uncited passage is not a source of the answer


def test_a_page_is_shown_instead_of_the_span_when_the_citation_has_one():
    record = result("Yes [1].", [citation(1, True)]).as_json()
    record["citations"][0]["page"] = 3
    assert "[1] `a.txt` — Title 1, page 3\n" in to_markdown([record])


def test_a_refusal_lists_no_sources():
    from rag.answer.prompts import REFUSAL

    md = to_markdown([result(REFUSAL, [citation(1, False)], refused=True)])
    assert REFUSAL in md and "No passage of the documents answers" in md and "Sources" not in md


def test_markup_from_documents_and_questions_stays_text():
    md = to_markdown([result("See [1].", [citation(1, True, "<script>alert(1)</script>")], question="<img src=x>?")])
    assert not re.search(r"(?<!\\)<", md)  # every "<" is escaped: a Markdown viewer shows it, runs nothing
    assert "\\<script>alert(1)\\</script>" in md and "## \\<img src=x>?" in md


def test_several_turns_keep_their_order(default_index):
    from rag.answer import Answerer

    answerer = Answerer(default_index.replace(llm="extractive"))
    first = answerer.ask(QUESTION)
    second = answerer.ask("Where did that general meet General al-Haddad?", history=[(QUESTION, first.answer)])
    md = to_markdown([first, second])
    assert md.index(QUESTION) < md.index("Where did that general meet") and md.count("**Sources**") == 2
    cited = next(c for c in first.citations if c.cited)
    assert f"[{cited.n}] `{cited.source}`" in md and f"characters {cited.start}–{cited.end}" in md


def test_cli_ask_markdown(default_index, capsys, monkeypatch):
    from rag.cli import main

    monkeypatch.setenv("RAG_CORPUS_DIR", str(default_index.corpus_dir))
    monkeypatch.setenv("RAG_INDEX_DIR", str(default_index.index_dir))
    monkeypatch.chdir(Path(default_index.index_dir))  # no rag.toml there
    assert main(["ask", QUESTION, "--markdown", "--llm", "extractive"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"## {QUESTION}\n\n") and "Langley" in out and "**Sources**" in out
    assert "\n[1] `" in out and "\n> " in out
    with pytest.raises(SystemExit) as bad:
        main(["ask", QUESTION, "--markdown", "--json"])
    assert bad.value.code == 2
