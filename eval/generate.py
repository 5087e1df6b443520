"""`python -m eval generate --corpus DIR --out questions.jsonl [--n 50]`: a question set written by the
configured LLM from your own documents, keeping only what can be checked.

Four kinds (about half single facts): single-fact questions from one chunk, questions that need two
chunks, follow-ups that only make sense with their `history`, and unanswerable ones (on the corpus's
topic, not answered by it). The prompts start from llama-index's question-generation prompt
(DatasetGenerator); the model also returns the answer and the sentence that holds it. A question is
kept only when:
- its evidence is copied verbatim from its chunk (case and spacing aside; the chunk's own text is stored);
- every word the answer adds to the question is in the evidence (those words become the keywords);
- the retriever finds the evidence in its top 20 for the question (a follow-up: with its history);
- a follow-up leans on its history (a pronoun or "what about"), like the ones people type;
- an unanswerable one is on topic (dense similarity above the refusal floor) and no retrieved chunk
  holds all its content words.
Everything else is dropped and counted by reason. Every line carries `"generated": true`, and the
evaluation report says so. The LLM is called through one function (`Complete`), so tests can script it.
"""
from __future__ import annotations

import argparse
import random
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.dataset import EvalInputError, Question  # noqa: E402

Complete = Callable[[str], str]  # prompt -> reply: the one place generation calls an LLM
KIND_SHARES = (("single-fact", 0.5), ("multi-chunk", 0.2), ("follow-up", 0.15), ("unanswerable", 0.15))
RETRIEVAL_DEPTH = 20
MIN_CHUNK_CHARS = 200
MIN_EVIDENCE_CHARS = 20
ATTEMPTS_PER_QUESTION = 3  # LLM calls allowed per wanted question before a kind gives up
MAX_REPLY_TOKENS = 200
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


# --- the LLM ------------------------------------------------------------------------------------
def llm_complete(settings) -> Complete:
    """The configured backend as a prompt -> reply function (rag.answer.generators; one user message)."""
    from llama_index.core.base.llms.types import ChatMessage, MessageRole

    from rag.answer.generators import make_generator

    backend = make_generator(settings)
    if not hasattr(backend, "complete"):
        raise EvalInputError("generating questions needs an LLM: choose --llm local, openai or ollama "
                             "(extractive only quotes passages)")

    def complete(prompt: str) -> str:
        return backend.complete([ChatMessage(role=MessageRole.USER, content=prompt)], MAX_REPLY_TOKENS)

    return complete


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


# --- the set --------------------------------------------------------------------------------------
def plan(n: int) -> dict[str, int]:
    """How many of each kind: the shares, largest remainders first; every kind at least once from n=4."""
    base = {kind: (1 if n >= len(KIND_SHARES) else 0) for kind, _ in KIND_SHARES}
    rest = n - sum(base.values())
    exact = {kind: rest * share for kind, share in KIND_SHARES}
    counts = {kind: base[kind] + int(exact[kind]) for kind in exact}
    for kind in sorted(exact, key=lambda k: exact[k] - int(exact[k]), reverse=True)[: n - sum(counts.values())]:
        counts[kind] += 1
    return counts


def partner(chunk: Chunk, chunks: list[Chunk], retriever, rng: random.Random) -> Chunk:
    """A second chunk on a related subject (retrieved for the first one's text), not the chunk itself."""
    by_id = {c.id: c for c in chunks}
    for hit in retriever.search(chunk.text[:400], k=5):
        if hit.id != chunk.id and hit.id in by_id and not overlaps(chunk.text, hit.text):
            return by_id[hit.id]
    return rng.choice([c for c in chunks if c.id != chunk.id])


def overlaps(a: str, b: str) -> bool:
    """Neighbouring chunks share their overlap; a two-chunk question must need two different texts."""
    return a[-120:] in b or b[-120:] in a


@dataclass
class Outcome:
    questions: list[Question]
    sources: list[list[str]]  # chunk ids per kept question
    wanted: dict[str, int]
    dropped: Counter

    def summary(self) -> str:
        kept = Counter(q.kind for q in self.questions)
        lines = [f"kept {len(self.questions)} of {sum(self.wanted.values())} wanted: "
                 + ", ".join(f"{kind} {kept[kind]}/{want}" for kind, want in self.wanted.items())]
        if self.dropped:
            lines.append(f"dropped {sum(self.dropped.values())}: "
                         + "; ".join(f"{reason} {count}" for reason, count in self.dropped.most_common()))
        else:
            lines.append("dropped 0")
        return "\n".join(lines)


