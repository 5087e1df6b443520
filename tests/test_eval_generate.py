"""`python -m eval generate`: the checks that decide which generated questions are kept, and the file it
writes. The LLM is replaced by a scripted stand-in that answers from the passage in its prompt, the way
an obedient model would, or breaks the reply the ways small models do; the retriever, index and corpus
are real. One slow test runs the real local model on a tiny corpus."""
from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from eval import generate as gen
from eval import genquestion
from eval.dataset import load_questions
from eval.run import main as evaluate

REPO = Path(__file__).resolve().parents[1]
RULE = "---------------------"


def passages_of(prompt: str) -> list[str]:
    context = prompt.split(RULE)[1].strip()
    parts = re.split(r"^Passage \d+:\n", context, flags=re.MULTILINE)
    return [p.strip() for p in parts if p.strip()] if context.startswith("Passage 1:") else [context]


def kind_of(prompt: str) -> str:
    if "EVIDENCE 2:" in prompt:
        return "multi-chunk"
    if "FOLLOW-UP:" in prompt:
        return "follow-up"
    return "unanswerable" if "does NOT answer" in prompt else "single-fact"


def sentence(passage: str) -> list[str]:
    """The words of the passage's first sentence of 12+ words (its longest otherwise)."""
    sentences = [s.split() for s in re.split(r"(?<=[.!?])\s+", passage)]
    return next((s for s in sentences if len(s) >= 12), max(sentences, key=len))


class ScriptedLLM:
    """Replies per call in turn: 'good', or one of the failures a small model produces."""

    def __init__(self, modes: list[str]):
        self.modes, self.prompts = modes, []

    def __call__(self, prompt: str) -> str:
        mode = self.modes[len(self.prompts)]
        self.prompts.append(prompt)
        kind, passages = kind_of(prompt), passages_of(prompt)
        words = [sentence(p) for p in passages]
        lead = lambda w: " ".join(w[:7])  # noqa: E731
        rest = lambda w: " ".join(w[7:])  # noqa: E731
        if mode == "garbage":
            return "Sure! Here is a great question about the text."
        if kind == "unanswerable":
            return "QUESTION: What is the best recipe for banana bread?" if mode == "offtopic" else \
                f"QUESTION: What was the exact annual budget behind this: {lead(words[0])}?"
        evidence = [" ".join(w) for w in words]
        if mode == "paraphrase":
            evidence = [e.replace(words[0][3], "reportedly " + words[0][3], 1) for e in evidence]
        answer = "Purple elephants dancing." if mode == "wrong-answer" else " and ".join(rest(w) for w in words)
        if kind == "follow-up":
            follow = "What is the capital city of Libya?" if mode == "standalone" else "And what did they say next?"
            return (f"**FIRST QUESTION:** What does the text say about {lead(words[0])}?\n**FOLLOW-UP:** {follow}\n"
                    f"**ANSWER:** {answer}\n**EVIDENCE:** \"{evidence[0]}\"")
        question = " and ".join(f"what follows '{lead(w)}'" for w in words).capitalize() + "?"
        if kind == "multi-chunk":
            return f"QUESTION: {question}\nANSWER: {answer}\nEVIDENCE 1: {evidence[0]}\nEVIDENCE 2: {evidence[1]}"
        return f"QUESTION: {question}\nANSWER: {answer}\nEVIDENCE: {evidence[0]}"


# --- the checks -------------------------------------------------------------------------------------
def test_reply_parsing_tolerates_markup():
    reply = "Here you go:\n**QUESTION:** Who?\n- ANSWER: \"Langley\"\nEvidence 1: first\nEVIDENCE 2 : second\nnoise"
    assert genquestion.parse_reply(reply) == {"question": "Who?", "answer": "Langley", "evidence1": "first",
                                      "evidence2": "second"}


def test_evidence_must_be_verbatim_and_is_stored_as_the_chunk_has_it():
    chunk = "The US Embassy said that the commander of the US Africa Command,\n General Michael Langley, met them."
    assert genquestion.verbatim("the commander of the us africa command, general michael langley.", chunk) == \
        "the commander of the US Africa Command,\n General Michael Langley"
    assert genquestion.verbatim("the commander of US Africa Command, General Michael Langley", chunk) is None
    assert genquestion.verbatim("Langley", chunk) is None  # too short to point at a passage


def test_answer_words_must_come_from_the_evidence_and_become_keywords():
    evidence = ["met with General Mohammed al-Haddad in 2024 during the conference in Gaborone, Botswana"]
    assert genquestion.answer_keywords("Gaborone, Botswana, in 2024.", "Where was the conference held?", evidence) == \
        [["2024"], ["gaborone"], ["botswana"]]
    assert genquestion.answer_keywords("In Tripoli.", "Where was the conference held?", evidence) is None
    assert genquestion.answer_keywords("The conference.", "Where was the conference held?", evidence) is None  # adds nothing


def test_plan_shares_and_every_kind_from_four():
    assert gen.plan(50) == {"single-fact": 24, "multi-chunk": 10, "follow-up": 8, "unanswerable": 8}
    assert gen.plan(8) == {"single-fact": 3, "multi-chunk": 2, "follow-up": 2, "unanswerable": 1}
    assert gen.plan(3) == {"single-fact": 2, "multi-chunk": 1, "follow-up": 0, "unanswerable": 0}
    assert all(sum(gen.plan(n).values()) == n for n in range(1, 60))


