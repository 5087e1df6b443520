"""`python -m eval`: run a question file through retrieval (and answering) under several
configurations and write report.json, report.md and plots.

Configurations are retrieval modes, optionally with setting overrides after colons:
`dense,bm25,hybrid,hybrid:fusion=rrf:rrf_k=20,hybrid:chunk_size=120`. A chunk-size override
needs its own index, which is built under the output folder (the default index is never touched).
Answering settings may be overridden too, so backends and prompts compare side by side in one report:
`hybrid:llm=extractive,hybrid:llm=local:answer_passages=2`.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # `python eval/run.py`: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rag  # noqa: E402,F401  (offline environment before any model library loads)
from rag.config import LLM_BACKENDS, Settings  # noqa: E402

from eval.configs import EvalConfig, parse_configs, reject_answer_overrides  # noqa: E402
from eval.dataset import EvalInputError, Question  # noqa: E402
from eval.formats import FORMATS  # noqa: E402
from eval.indexes import (base_settings, corpus_of_question_set, ensure_index, index_settings,  # noqa: E402
                          relevance_judge)

DEFAULT_QUESTIONS = Path(__file__).resolve().parent / "questions.jsonl"
DEFAULT_OUT = Path("eval/out")
RANK_DEPTH = 5  # hits scored per question (hit@5, nDCG@5)


# --- command line -------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m eval",
        description="Score retrieval, answers, citations, refusals and latency over a question file, "
                    "one column per configuration; writes report.json, report.md and PNG plots.",
        epilog="examples:\n"
               "  python -m eval --retrieval-only\n"
               "  python -m eval --llm extractive --configs hybrid --limit 10\n"
               "  python -m eval --corpus docs/ --questions my.jsonl --configs dense,hybrid:fusion_alpha=0.7\n"
               "  python -m eval --llm extractive --fail-under hit@5=0.8,keyword=0.85,false_refusal_rate<=0.05\n"
               "  python -m eval diff eval/out-old/report.json eval/out/report.json   (what changed)\n"
               "  python -m eval replay eval/out/report.json   (the same drafts, today's answer checks)\n"
               "  python -m eval generate --corpus docs/ --out my.jsonl --n 50       (a question set)\n"
               "exit status: 0 done, 1 a --fail-under threshold failed, 2 bad input (file, flag, question line), "
               "4 backend unavailable",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS,
                   help="question file (default: eval/questions.jsonl): ours, RAGAS-style JSON/JSONL, or a "
                        "BEIR folder (queries.jsonl, qrels/, corpus.jsonl)")
    p.add_argument("--format", choices=FORMATS, default="auto",
                   help="question file format (default: auto, detected from the path and first record)")
    p.add_argument("--corpus", type=Path,
                   help="evaluate on this folder, ingested into its own index under --out "
                        "(default: the configured corpus and its index)")
    p.add_argument("--index", type=Path, help="index folder to use with --corpus (default: OUT/index)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report folder (default: eval/out)")
    p.add_argument("--configs", default="dense,bm25,hybrid",
                   help="comma-separated retrieval modes (dense, bm25, hybrid), each optionally with "
                        "overrides, e.g. hybrid:fusion_alpha=0.7:candidates=50, or answering settings such as "
                        "hybrid:llm=local:answer_passages=2 (default: dense,bm25,hybrid)")
    p.add_argument("--llm", choices=LLM_BACKENDS,
                   help="answering backend (default: the configured one); 'extractive' needs no model")
    p.add_argument("--retrieval-only", action="store_true", help="score retrieval only; no answers")
    p.add_argument("--replay-history", action="store_true",
                   help="answer a follow-up's earlier questions first, so the rewriter sees real answers")
    p.add_argument("--limit", type=int, help="evaluate only the first N questions")
    p.add_argument("--cache-query-embeddings", action="store_true",
                   help="embed each question once for all configurations (fast sweeps of fusion settings/candidates; "
                        "retrieval latency is then not meaningful after the first configuration)")
    p.add_argument("--fail-under", metavar="THRESHOLDS",
                   help="exit 1 unless every configuration meets these thresholds, e.g. "
                        "hit@5=0.8,keyword=0.85,false_refusal_rate<=0.05 ('=' means at least, or at most for "
                        "lower-is-better metrics), or a TOML file of them")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


# --- one question -------------------------------------------------------------------------------
def retrieval_query(q: Question) -> str:
    """Retrieval-only runs have no LLM to rewrite a follow-up: use the pipeline's own LLM-free rewrite
    (the follow-up plus the previous question), so retrieval sees what the extractive backend sees."""
    if not q.history:
        return q.question
    from rag.answer.followup import heuristic_rewrite

    return heuristic_rewrite(q.question, [(h, "") for h in q.history])


def hit_record(hit, relevant_ids: set[str]) -> dict:
    return {"rank": hit.rank, "id": hit.id, "source": hit.source, "title": hit.title, "start": hit.start,
            "end": hit.end, "score": hit.score, "scores": hit.scores, "relevant": hit.id in relevant_ids,
            "text": hit.text}


def new_record(q: Question, config: EvalConfig) -> dict:
    return {"id": q.id, "kind": q.kind, "config": config.name, "question": q.question, "history": q.history,
            "answerable": q.answerable, "gold_answer": q.answer, "evidence": q.evidence,
            "keywords": q.keywords, "resolves": q.resolves, "standalone_question": None, "answer": None, "refused": None,
            "citations": [], "sentences": [], "retrieved": [], "relevant_in_index": 0, "evidence_found": [],
            "timings": {}, "llm": None, "error": None, "refusal_reason": "", "draft": ""}


def conversation(q: Question, answerer, replay: bool) -> list[tuple[str, str]]:
    """The question file keeps only the earlier user questions. By default they go to the rewriter
    as (question, "") pairs; --replay-history asks them first for real answers (slower: with a local
    LLM every earlier turn costs a generation)."""
    if not replay:
        return [(h, "") for h in q.history]
    turns: list[tuple[str, str]] = []
    for earlier in q.history:
        turns.append((earlier, answerer.ask(earlier, history=list(turns)).answer))
    return turns


def answer_into(record: dict, q: Question, answerer, replay: bool) -> None:
    result = answerer.ask(q.question, history=conversation(q, answerer, replay))
    record.update(standalone_question=result.standalone_question, answer=result.answer,
                  refused=bool(result.refused), llm=getattr(result, "llm", None),
                  refusal_reason=result.refusal_reason, draft=result.draft,
                  timings={k: v for k, v in dict(result.timings).items() if v is not None})
    record["citations"] = [_as_dict(c) for c in result.citations]
    record["sentences"] = [_as_dict(s) for s in getattr(result, "sentences", [])]


def _as_dict(obj) -> dict:
    from dataclasses import asdict, is_dataclass

    return asdict(obj) if is_dataclass(obj) else dict(obj)


def evaluate_question(q: Question, config: EvalConfig, retriever, answerer, judge, replay: bool = False,
                      embedder=None) -> dict:
    from rag.errors import BackendError, RagError

    from eval.metrics import is_relevant

    record = new_record(q, config)
    try:
        if answerer is not None:
            answer_into(record, q, answerer, replay)
        query = record["standalone_question"] or retrieval_query(q)
        record["standalone_question"] = query
        started = time.perf_counter()
        hits = retriever.search(query, k=RANK_DEPTH, embedder=embedder)
        record["timings"].setdefault("retrieve_s", time.perf_counter() - started)
    except BackendError:
        raise  # the model or index is unavailable: every question would fail the same way
    except RagError as exc:
        record["error"] = str(exc)
        return record
    relevant = judge.relevant_ids(q.evidence) if q.answerable else set()
    record["relevant_in_index"] = len(relevant)
    record["retrieved"] = [hit_record(h, relevant) for h in hits]
    # Multi-part questions: which evidence strings the top passages cover (hit@k needs only one).
    record["evidence_found"] = [any(is_relevant(h.text, [e]) for h in hits) for e in q.evidence] if q.answerable else []
    return record


# --- one configuration --------------------------------------------------------------------------
def run_config(config: EvalConfig, questions: list[Question], settings: Settings, args: argparse.Namespace,
               judge, embedder=None) -> list[dict]:
    """`embedder`: a vector cache shared by every configuration (--cache-query-embeddings), or None
    for a fresh one per question."""
    from tqdm import tqdm

    from rag.retrieve import Retriever

    from eval import scoring

    settings = settings.replace(retrieval_mode=config.mode, **config.run_overrides())
    retriever = Retriever(settings)
    # Load the embedding model and BM25 index before timing anything: a one-off start-up cost is
    # not query latency (start-up is measured by bench/).
    retriever.search("warm-up query", k=1)
    answerer = None
    if not args.retrieval_only:
        from rag.answer import Answerer

        answerer = Answerer(settings, retriever=retriever, embedder=embedder)
        answerer.generator.warm_up()  # load the model before timing too (or fail now, exit 4)
    records = [evaluate_question(q, config, retriever, answerer, judge, args.replay_history, embedder)
               for q in tqdm(questions, desc=f"{config.name:>10}", unit="q", disable=args.quiet)]
    for r in records:
        scoring.score_record(r)
    scoring.add_semantic_similarity(records)
    return records


def verifier_metrics() -> dict:
    """The answer verifier's precision/recall for "unsupported" on the labelled pairs of
    eval/support.jsonl (test split and all), reported beside the pipeline's own figures."""
    from rag.embedding import Embedder

    from eval.support import DEFAULT_FILE, support_metrics

    metrics = support_metrics(DEFAULT_FILE, Embedder().texts)
    return {split: {cls: {k: metrics[split][cls][k] for k in ("n", "positives", "precision", "recall")}
                    for cls in ("unsupported", "does_not_answer")} for split in ("test", "all")}


