"""`python -m eval.external` (`make eval-external`): question sets nobody on the project wrote.

Every set is built from a Debian package (fetched with `apt-get download`, unpacked with `dpkg -x`,
cached), questions from a FAQ's headings and their answers as gold evidence, the headings removed
from the indexed text (otherwise a question would find its own heading verbatim):
- perlfaq (perl-doc): every `=head2` question of perlfaq1-9; corpus perlfaq1-9 as plain text plus
  a fixed set of other perl pages as distractors (code-heavy POD);
- debian-faq, privoxy-faq (eval.htmlfaq): HTML FAQs (prose), indexed as HTML, with other
  documentation on the same subjects as distractors.
Then a retrieval-only evaluation (eval.run) of each set, and one table: set x configuration, with the
average over the sets, which is what defaults are tuned on (never one set).
Each set's index is cached beside its download, so a second run only re-runs the queries.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval import debpkg, htmlfaq, pod  # noqa: E402
from eval.dataset import EvalInputError, Question, write_questions  # noqa: E402

SETS = ("perlfaq", *htmlfaq.SETS)
TABLE_METRICS = (("hit@1", "hit@1"), ("hit@3", "hit@3"), ("hit@5", "hit@5"), ("mrr", "MRR@5"))
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
# The fusion grid `--sweep` scores on every set; defaults are chosen on the average over the sets.
SWEEP = ",".join(["dense", "bm25"]
                 + [f"hybrid:fusion_alpha={a}" for a in (0.6, 0.7, 0.75, 0.8, 0.85, 0.9)]
                 + [f"hybrid:fusion=rrf:rrf_k={k}:dense_weight={w}" for k in (5, 10, 20, 60) for w in (1.0, 1.5, 2.0, 3.0)]
                 + [f"hybrid:candidates={n}" for n in (20, 50)]
                 + [f"hybrid:duplicate_cosine={c}" for c in (1.0, 0.95, 0.9)])
MIN_ANSWER_CHARS = 100  # shorter answers are cross-references ("See perlfaq5"), not answers
GOLD_ANSWER_CHARS = 400
# "(contributed by brian d foy)" heads dozens of answers: as evidence it would make every chunk that
# carries it "relevant" to every such question, so it stays in the corpus but out of the evidence.
CREDIT = re.compile(r"^\(contributed by [^)]*\)$", re.IGNORECASE)


# --- fetching -----------------------------------------------------------------------------------
def debian_package(package: str, cache: Path, inside: str) -> Path:
    """The folder matching the glob `inside` of a Debian package (eval.debpkg: downloaded with
    apt-get and unpacked with dpkg once into `cache`)."""
    found = sorted(debpkg.unpacked(package, cache).glob(inside))
    if not found:
        raise EvalInputError(f"no {inside} folder in the {package} package")
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


def build_set(name: str, cache: Path, distractors: int | None) -> tuple[Path, Path, int]:
    """Corpus folder, question file and page count of one set, built under cache/NAME."""
    if name == "perlfaq":
        return build(cache / name, len(DISTRACTORS) if distractors is None else distractors)
    if name not in htmlfaq.SETS:
        raise EvalInputError(f"unknown question set {name!r}; the sets are {', '.join(SETS)}")
    return htmlfaq.build(htmlfaq.SETS[name], cache / name, distractors)


def parse_sets(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SETS]
    if unknown or not names:
        raise EvalInputError(f"--sets: unknown set(s) {', '.join(unknown) or '(none)'}; use some of {', '.join(SETS)}")
    return names


def evaluate_set(name: str, args: argparse.Namespace, corpus: Path, questions: Path, configs: str) -> dict:
    """One set through eval.run (its report under OUT/NAME); returns eval.run's run dict."""
    from eval import run

    forwarded = ["--questions", str(questions), "--corpus", str(corpus), "--index", str(args.cache / name / "index"),
                 "--out", str(args.out / name), "--configs", configs, "--retrieval-only"]
    forwarded += ["--cache-query-embeddings"] if args.sweep else []
    forwarded += ["--limit", str(args.limit)] if args.limit else []
    forwarded += ["--quiet"] if args.quiet else []
    return run.evaluate(run.build_parser().parse_args(forwarded))


