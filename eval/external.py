"""`python -m eval.external` (`make eval-external`): a question set nobody on the project wrote.

From Debian's perl-doc package (fetched with `apt-get download`, unpacked with `dpkg -x`, cached):
- every `=head2` question of perlfaq1-9 becomes a question, its answer text the gold evidence;
- the corpus is perlfaq1-9 *with the question headings removed* (otherwise a question would find
  its own heading verbatim and retrieval would be trivial) plus a fixed set of other perl pages as
  distractors, all converted to plain text;
- then a retrieval-only evaluation of dense, BM25 and hybrid runs over it (eval.run).
The index is cached beside the download, so a second run only re-runs the queries.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval import pod  # noqa: E402
from eval.dataset import EvalInputError, Question, write_questions  # noqa: E402

PACKAGE = "perl-doc"
FAQS = [f"perlfaq{n}" for n in range(1, 10)]
# Distractors: other perl pages on the same subjects as the FAQ (about 0.8 MB of POD), small enough
# that the whole corpus embeds in a few minutes on 2 cores. perlfaq.pod and perltoc.pod list every
# FAQ question verbatim, so they are never included.
DISTRACTORS = ["perlcheat", "perlnumber", "perlstyle", "perllol", "perlmodinstall", "perltrap", "perlnewmod",
               "perlfork", "perlunifaq", "perlopentut", "perlreref", "perlform", "perlreftut", "perlrequick",
               "perlintro", "perlpod", "perlmod", "perldsc", "perlootut", "perlsec", "perlrebackslash", "perlref",
               "perlobj", "perluniintro", "perldebug", "perlrecharclass", "perlperf", "perlpacktut", "perldata",
               "perlsyn", "perlrun"]
SWEEP = ",".join(["dense", "bm25"] + [f"hybrid:rrf_k={k}" for k in (5, 20, 60, 120)]
                 + [f"hybrid:candidates={n}" for n in (10, 60, 100)])
MIN_ANSWER_CHARS = 100  # shorter answers are cross-references ("See perlfaq5"), not answers
GOLD_ANSWER_CHARS = 400
# "(contributed by brian d foy)" heads dozens of answers: as evidence it would make every chunk that
# carries it "relevant" to every such question, so it stays in the corpus but out of the evidence.
CREDIT = re.compile(r"^\(contributed by [^)]*\)$", re.IGNORECASE)


# --- fetching -----------------------------------------------------------------------------------
def _run(cmd: list[str], cwd: Path) -> None:
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise EvalInputError(f"`{cmd[0]}` is not available: this step needs a Debian system (apt/dpkg)") from None
    if done.returncode != 0:
        raise EvalInputError(f"`{' '.join(cmd)}` failed: {done.stderr.strip()[-400:]}")


def debian_package(package: str, cache: Path, inside: str) -> Path:
    """The folder matching the glob `inside` of a Debian package, downloaded with apt-get and
    unpacked with dpkg once into `cache`; later calls reuse the unpacked tree."""
    unpacked = cache / "unpacked"
    found = sorted(unpacked.glob(inside))
    if found:
        return found[-1]
    cache.mkdir(parents=True, exist_ok=True)
    debs = sorted(cache.glob(f"{package}_*.deb"))
    if not debs:
        _run(["apt-get", "download", package], cache)
        debs = sorted(cache.glob(f"{package}_*.deb"))
    if not debs:
        raise EvalInputError(f"apt-get download {package} produced no .deb in {cache}")
    _run(["dpkg", "-x", str(debs[-1].resolve()), str(unpacked.resolve())], cache)
    found = sorted(unpacked.glob(inside))
    if not found:
        raise EvalInputError(f"no {inside} folder in {debs[-1].name}")
    return found[-1]


def pod_dir(cache: Path) -> Path:
    """perl-doc's pod folder."""
    return debian_package(PACKAGE, cache, "usr/share/perl/*/pod")