def evaluate(args: argparse.Namespace) -> dict:
    from rag.embedding import Embedder

    from eval import gates, report, scoring

    thresholds = gates.parse(args.fail_under) if args.fail_under else []
    gates.check_measurable(thresholds, args.retrieval_only)
    from eval.formats import load as load_question_set

    question_set = load_question_set(args.questions, args.format)
    questions = question_set.questions
    args.corpus = corpus_of_question_set(args, question_set)
    if args.limit is not None:
        if args.limit < 1:
            raise EvalInputError("--limit must be at least 1")
        questions = questions[:args.limit]
    configs = parse_configs(args.configs)
    if args.retrieval_only:
        reject_answer_overrides(configs)
    base = base_settings(args)
    # One vector cache for the whole sweep: each question is embedded once for all configurations.
    shared = Embedder(base) if args.cache_query_embeddings else None
    started = time.perf_counter()
    results: dict[str, dict] = {}
    judges: dict[Path, object] = {}
    for config in configs:
        settings = index_settings(base, config, args.out)
        if settings.index_dir not in judges:
            ensure_index(settings, args.quiet)
            judges[settings.index_dir] = relevance_judge(settings)
        records = run_config(config, questions, settings, args, judges[settings.index_dir], shared)
        results[config.name] = {"config": {"mode": config.mode, **config.overrides},
                                "llm": None if args.retrieval_only else config.overrides.get("llm", base.llm),
                                "summary": scoring.summarize(records), "records": records}
    run = {"verifier": None if args.retrieval_only else verifier_metrics(),
           "questions_file": str(args.questions), "questions_format": question_set.format,
           "generated_questions": sum(q.generated for q in questions), "corpus": str(base.corpus_dir), "index": str(base.index_dir),
           "llm": None if args.retrieval_only else base.llm, "retrieval_only": args.retrieval_only,
           "query_embeddings_cached": args.cache_query_embeddings,
           "questions": len(questions), "seconds": round(time.perf_counter() - started, 1),
           "settings": {k: v for k, v in base.as_dict().items()
                        if k in ("chunk_size", "chunk_overlap", "top_k", "fusion", "fusion_alpha", "rrf_k", "candidates",
                                 "answer_passages")},
           "configs": results}
    if thresholds:
        run["gates"] = gates.evaluate_gates(run, thresholds)
    report.write_all(run, args.out)
    return run


def evaluate_and_print(args: argparse.Namespace) -> int:
    from eval.gates import EXIT_GATE_FAILED, failures_text
    from eval.report import summary_table

    run = evaluate(args)
    print(summary_table(run))
    if run["verifier"]:
        test = run["verifier"]["test"]["unsupported"]
        print(f"\nverifier (eval/support.jsonl, test split): unsupported precision {test['precision']:.3f}, "
              f"recall {test['recall']:.3f}")
    print(f"\nreport: {args.out / 'report.md'}  (data: {args.out / 'report.json'})")
    if run["generated_questions"]:
        print(f"note: {run['generated_questions']} of the {run['questions']} questions were generated by an LLM "
              "(python -m eval generate)")
    if "gates" not in run:
        return 0
    print(failures_text(run["gates"]))
    return 0 if all(g["passed"] for g in run["gates"]) else EXIT_GATE_FAILED


def main(argv: list[str] | None = None) -> int:
    from rag.cli import run_reporting_errors

    args = build_parser().parse_args(argv)
    return run_reporting_errors(lambda: evaluate_and_print(args))


if __name__ == "__main__":
    sys.exit(main())