def combined_table(results: dict[str, dict]) -> str:
    """One row per set and configuration, then the average over the sets per configuration."""
    configs = list(next(iter(results.values()))["configs"]) if results else []
    width = max([len(c) for c in configs] + [13])
    head = f"{'set':<12} {'configuration':<{width}} {'questions':>9} " + " ".join(f"{t:>7}" for _, t in TABLE_METRICS)
    lines = [head, "-" * len(head)]
    for name, run in results.items():
        for config, c in run["configs"].items():
            s = c["summary"]
            lines.append(f"{name:<12} {config:<{width}} {s['questions']:>9} "
                         + " ".join(f"{s.get(k, 0.0):>7.3f}" for k, _ in TABLE_METRICS))
    if len(results) > 1:
        lines.append("-" * len(head))
        for config in configs:
            means = [sum(r["configs"][config]["summary"].get(k, 0.0) for r in results.values()) / len(results)
                     for k, _ in TABLE_METRICS]
            lines.append(f"{'average':<12} {config:<{width}} {'':>9} " + " ".join(f"{m:>7.3f}" for m in means))
    return "\n".join(lines)


def hit_mrr_cells(cells: list[tuple[float, float]]) -> str:
    """Markdown cells "hit@5 / MRR@5", one per set, then their average (eval.windows, eval.hyde)."""
    average = (sum(c[0] for c in cells) / len(cells), sum(c[1] for c in cells) / len(cells))
    return " | ".join(f"{h:.3f} / {m:.3f}" for h, m in cells + [average])


# --- command line -------------------------------------------------------------------------------
def add_set_arguments(p: argparse.ArgumentParser) -> None:
    """--cache and --sets, for the measurements that read the sets' built indexes (eval.windows, eval.fusion)."""
    p.add_argument("--cache", type=Path, default=Path(".cache"), help="eval.external's cache folder (default: .cache)")
    p.add_argument("--sets", default=",".join(SETS), help=f"comma-separated sets (default: {','.join(SETS)})")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m eval.external",
        description="Build question sets from Debian packages' FAQs (questions: the FAQ headings; evidence: "
                    "their answers; corpus: the FAQ without the headings plus related documentation) and "
                    "run a retrieval-only evaluation over each; prints one table, set x configuration.")
    p.add_argument("--sets", default=",".join(SETS), help=f"comma-separated sets (default: {','.join(SETS)})")
    p.add_argument("--cache", type=Path, default=Path(".cache"),
                   help="folder with one subfolder per set: download, corpus, question file, index (default: .cache)")
    p.add_argument("--out", type=Path, default=Path("eval/out/external"),
                   help="report folder, one subfolder per set (default: eval/out/external)")
    p.add_argument("--configs", default="dense,bm25,hybrid", help="as for python -m eval (default: dense,bm25,hybrid)")
    p.add_argument("--distractors", type=int,
                   help="how many distractor pages per set (default all; perlfaq has "
                        f"{len(DISTRACTORS)})")
    p.add_argument("--limit", type=int, help="evaluate only the first N questions of each set")
    p.add_argument("--sweep", action="store_true",
                   help="tuning sweep instead: hybrid with several fusion_alpha, rrf_k (rank fusion) and candidates values "
                        "(query embeddings cached, so latency figures are not meaningful)")
    p.add_argument("--build-only", action="store_true", help="write the corpora and question files, do not evaluate")
    p.add_argument("--quiet", action="store_true")
    return p


def run_sets(args: argparse.Namespace) -> int:
    built = {}
    for name in parse_sets(args.sets):
        corpus, questions, pages = build_set(name, args.cache, None if args.distractors is None else max(0, args.distractors))
        count = sum(1 for _ in questions.open(encoding="utf-8"))
        print(f"{name}: {count} questions in {questions}; corpus {corpus} ({pages} pages)", file=sys.stderr)
        built[name] = (corpus, questions)
    if args.build_only:
        return 0
    configs = SWEEP if args.sweep else args.configs
    if args.sweep:
        args.out = args.out.with_name(args.out.name + "-sweep")
    results = {name: evaluate_set(name, args, corpus, questions, configs) for name, (corpus, questions) in built.items()}
    table = combined_table(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.txt").write_text(table + "\n", encoding="utf-8")
    print(table)
    print(f"\nreports: {args.out}/SET/report.md  (table: {args.out / 'summary.txt'})")
    return 0


def main(argv: list[str] | None = None) -> int:
    from rag.cli import run_reporting_errors

    args = build_parser().parse_args(argv)
    return run_reporting_errors(lambda: run_sets(args))


if __name__ == "__main__":
    sys.exit(main())
