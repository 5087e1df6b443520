"""`python -m eval.support [--file F]`: the answer-sentence verifier (rag/verify.py) measured on
labelled (question, sentence, passage) pairs.

Each line of the file is a JSON object with: id, question, sentence, passage, supported (bool),
answers_question (bool), kind (faithful, paraphrase, number, name, …), split (dev|test); corpus is
optional. The positive class is "unsupported" (what the verifier must catch), and, for
answers_question, "does not answer". Figures are given per split and for all pairs; tune on dev only.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # `python eval/support.py`: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rag  # noqa: E402,F401  (offline environment before any model library loads)

from eval.dataset import EvalInputError, read_jsonl  # noqa: E402

DEFAULT_FILE = Path(__file__).resolve().parent / "support.jsonl"
SPLITS = ("dev", "test")
REQUIRED = {"id": (str, int), "question": str, "sentence": str, "passage": str, "supported": bool,
            "answers_question": bool, "kind": str, "split": str}


@dataclass(frozen=True)
class Pair:
    id: str
    question: str
    sentence: str
    passage: str
    supported: bool
    answers_question: bool
    kind: str
    split: str
    corpus: str = ""


def parse_pair(obj, where: str) -> Pair:
    if not isinstance(obj, dict):
        raise EvalInputError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    for name, kind in REQUIRED.items():
        if not isinstance(obj.get(name), kind) or (kind is not bool and isinstance(obj.get(name), bool)):
            what = "a string or number" if isinstance(kind, tuple) else f"a {kind.__name__}"
            raise EvalInputError(f"{where}: '{name}' is missing or not {what}")
    if obj["split"] not in SPLITS:
        raise EvalInputError(f"{where}: 'split' must be one of {', '.join(SPLITS)}, not {obj['split']!r}")
    if not obj["sentence"].strip() or not obj["passage"].strip():
        raise EvalInputError(f"{where}: 'sentence' and 'passage' must not be empty")
    fields = {name: obj[name] for name in REQUIRED} | {"id": str(obj["id"])}
    return Pair(**fields, corpus=str(obj.get("corpus") or ""))


def load_pairs(path: Path) -> list[Pair]:
    pairs, seen = [], set()
    for where, obj in read_jsonl(path, "support file"):
        pair = parse_pair(obj, where)
        if pair.id in seen:
            raise EvalInputError(f"{where}: duplicate id {pair.id!r}")
        seen.add(pair.id)
        pairs.append(pair)
    if not pairs:
        raise EvalInputError(f"support file {path} holds no pairs")
    return pairs


def binary_scores(actual: list[bool], predicted: list[bool]) -> dict:
    """Precision, recall and F1 of the positive class (True), with the counts behind them."""
    tp = sum(a and p for a, p in zip(actual, predicted))
    fp = sum(p and not a for a, p in zip(actual, predicted))
    fn = sum(a and not p for a, p in zip(actual, predicted))
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (2 * precision * recall / (precision + recall)) if precision and recall else (0.0 if precision is not None
                                                                                       and recall is not None else None)
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn,
            "positives": tp + fn, "n": len(actual)}


def split_metrics(rows: list[tuple[Pair, bool, bool]]) -> dict:
    """rows: (pair, predicted supported, predicted answers the question)."""
    kinds: dict[str, dict] = {}
    for pair, supported, _ in rows:
        entry = kinds.setdefault(pair.kind, {"n": 0, "correct": 0})
        entry["n"] += 1
        entry["correct"] += supported == pair.supported
    for entry in kinds.values():
        entry["accuracy"] = entry["correct"] / entry["n"]
    return {
        "n": len(rows),
        "unsupported": binary_scores([not p.supported for p, _, _ in rows], [not s for _, s, _ in rows]),
        "does_not_answer": binary_scores([not p.answers_question for p, _, _ in rows], [not a for _, _, a in rows]),
        "kinds": dict(sorted(kinds.items())),
    }


def support_metrics(path: Path | str, embed) -> dict:
    """The verifier over every pair of `path`: metrics for each split and for all, plus timing."""
    from rag.answer.relevance import answers_question
    from rag.answer.verify import caching, sentence_text, verify_sentence, windows

    pairs = load_pairs(Path(path))
    cached = caching(embed)
    texts = [t for p in pairs for t in (sentence_text(p.sentence), p.question, *windows([p.passage]))]
    started = time.perf_counter()
    cached(list(dict.fromkeys(texts)))  # one batch: the rules below then find every vector cached
    embedding_seconds = time.perf_counter() - started
    rows, reasons = [], {}
    started = time.perf_counter()
    for pair in pairs:
        verdict = verify_sentence(pair.sentence, [pair.passage], cached)
        answers = answers_question(pair.question, [pair.sentence], cached)
        rows.append((pair, verdict.supported, answers))
        reasons[pair.id] = list(verdict.reasons)
    seconds = time.perf_counter() - started
    result = {split: split_metrics([r for r in rows if r[0].split == split]) for split in SPLITS}
    result["all"] = split_metrics(rows)
    result["rule_seconds_per_sentence"] = seconds / len(pairs)
    result["embedding_seconds_per_sentence"] = embedding_seconds / len(pairs)
    result["errors"] = [{"id": p.id, "kind": p.kind, "split": p.split, "supported": p.supported,
                         "predicted": s, "answers_question": p.answers_question, "predicted_answers": a,
                         "reasons": reasons[p.id]}
                        for p, s, a in rows if s != p.supported or a != p.answers_question]
    return result


def _fmt(value) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def table(metrics: dict) -> str:
    lines = [f"{'split':6} {'class':16} {'n':>4} {'pos':>4} {'prec':>6} {'recall':>6} {'F1':>6}"]
    for split in (*SPLITS, "all"):
        for name in ("unsupported", "does_not_answer"):
            m = metrics[split][name]
            lines.append(f"{split:6} {name:16} {m['n']:4d} {m['positives']:4d} {_fmt(m['precision']):>6} "
                         f"{_fmt(m['recall']):>6} {_fmt(m['f1']):>6}")
    kinds = sorted(metrics["all"]["kinds"])
    lines.append("")
    lines.append(f"{'kind':14} " + " ".join(f"{s:>14}" for s in (*SPLITS, "all")) + "   (support accuracy, correct/n)")
    for kind in kinds:
        cells = []
        for split in (*SPLITS, "all"):
            k = metrics[split]["kinds"].get(kind)
            cells.append(f"{k['accuracy']:.2f} ({k['correct']}/{k['n']})" if k else "-")
        lines.append(f"{kind:14} " + " ".join(f"{c:>14}" for c in cells))
    lines.append(f"\ntime per sentence: {1000 * metrics['rule_seconds_per_sentence']:.1f} ms of rules "
                 f"(verify_sentence + answers_question) + {1000 * metrics['embedding_seconds_per_sentence']:.1f} ms "
                 "of embedding (sentence, question and passage windows in one batch)")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m eval.support",
                                description="Precision and recall of the answer-sentence verifier.")
    p.add_argument("--file", type=Path, default=DEFAULT_FILE, help=f"labelled pairs (default {DEFAULT_FILE})")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--errors", action="store_true", help="list the misclassified pairs with the verifier's reasons")
    return p


def run(args: argparse.Namespace) -> int:
    from rag.embedding import embed_texts

    load_pairs(args.file)  # a bad file fails before the model loads
    metrics = support_metrics(args.file, embed_texts)
    if args.json:
        print(json.dumps(metrics, indent=2))
        return 0
    print(table(metrics))
    if args.errors:
        for e in metrics["errors"]:
            print(json.dumps(e, ensure_ascii=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    from rag.cli import run_reporting_errors

    args = build_parser().parse_args(argv)
    return run_reporting_errors(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