# --- building the set ---------------------------------------------------------------------------
def faq_page(blocks: list[pod.Block], page: str) -> tuple[str, list[Question]]:
    """The page's text without its question headings, and one question per heading."""
    kept: list[pod.Block] = []
    questions: list[Question] = []
    current: tuple[str, list[pod.Block]] | None = None

    def close():
        if current is None:
            return
        heading, answer_blocks = current
        answer = pod.render([b for b in answer_blocks if not CREDIT.match(b.text)]).strip()
        if len(answer) >= MIN_ANSWER_CHARS and heading:
            questions.append(Question(id=f"{page}-{len(questions) + 1:03d}", question=heading,
                                      answer=_gold(answer_blocks), evidence=[answer]))

    for b in blocks:
        if b.kind in ("head1", "head2"):
            close()
            current = (b.text, []) if b.kind == "head2" else None
            if b.kind == "head2":
                continue  # the question heading stays out of the indexed text
        elif current is not None:
            current[1].append(b)
        kept.append(b)
    close()
    return pod.render(kept), questions


def _gold(answer_blocks: list[pod.Block]) -> str:
    """A short reference answer: the first prose paragraph(s) of the FAQ answer."""
    prose = " ".join(b.text for b in answer_blocks if b.kind == "text" and not CREDIT.match(b.text))
    return prose[:GOLD_ANSWER_CHARS].rsplit(" ", 1)[0] if len(prose) > GOLD_ANSWER_CHARS else prose


def build(cache: Path, distractors: int) -> tuple[Path, Path, int]:
    """Writes cache/corpus/*.txt and cache/questions.jsonl; returns their paths and the page count."""
    source = pod_dir(cache)
    corpus = cache / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)  # rewritten identically: ingest sees unchanged hashes
    corpus.mkdir(parents=True)
    questions: list[Question] = []
    for page in FAQS:
        blocks = pod.blocks((source / f"{page}.pod").read_text(encoding="utf-8"))
        text, found = faq_page(blocks, page)
        (corpus / f"{page}.txt").write_text(text, encoding="utf-8")
        questions += found
    pages = DISTRACTORS[:distractors]
    for page in pages:
        path = source / f"{page}.pod"
        if path.is_file():
            (corpus / f"{page}.txt").write_text(pod.render(pod.blocks(path.read_text(encoding="utf-8"))), encoding="utf-8")
    questions_file = cache / "questions.jsonl"
    write_questions(questions_file, questions)
    return corpus, questions_file, len(FAQS) + len(pages)


# --- command line -------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m eval.external",
        description="Build the perlfaq question set from Debian's perl-doc package and run a retrieval-only "
                    "evaluation over it (questions: perlfaq =head2 headings; evidence: their answers; corpus: "
                    "perlfaq without the headings plus other perl pages).")
    p.add_argument("--cache", type=Path, default=Path(".cache/perlfaq"),
                   help="download, corpus, question file and index (default: .cache/perlfaq)")
    p.add_argument("--out", type=Path, default=Path("eval/out/external"), help="report folder (default: eval/out/external)")
    p.add_argument("--configs", default="dense,bm25,hybrid", help="as for python -m eval (default: dense,bm25,hybrid)")
    p.add_argument("--distractors", type=int, default=len(DISTRACTORS),
                   help=f"how many non-FAQ perl pages to add to the corpus (0-{len(DISTRACTORS)}, default all)")
    p.add_argument("--limit", type=int, help="evaluate only the first N questions")
    p.add_argument("--sweep", action="store_true",
                   help="tuning sweep instead: hybrid with several rrf_k and candidates values "
                        "(query embeddings cached, so latency figures are not meaningful)")
    p.add_argument("--build-only", action="store_true", help="write the corpus and question file, do not evaluate")
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    from rag.cli import run_reporting_errors

    args = build_parser().parse_args(argv)
    return run_reporting_errors(lambda: build_and_evaluate(args))


def build_and_evaluate(args: argparse.Namespace) -> int:
    corpus, questions, pages = build(args.cache, max(0, args.distractors))
    count = sum(1 for _ in questions.open(encoding="utf-8"))
    print(f"perlfaq set: {count} questions in {questions}; corpus {corpus} ({pages} pages)", file=sys.stderr)
    if args.build_only:
        return 0
    from eval import run

    configs, out = (SWEEP, args.out.with_name(args.out.name + "-sweep")) if args.sweep else (args.configs, args.out)
    forwarded = ["--questions", str(questions), "--corpus", str(corpus), "--index", str(args.cache / "index"),
                 "--out", str(out), "--configs", configs, "--retrieval-only"]
    forwarded += ["--cache-query-embeddings"] if args.sweep else []
    forwarded += ["--limit", str(args.limit)] if args.limit else []
    forwarded += ["--quiet"] if args.quiet else []
    return run.main(forwarded)


if __name__ == "__main__":
    sys.exit(main())
