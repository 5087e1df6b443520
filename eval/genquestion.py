"""One generated question and the checks that decide whether it is kept (see eval/generate.py).

The model is asked in llama-index's question-generation prompt (DatasetGenerator) for a question, its
short answer and the sentence that holds it; `make_question` returns a Question, or the reason it was
dropped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from eval.dataset import Question

Complete = Callable[[str], str]  # prompt -> reply: the one place generation calls an LLM
RETRIEVAL_DEPTH = 20
MIN_EVIDENCE_CHARS = 20
MAX_KEYWORDS = 3

INSTRUCTIONS = {
    "single-fact": (
        "Write one question that the passage answers with a single fact. Then give the short answer, and "
        "copy the one sentence of the passage that contains the answer exactly as written.\n"
        "Reply in exactly this form:\nQUESTION: ...\nANSWER: ...\nEVIDENCE: ..."),
    "multi-chunk": (
        "Write one question whose answer needs one fact from passage 1 and one fact from passage 2. Then give "
        "the short answer, and copy from each passage the sentence with its fact exactly as written.\n"
        "Reply in exactly this form:\nQUESTION: ...\nANSWER: ...\nEVIDENCE 1: ...\nEVIDENCE 2: ..."),
    "follow-up": (
        "Write a first question about a person, place or thing in the passage, then a follow-up question that "
        "refers back to it with a pronoun (he, she, it, they, there) and that the passage answers. Then give "
        "the follow-up's short answer, and copy the sentence of the passage that contains it exactly as written.\n"
        "Reply in exactly this form:\nFIRST QUESTION: ...\nFOLLOW-UP: ...\nANSWER: ...\nEVIDENCE: ..."),
    "unanswerable": (
        "Write one question on the same subject as the passage that the passage does NOT answer: ask for a "
        "detail it does not give (a number, a date, a name or a reason that is not stated).\n"
        "Reply in exactly this form:\nQUESTION: ..."),
}
_FIELD = re.compile(r"^[\s*#>-]*(QUESTION|ANSWER|EVIDENCE(?:\s*\d)?|FIRST QUESTION|FOLLOW-UP)\s*\**\s*:\s*\**\s*(.*)$",
                    re.IGNORECASE)


@dataclass
class Chunk:
    id: str
    text: str
    source: str


def build_prompt(kind: str, passages: list[str]) -> str:
    from llama_index.core.evaluation.dataset_generation import DEFAULT_QUESTION_GENERATION_PROMPT
    from llama_index.core.prompts import PromptTemplate

    context = passages[0] if len(passages) == 1 else \
        "\n\n".join(f"Passage {i}:\n{text}" for i, text in enumerate(passages, start=1))
    return PromptTemplate(DEFAULT_QUESTION_GENERATION_PROMPT).format(context_str=context, query_str=INSTRUCTIONS[kind])


def parse_reply(reply: str) -> dict[str, str]:
    """The labelled lines of a reply, keys lower-cased with spaces removed ("evidence1", "follow-up")."""
    fields: dict[str, str] = {}
    for line in (reply or "").splitlines():
        match = _FIELD.match(line)
        if match:
            key = re.sub(r"\s+", "", match.group(1).lower())
            value = match.group(2).strip().strip('*"“”\'').strip()
            if value and key not in fields:
                fields[key] = value
    return fields


# --- checks -------------------------------------------------------------------------------------
def verbatim(evidence: str, chunk: str) -> str | None:
    """The chunk's own text for `evidence` when the model copied it (case and spacing aside), else None."""
    words = (evidence or "").strip().strip('"“”').rstrip(".").split()
    if len(" ".join(words)) < MIN_EVIDENCE_CHARS:
        return None
    match = re.search(r"\s+".join(re.escape(w) for w in words), chunk, re.IGNORECASE)
    return match.group(0) if match else None


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def answer_keywords(answer: str, question: str, evidence: list[str]) -> list[list[str]] | None:
    """The words the answer adds to the question, when all of them are in the evidence (else None).
    Up to three become keyword groups, numbers and names first (they decide whether an answer is right)."""
    from eval.metrics import tokens

    asked = {_stem(w) for w in tokens(question)}
    supplied = {_stem(w) for e in evidence for w in tokens(e)}
    added = list(dict.fromkeys(w for w in tokens(answer) if _stem(w) not in asked))
    if not added or any(_stem(w) not in supplied for w in added):
        return None
    names = {w.lower() for w in re.findall(r"\b[A-Z][\w-]*", answer)}
    ranked = sorted(added, key=lambda w: (not any(c.isdigit() for c in w), w not in names, -len(w)))
    return [[w] for w in ranked[:MAX_KEYWORDS]]


