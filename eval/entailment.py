"""`python -m eval.entailment`: the packaged model as a YES/NO support check (issue 10, item 2),
measured on eval/support.jsonl alone and OR-ed with the rule verifier (rag/answer/verify.py).

For each (sentence, passage) pair the model reads one short prompt and the probabilities of its next
token being YES or NO are compared (no text is generated, so a check costs one prompt prefill). A
pair counts as "unsupported" when P(YES) / (P(YES) + P(NO)) is below the threshold; the threshold
is chosen on the dev split and the figures that count are the test split's. Measurement only: the
answer path does not call it (see the README for why).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # `python eval/entailment.py`: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rag  # noqa: E402,F401  (offline environment before any model library loads)

from eval.support import DEFAULT_FILE, SPLITS, Pair, binary_scores, load_pairs  # noqa: E402

QUESTION = ("Does the passage state what the statement says, with the same people in the same roles and "
            "the same numbers, places and dates? Answer YES or NO.")
THRESHOLDS = tuple(t / 20 for t in range(2, 17))  # 0.10 … 0.80


def messages(pair: Pair) -> list:
    from llama_index.core.base.llms.types import ChatMessage, MessageRole

    return [ChatMessage(role=MessageRole.SYSTEM, content="You check statements against a passage."),
            ChatMessage(role=MessageRole.USER,
                        content=f"Passage: {pair.passage}\n\nStatement: {pair.sentence}\n\n{QUESTION}")]


def yes_probability(model, text: str, yes_ids: list[int], no_ids: list[int]) -> float:
    """P(YES) against P(NO) for the token after `text`, from one prefill (last position's logits)."""
    import llama_cpp
    import numpy as np

    model.reset()
    model.eval(model.tokenize(text.encode(), special=True))
    # without logits_all (which slows every prefill) llama.cpp keeps the last position's logits only
    pointer = llama_cpp.llama_get_logits_ith(model.ctx, -1)
    logits = np.ctypeslib.as_array(pointer, shape=(model.n_vocab(),)).astype(np.float64)
    top = logits.max()
    yes = np.exp(logits[yes_ids] - top).sum()
    no = np.exp(logits[no_ids] - top).sum()
    return float(yes / (yes + no))


def answer_ids(model, words: tuple[str, ...]) -> list[int]:
    """The single-token spellings of the answer words (YES, Yes, yes, with and without a space)."""
    ids = set()
    for word in words:
        for spelling in (word, " " + word):
            toks = model.tokenize(spelling.encode(), add_bos=False, special=False)
            if len(toks) == 1:
                ids.add(toks[0])
    return sorted(ids)


def model_probabilities(pairs: list[Pair], model_path: Path, threads: int) -> tuple[dict[str, float], float]:
    from tqdm import tqdm

    from rag.answer.llamacpp import load_llamacpp

    # the answer path's loader: its error for a damaged file, and the GGUF's own chat template
    llm = load_llamacpp(model_path, context_window=2048, threads=threads)
    model = llm._model
    yes_ids = answer_ids(model, ("YES", "Yes", "yes"))
    no_ids = answer_ids(model, ("NO", "No", "no"))
    started = time.perf_counter()
    probs = {p.id: yes_probability(model, llm.messages_to_prompt(messages(p)), yes_ids, no_ids)
             for p in tqdm(pairs, desc="YES/NO check", unit="pair")}
    return probs, (time.perf_counter() - started) / len(pairs)


def rule_verdicts(path: Path, pairs: list[Pair]) -> dict[str, bool]:
    """The rule verifier's "supported" for each of `pairs` (eval.support's errors list the wrong ones)."""
    from eval.support import support_metrics
    from rag.embedding import embed_texts

    metrics = support_metrics(path, embed_texts)
    wrong = {e["id"]: e["predicted"] for e in metrics["errors"]}
    return {p.id: wrong.get(p.id, p.supported) for p in pairs}


def scores(pairs: list[Pair], flagged) -> dict:
    """Precision/recall of "unsupported" per split for the predicate `flagged(pair)`."""
    return {split: binary_scores([not p.supported for p in pairs if p.split == split],
                                 [flagged(p) for p in pairs if p.split == split]) for split in SPLITS}


def measure(pairs: list[Pair], probs: dict[str, float], rules: dict[str, bool]) -> dict:
    rows = {"rules": scores(pairs, lambda p: not rules[p.id])}
    for t in THRESHOLDS:
        rows[f"model < {t:.2f}"] = scores(pairs, lambda p: probs[p.id] < t)
        rows[f"rules or model < {t:.2f}"] = scores(pairs, lambda p: not rules[p.id] or probs[p.id] < t)
    return rows


def best_on_dev(rows: dict, prefix: str) -> str:
    """The row of `prefix` whose worse of dev precision and recall is highest."""
    def worst(name: str) -> float:
        m = rows[name]["dev"]
        return min(m["precision"] or 0.0, m["recall"] or 0.0)
    return max((n for n in rows if n.startswith(prefix)), key=worst)


def table(rows: dict, names: list[str]) -> str:
    lines = [f"{'verifier':26} {'dev P':>6} {'dev R':>6} {'test P':>6} {'test R':>6}"]
    for name in names:
        cells = [rows[name][s][k] for s in SPLITS for k in ("precision", "recall")]
        lines.append(f"{name:26} " + " ".join("   -  " if c is None else f"{c:6.3f}" for c in cells))
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m eval.entailment",
                                description="The local model's YES/NO support check measured on labelled pairs, "
                                            "alone and with the rule verifier.")
    p.add_argument("--file", type=Path, default=DEFAULT_FILE, help=f"labelled pairs (default {DEFAULT_FILE})")
    p.add_argument("--limit", type=int, default=0, help="only the first N pairs (0 = all)")
    p.add_argument("--threads", type=int, default=2, help="llama.cpp threads (default 2)")
    return p


def run(args: argparse.Namespace) -> int:
    from rag.answer.model import resolve_model_path
    from rag.config import load_settings

    pairs = load_pairs(args.file)[:args.limit or None]
    model_path = resolve_model_path(load_settings())
    rules = rule_verdicts(args.file, pairs)
    probs, seconds = model_probabilities(pairs, model_path, args.threads)
    rows = measure(pairs, probs, rules)
    chosen = [best_on_dev(rows, "model <"), best_on_dev(rows, "rules or model <")]
    print(table(rows, ["rules", *chosen]))
    print(f"\n{1000 * seconds:.0f} ms of prefill per pair; thresholds chosen on dev (the test columns are held out)")
    return 0


def main(argv: list[str] | None = None) -> int:
    from rag.cli import run_reporting_errors

    args = build_parser().parse_args(argv)
    return run_reporting_errors(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
