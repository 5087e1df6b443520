"""`python -m eval replay REPORT …`: decide again, with today's answer checks, on the drafts a report
stored, and list the answers that change. No model runs: the model's raw answer (`draft`) and the
passages it was shown (`citations`) are in every record, so a change to the checks is seen on every
stored run in seconds, before the end-to-end runs that measure it (the model's drafts only change
with the passages or the prompt, not with the checks).

A follow-up's rewrite is not replayed: a check change that alters which rewrite is used changes the
question, the passages and the draft, which only an end-to-end run shows.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.diff import load_report  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Change:
    config: str
    id: str
    question: str
    old: str
    new: str
    reason: str


def corpus_names(report: dict) -> frozenset[str]:
    """The words the report's corpus only writes as names, as retrieval read them from its index."""
    from rag.bm25 import load_names
    from rag.config import load_settings

    index = report.get("index")
    return load_names(load_settings().replace(index_dir=Path(index)).bm25_path) if index else frozenset()


def replay_report(report: dict, embedder, names: frozenset[str]) -> tuple[int, list[Change]]:
    """(records replayed, the changed answers) for every configuration of the report."""
    from rag.answer.decide import decide
    from rag.answer.results import Citation

    fields = {f.name for f in dataclasses.fields(Citation)}
    replayed, changes = 0, []
    for config, block in report["configs"].items():
        for record in block.get("records", []):
            if record.get("draft") is None or not record.get("citations"):
                continue  # a retrieval-only record, an error, or a refusal before the model ran
            citations = [Citation(**{k: v for k, v in c.items() if k in fields}) for c in record["citations"]]
            question = record.get("standalone_question") or record["question"]
            decision = decide(question, record["draft"], citations, embedder, names)
            replayed += 1
            old = (record.get("answer") or "").strip()
            if decision.answer.strip() != old:
                changes.append(Change(config, str(record.get("id", "")), question, old, decision.answer.strip(),
                                      decision.reason))
    return replayed, changes


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m eval replay",
        description="Decide again, with the current answer checks, on the model drafts stored in reports, and "
                    "list the answers that change (no model runs).")
    p.add_argument("reports", type=Path, nargs="+", help="report.json files (or their folders)")
    return p


def run_replay(args: argparse.Namespace) -> int:
    from rag.config import load_settings
    from rag.embedding import Embedder

    reports = [load_report(path) for path in args.reports]  # every path checked before any work
    embedder = Embedder(load_settings())
    total = 0
    for report in reports:
        replayed, changes = replay_report(report, embedder, corpus_names(report))
        total += len(changes)
        print(f"{report['path']}: {len(changes)} of {replayed} answers change")
        for c in changes:
            print(f"  {c.id} ({c.config}): {c.question}\n    was: {c.old}\n    now: {c.new}"
                  + (f"\n    why: {c.reason}" if c.reason else ""))
    print(f"{total} answers change in {len(reports)} report(s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    from rag.cli import run_reporting_errors

    args = build_parser().parse_args(argv)
    return run_reporting_errors(lambda: run_replay(args))


if __name__ == "__main__":
    sys.exit(main())