class Checker:
    """The retrieval-side checks, against the index the evaluation will use."""

    def __init__(self, retriever, refusal_floor: float, depth: int = RETRIEVAL_DEPTH):
        self.retriever, self.refusal_floor, self.depth = retriever, refusal_floor, depth

    def finds(self, q: Question) -> bool:
        from eval.metrics import is_relevant
        from eval.run import retrieval_query

        hits = self.retriever.search(retrieval_query(q), k=self.depth)
        return all(any(is_relevant(h.text, [e]) for h in hits) for e in q.evidence)

    def unanswerable_problem(self, question: str) -> str | None:
        from eval.metrics import tokens

        hits = self.retriever.search(question, k=self.depth)
        best_dense = max((h.scores.get("dense", 0.0) for h in hits), default=0.0)
        if best_dense < self.refusal_floor:
            return "unanswerable question is off-topic"
        wanted = {_stem(w) for w in tokens(question)}
        if any(wanted <= {_stem(w) for w in tokens(h.text)} for h in hits):
            return "unanswerable question may be answered in the corpus"
        return None


# --- one question of each kind (a Question, or the reason it was dropped) -------------------------
def _answerable(kind: str, fields: dict, question: str, evidence_pairs: list[tuple[str | None, Chunk]],
                history: list[str]) -> Question | str:
    answer = fields.get("answer", "")
    if not question or not answer or any(raw is None for raw, _ in evidence_pairs):
        return "reply not in the asked form"
    evidence = [verbatim(raw, chunk.text) for raw, chunk in evidence_pairs]
    if any(e is None for e in evidence):
        return "evidence not verbatim in the chunk"
    keywords = answer_keywords(answer, question, evidence)
    if keywords is None:
        return "answer not in the evidence"
    return Question(id="", question=question, answer=answer, evidence=evidence, history=history,
                    keywords=keywords, kind=kind, generated=True)


def make_question(kind: str, chunks: list[Chunk], complete: Complete, checker: Checker) -> Question | str:
    from rag.answer.followup import needs_rewrite

    fields = parse_reply(complete(build_prompt(kind, [c.text for c in chunks])))
    if kind == "unanswerable":
        question = fields.get("question", "")
        if not question:
            return "reply not in the asked form"
        problem = checker.unanswerable_problem(question)
        return problem or Question(id="", question=question, answerable=False, kind=kind, generated=True)
    if kind == "follow-up":
        first, question = fields.get("firstquestion", ""), fields.get("follow-up", "")
        if not first:
            return "reply not in the asked form"
        if question and not needs_rewrite(question):
            return "follow-up stands alone (no reference to its history)"
        made = _answerable(kind, fields, question, [(fields.get("evidence"), chunks[0])], [first])
    elif kind == "multi-chunk":
        made = _answerable(kind, fields, fields.get("question", ""),
                           [(fields.get("evidence1"), chunks[0]), (fields.get("evidence2"), chunks[1])], [])
    else:
        made = _answerable(kind, fields, fields.get("question", ""), [(fields.get("evidence"), chunks[0])], [])
    if isinstance(made, Question) and not checker.finds(made):
        return f"evidence not in the retriever's top {checker.depth}"
    return made
