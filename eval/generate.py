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
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.dataset import EvalInputError, Question  # noqa: E402
from eval.genquestion import Checker, Chunk, Complete, make_question  # noqa: E402

KIND_SHARES = (("single-fact", 0.5), ("multi-chunk", 0.2), ("follow-up", 0.15), ("unanswerable", 0.15))
MIN_CHUNK_CHARS = 200
ATTEMPTS_PER_QUESTION = 3  # LLM calls allowed per wanted question before a kind gives up
MAX_REPLY_TOKENS = 200


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