def question_key(q: Question) -> str:
    """Duplicates: the same question after the same conversation ("And then?" may follow many)."""
    return " / ".join(" ".join(t.lower().split()) for t in [*q.history, q.question])


def generate(chunks: list[Chunk], n: int, complete: Complete, checker: Checker, seed: int = 0,
             progress: Callable[[str], None] = lambda _: None) -> Outcome:
    if len(chunks) < 2:
        raise EvalInputError(f"the corpus has {len(chunks)} chunk(s) of at least {MIN_CHUNK_CHARS} characters; "
                             "generating needs at least 2")
    rng = random.Random(seed)
    order = chunks[:]
    rng.shuffle(order)
    wanted = plan(n)
    outcome = Outcome([], [], wanted, Counter())
    seen: set[str] = set()
    turn = 0
    for kind, count in wanted.items():
        kept = 0
        for _ in range(count * ATTEMPTS_PER_QUESTION):
            if kept == count:
                break
            first = order[turn % len(order)]
            turn += 1
            used = [first, partner(first, chunks, checker.retriever, rng)] if kind == "multi-chunk" else [first]
            made = make_question(kind, used, complete, checker)
            if isinstance(made, Question) and question_key(made) in seen:
                made = "duplicate question"
            if isinstance(made, str):
                outcome.dropped[made] += 1
                progress(f"{kind}: dropped ({made})")
                continue
            seen.add(question_key(made))
            made.id = f"g{len(outcome.questions) + 1:03d}"
            outcome.questions.append(made)
            outcome.sources.append([c.id for c in used])
            kept += 1
            progress(f"{kind}: kept {made.id}: {made.question}")
    return outcome


def corpus_chunks(settings) -> list[Chunk]:
    from rag.store import Store

    return [Chunk(cid, text, meta.get("source", "")) for cid, text, meta in Store(settings).all_chunks()
            if len(text) >= MIN_CHUNK_CHARS]


# --- command line ---------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    from rag.config import LLM_BACKENDS

    p = argparse.ArgumentParser(
        prog="python -m eval generate",
        description="Write a question set from your documents with the configured LLM: single facts, two-chunk "
                    "questions, follow-ups with history and unanswerable questions; keeps only the checkable ones "
                    "and reports why the others were dropped.",
        epilog="then: python -m eval --questions OUT --corpus DIR")
    p.add_argument("--corpus", type=Path, required=True, help="documents folder")
    p.add_argument("--out", type=Path, required=True, help="question file to write (JSON Lines)")
    p.add_argument("--n", type=int, default=50, help="questions wanted (default 50)")
    p.add_argument("--index", type=Path, help="index folder for the corpus (default: eval/out/index, the one "
                                              "`python -m eval --corpus DIR` uses)")
    p.add_argument("--llm", choices=LLM_BACKENDS, help="generating backend (default: the configured one; "
                                                       "extractive cannot generate)")
    p.add_argument("--seed", type=int, default=0, help="chunk order (default 0)")
    p.add_argument("--quiet", action="store_true", help="no per-question lines")
    return p


def settings_for(args: argparse.Namespace):
    from rag.config import load_settings

    if args.n < 1:
        raise EvalInputError("--n must be at least 1")
    if not args.corpus.is_dir():
        raise EvalInputError(f"corpus folder {args.corpus} does not exist")
    from eval.run import DEFAULT_OUT

    return load_settings().replace(llm=args.llm, corpus_dir=args.corpus, index_dir=args.index or DEFAULT_OUT / "index")


def run_generate(args: argparse.Namespace, complete: Complete | None = None) -> int:
    from rag.retrieve import Retriever

    from eval.dataset import write_questions
    from eval.indexes import ensure_index

    settings = settings_for(args)
    complete = complete or llm_complete(settings)
    ensure_index(settings, args.quiet)
    checker = Checker(Retriever(settings), settings.refusal_min_score)
    say = (lambda _: None) if args.quiet else (lambda line: print(line, file=sys.stderr))
    outcome = generate(corpus_chunks(settings), args.n, complete, checker, args.seed, say)
    print(outcome.summary())
    if not outcome.questions:
        raise EvalInputError("no generated question passed the checks; nothing written (try another --llm or --seed)")
    write_questions(args.out, outcome.questions, [{"chunks": ids} for ids in outcome.sources])
    print(f"wrote {args.out}; evaluate with: python -m eval --questions {args.out} --corpus {args.corpus}")
    return 0


def main(argv: list[str] | None = None, complete: Complete | None = None) -> int:
    from rag.cli import run_reporting_errors

    args = build_parser().parse_args(argv)
    return run_reporting_errors(lambda: run_generate(args, complete))


if __name__ == "__main__":
    sys.exit(main())
