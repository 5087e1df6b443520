"""The indexes an evaluation run searches: the configured one, one for --corpus or a BEIR set's corpus,
and one per chunking override (built under the output folder; the default index is never touched)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rag.config import Settings

from eval.configs import EvalConfig
from eval.dataset import EvalInputError


def base_settings(args: argparse.Namespace) -> Settings:
    from rag.config import load_settings

    settings = load_settings().replace(llm=args.llm)
    if args.corpus is not None:
        if not args.corpus.is_dir():
            raise EvalInputError(f"corpus folder {args.corpus} does not exist")
        settings = settings.replace(corpus_dir=args.corpus, index_dir=args.index or args.out / "index")
    return settings


def corpus_of_question_set(args: argparse.Namespace, question_set) -> Path | None:
    """--corpus, else the folder a BEIR set brings (its corpus.jsonl written out as files under --out)."""
    from eval.formats import write_corpus_files

    if args.corpus is not None:
        return args.corpus
    if question_set.corpus is not None:
        return question_set.corpus
    if question_set.corpus_jsonl is not None:
        return write_corpus_files(question_set.corpus_jsonl, args.out / "beir-corpus")
    return None


def index_settings(base: Settings, config: EvalConfig, out: Path) -> Settings:
    """The settings whose index serves `config`: the base index unless chunking is overridden."""
    chunking = config.index_overrides()
    if not chunking or all(getattr(base, k) == v for k, v in chunking.items()):
        return base
    s = base.replace(**chunking)
    return s.replace(index_dir=out / "index-variants" / f"cs{s.chunk_size}-ov{s.chunk_overlap}")


def ensure_index(settings: Settings, quiet: bool) -> None:
    """Incremental ingest: unchanged files are skipped, so an existing index costs seconds."""
    from rag.ingest import ingest

    report = ingest(settings, show_progress=not quiet)
    for source, reason in report.failed.items():
        print(f"warning: skipped {source}: {reason}", file=sys.stderr)
    if report.chunks_total == 0:
        raise EvalInputError(f"nothing was indexed from {settings.corpus_dir}")
    if report.chunks_added:
        print(f"index {settings.index_dir}: {report.summary()}", file=sys.stderr)


def relevance_judge(settings: Settings):
    from rag.store import Store

    from eval.metrics import RelevanceJudge

    return RelevanceJudge([(cid, text) for cid, text, _ in Store(settings).all_chunks()])