def test_evidence_the_retriever_misses_is_dropped(default_index):
    from rag.retrieve import Retriever

    chunks = gen.corpus_chunks(default_index)
    langley = next(c for c in chunks if "General Michael Langley" in c.text)
    other = next(c for c in chunks if "Langley" not in c.text and "Haftar" in c.text)
    words = sentence(other.text)
    reply = (f"QUESTION: Who is the commander of US Africa Command?\nANSWER: {' '.join(words[7:])}\n"
             f"EVIDENCE: {' '.join(words)}")
    checker = genquestion.Checker(Retriever(default_index), default_index.refusal_min_score, depth=1)
    assert genquestion.make_question("single-fact", [other], lambda _: reply, checker) == "evidence not in the retriever's top 1"
    assert langley.id != other.id


# --- the command ------------------------------------------------------------------------------------
MODES = (["garbage", "good", "paraphrase", "good", "wrong-answer", "good"]  # single-fact: 3 wanted
         + ["good", "good"]                                                # multi-chunk: 2
         + ["standalone", "good", "good"]                                  # follow-up: 2
         + ["offtopic", "good"])                                           # unanswerable: 1


def test_generate_keeps_checkable_questions_and_counts_the_rest(default_index, tmp_path, capsys):
    out = tmp_path / "generated.jsonl"
    llm = ScriptedLLM(MODES)
    code = gen.main(["--corpus", str(default_index.corpus_dir), "--index", str(default_index.index_dir),
                     "--out", str(out), "--n", "8", "--quiet"], complete=llm)
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert len(llm.prompts) == len(MODES)
    assert "kept 8 of 8 wanted: single-fact 3/3, multi-chunk 2/2, follow-up 2/2, unanswerable 1/1" in printed
    for reason in ("reply not in the asked form 1", "evidence not verbatim in the chunk 1",
                   "answer not in the evidence 1", "follow-up stands alone (no reference to its history) 1",
                   "unanswerable question is off-topic 1"):
        assert reason in printed
    assert "dropped 5:" in printed

    questions = load_questions(out)  # the file reads back as an ordinary question file
    assert Counter(q.kind for q in questions) == {"single-fact": 3, "multi-chunk": 2, "follow-up": 2, "unanswerable": 1}
    assert all(q.generated for q in questions) and [q.id for q in questions] == [f"g{i:03d}" for i in range(1, 9)]
    corpus_text = " ".join(p.read_text() for p in default_index.corpus_dir.iterdir())
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    for q, row in zip(questions, rows):
        assert row["generated"] is True and row["chunks"]
        if q.answerable:
            assert q.evidence and all(e in corpus_text for e in q.evidence)  # verbatim, as the file has it
            assert q.keywords and all(any(k in " ".join(q.evidence).lower() for k in g) for g in q.keywords)
        else:
            assert not q.evidence and not q.answer
    follow = [q for q in questions if q.kind == "follow-up"]
    assert all(len(q.history) == 1 for q in follow)
    multi = [q for q in questions if q.kind == "multi-chunk"]
    assert all(len(q.evidence) == 2 and len(r["chunks"]) == 2 for q, r in zip(questions, rows) if q in multi)

    # the evaluation says the set was generated
    report_dir = tmp_path / "report"
    assert evaluate(["--questions", str(out), "--corpus", str(default_index.corpus_dir), "--index",
                     str(default_index.index_dir), "--out", str(report_dir), "--retrieval-only", "--configs",
                     "hybrid", "--quiet"]) == 0
    assert json.loads((report_dir / "report.json").read_text())["generated_questions"] == 8
    assert "8 generated by an LLM" in (report_dir / "report.md").read_text()


def test_generate_bad_input(tmp_path, capsys):
    assert gen.main(["--corpus", str(tmp_path / "none"), "--out", str(tmp_path / "q.jsonl")]) == 2
    assert "corpus folder" in capsys.readouterr().err
    assert gen.main(["--corpus", str(tmp_path), "--out", str(tmp_path / "q.jsonl"), "--llm", "extractive"]) == 2
    assert "needs an LLM" in capsys.readouterr().err
    assert gen.main(["--corpus", str(tmp_path), "--out", str(tmp_path / "q.jsonl"), "--n", "0"]) == 2
    assert "--n must be at least 1" in capsys.readouterr().err


@pytest.mark.slow
def test_local_model_generates_a_small_checked_set(tmp_path, capsys):
    """The real packaged model on one article: n=3 (two single facts, one two-chunk question)."""
    pytest.importorskip("llama_cpp")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(REPO / "corpus" / "US-pushes-unified-Libyan-army-to-counter-Russian-expansion.txt", corpus)
    out = tmp_path / "generated.jsonl"
    code = gen.main(["--corpus", str(corpus), "--index", str(tmp_path / "index"), "--out", str(out), "--n", "3",
                     "--llm", "local"])
    printed = capsys.readouterr()
    print(printed.out, printed.err)
    assert code == 0, printed.err
    kept = re.search(r"kept (\d+) of 3 wanted", printed.out)
    assert kept and int(kept.group(1)) >= 1
    text = (corpus / "US-pushes-unified-Libyan-army-to-counter-Russian-expansion.txt").read_text()
    for q in load_questions(out):
        assert q.generated and q.answerable and q.keywords
        assert all(" ".join(e.split()).lower() in " ".join(text.split()).lower() for e in q.evidence)
