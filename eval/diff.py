"""`python -m eval diff OLD/report.json NEW/report.json`: what a change fixed and what it broke.

Per configuration present in both reports (or the one configuration of each, when both have one):
- the questions that got fixed or broken on three checks: the first relevant passage entering or
  leaving the top 5, the refusal decision becoming right or wrong, the keyword check passing or
  failing; with the old and new answers side by side;
- rank moves inside the top 5;
- every metric's delta with a paired bootstrap 95 % confidence interval (questions resampled with
  replacement, the same sample for old and new, fixed seed): a delta whose interval contains 0 is
  within the noise of this question set.
Markdown on stdout, and in `--out FILE`.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.dataset import EvalInputError  # noqa: E402

RESAMPLES = 2000
SEED = 0
RANK_DEPTH = 5
MIN_QUESTIONS = 10  # below this many questions behind a metric, no interval is trusted


# --- reading ------------------------------------------------------------------------------------
def load_report(path: Path) -> dict:
    """A report.json, or a report folder holding one."""
    if path.is_dir():
        path = path / "report.json"
    if not path.is_file():
        raise EvalInputError(f"report {path} does not exist")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EvalInputError(f"report {path} is not valid JSON ({exc})") from None
    if not isinstance(report, dict) or not isinstance(report.get("configs"), dict) or not report["configs"]:
        raise EvalInputError(f"report {path} has no configurations: is it a report.json of `python -m eval`?")
    report["path"] = str(path)
    return report


def pair_configs(old: dict, new: dict, only: str | None = None) -> list[tuple[str, str]]:
    if only is not None:
        missing = [side for side, r in (("old", old), ("new", new)) if only not in r["configs"]]
        if missing:
            raise EvalInputError(f"configuration {only!r} is not in the {' and '.join(missing)} report")
        return [(only, only)]
    common = [name for name in old["configs"] if name in new["configs"]]
    if common:
        return [(name, name) for name in common]
    if len(old["configs"]) == 1 and len(new["configs"]) == 1:
        return [(next(iter(old["configs"])), next(iter(new["configs"])))]
    raise EvalInputError(f"the reports share no configuration (old: {', '.join(old['configs'])}; new: "
                         f"{', '.join(new['configs'])}); choose one with --config")


# --- per question -------------------------------------------------------------------------------
def first_relevant_rank(record: dict) -> int | None:
    return next((h["rank"] for h in record.get("retrieved", []) if h.get("relevant")), None)


def refusal_right(record: dict) -> bool | None:
    if record.get("answer") is None or record.get("error"):
        return None
    return bool(record["refused"]) == (not record["answerable"])


def keyword_hit(record: dict) -> bool | None:
    value = record.get("scores", {}).get("keyword")
    return None if value is None else value >= 1.0


def _rank_text(rank: int | None) -> str:
    return f"rank {rank}" if rank else f"not in top {RANK_DEPTH}"


def _refusal_text(record: dict) -> str:
    if record["answerable"]:
        return "wrongly refused" if record["refused"] else "answered"
    return "refused" if record["refused"] else "answered an unanswerable question"


def question_changes(old: dict, new: dict) -> list[tuple[str, str, bool]]:
    """(check, "old → new", improved) for each check that flipped between the two runs."""
    changes = []
    if old["answerable"] and old.get("evidence"):
        before, after = first_relevant_rank(old), first_relevant_rank(new)
        if bool(before) != bool(after):
            changes.append(("retrieval", f"{_rank_text(before)} → {_rank_text(after)}", bool(after)))
    before, after = refusal_right(old), refusal_right(new)
    if before is not None and after is not None and before != after:
        changes.append(("refusal", f"{_refusal_text(old)} → {_refusal_text(new)}", after))
    before, after = keyword_hit(old), keyword_hit(new)
    if before is not None and after is not None and before != after:
        changes.append(("keyword", f"{'hit' if before else 'miss'} → {'hit' if after else 'miss'}", after))
    return changes


def rank_moves(pairs: list[tuple[dict, dict]]) -> list[tuple[dict, int, int]]:
    """Questions whose first relevant passage moved but stayed in the top 5."""
    moves = []
    for old, new in pairs:
        before, after = first_relevant_rank(old), first_relevant_rank(new)
        if before and after and before != after:
            moves.append((new, before, after))
    return moves


# --- metric deltas --------------------------------------------------------------------------------
def metric_values(records: list[dict], names: list[str]) -> dict[str, float | None]:
    from eval.scoring import summarize

    summary = summarize(records)
    return {name: summary.get(name) for name in names}


def bootstrap_deltas(pairs: list[tuple[dict, dict]], names: list[str], resamples: int = RESAMPLES,
                     seed: int = SEED) -> dict[str, dict]:
    """Paired bootstrap: resample question pairs, recompute each metric on both sides, take the
    2.5th and 97.5th percentiles of new - old. Ratio metrics (refusal precision) are recomputed,
    not averaged, so they get honest intervals too."""
    from eval.metrics import percentile

    old_records, new_records = [o for o, _ in pairs], [n for _, n in pairs]
    old_values, new_values = metric_values(old_records, names), metric_values(new_records, names)
    rng = random.Random(seed)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(resamples):
        picked = [pairs[rng.randrange(len(pairs))] for _ in pairs]
        before = metric_values([o for o, _ in picked], names)
        after = metric_values([n for _, n in picked], names)
        for name in names:
            if before[name] is not None and after[name] is not None:
                samples[name].append(after[name] - before[name])
    deltas = {}
    for name in names:
        old_v, new_v = old_values[name], new_values[name]
        if old_v is None or new_v is None:
            continue
        low, high = percentile(samples[name], 2.5), percentile(samples[name], 97.5)
        n = min(questions_behind(name, old_records), questions_behind(name, new_records))
        deltas[name] = {"old": old_v, "new": new_v, "delta": new_v - old_v, "ci_low": low, "ci_high": high, "n": n,
                        "significant": n >= MIN_QUESTIONS and low is not None and (low > 0 or high < 0)}
    return deltas


def questions_behind(metric: str, records: list[dict]) -> int:
    """How many questions a metric is computed from (refusal metrics: their denominators)."""
    answered = [r for r in records if r.get("answer") is not None and not r.get("error")]
    if metric == "refusal_recall":
        return sum(not r["answerable"] for r in answered)
    if metric == "refusal_precision":
        return sum(bool(r["refused"]) for r in answered)
    if metric == "false_refusal_rate":
        return sum(bool(r["answerable"]) for r in answered)
    if metric.endswith(("_p50", "_p95")):
        return len(records)
    return sum(1 for r in records if r.get("scores", {}).get(metric) is not None)


def compared_metrics(old_summary: dict, new_summary: dict) -> list[str]:
    from eval.gates import KNOWN_METRICS

    return [m for m in KNOWN_METRICS if m != "errors" and old_summary.get(m) is not None
            and new_summary.get(m) is not None]


# --- one configuration pair -----------------------------------------------------------------------
def diff_config(old_config: dict, new_config: dict, resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    new_by_id = {r["id"]: r for r in new_config["records"]}
    pairs = [(r, new_by_id[r["id"]]) for r in old_config["records"] if r["id"] in new_by_id]
    if not pairs:
        raise EvalInputError("the two reports have no question id in common")
    fixed, broken, mixed = [], [], []
    for old, new in pairs:
        changes = question_changes(old, new)
        if not changes:
            continue
        improved = {better for _, _, better in changes}
        (fixed if improved == {True} else broken if improved == {False} else mixed).append((old, new, changes))
    names = compared_metrics(old_config["summary"], new_config["summary"])
    return {"pairs": len(pairs), "resamples": resamples, "only_old": len(old_config["records"]) - len(pairs),
            "only_new": len(new_config["records"]) - len(pairs), "fixed": fixed, "broken": broken, "mixed": mixed,
            "moves": rank_moves(pairs), "deltas": bootstrap_deltas(pairs, names, resamples, seed)}


# --- markdown -------------------------------------------------------------------------------------
def _clip(text: str | None, n: int = 600) -> str:
    text = " ".join((text or "").split()).replace("|", "\\|")
    return text if len(text) <= n else text[: n - 1] + "…"


def _num(value: float | None, signed: bool = False) -> str:
    return "–" if value is None else f"{value:+.3f}" if signed else f"{value:.3f}"


def _verdict(name: str, d: dict) -> str:
    if d["n"] < MIN_QUESTIONS:
        return f"too few questions (n={d['n']})"
    if not d["significant"]:
        return "noise"
    return "better" if _improved(name, d["delta"]) else "worse"


def delta_table(deltas: dict[str, dict], n: int, resamples: int) -> list[str]:
    lines = [f"Paired bootstrap over the {n} common questions ({resamples} resamples, fixed seed): a change whose "
             f"95 % interval contains 0 is within the noise of this question set; n is the questions behind a "
             f"metric (fewer than {MIN_QUESTIONS}: no verdict).", "",
             "| metric | n | old | new | change | 95 % CI | verdict |", "|---|---:|---:|---:|---:|---|---|"]
    for name, d in deltas.items():
        lines.append(f"| {name} | {d['n']} | {_num(d['old'])} | {_num(d['new'])} | {_num(d['delta'], True)} | "
                     f"[{_num(d['ci_low'], True)}, {_num(d['ci_high'], True)}] | {_verdict(name, d)} |")
    return lines + [""]


def _improved(metric: str, delta: float) -> bool:
    from eval.gates import lower_is_better

    return delta < 0 if lower_is_better(metric) else delta > 0


def question_block(old: dict, new: dict, changes: list[tuple[str, str, bool]]) -> list[str]:
    lines = [f"#### {old['id']}: {_clip(old['question'], 200)}", "",
             "- " + "; ".join(f"{check}: {text}" for check, text, _ in changes)]
    if old.get("gold_answer"):
        lines.append(f"- gold: {_clip(old['gold_answer'], 200)}")
    if old.get("answer") is not None or new.get("answer") is not None:
        lines += ["", "| old answer | new answer |", "|---|---|",
                  f"| {_clip(old.get('answer')) or '–'} | {_clip(new.get('answer')) or '–'} |"]
    return lines + [""]


def config_markdown(title: str, d: dict) -> list[str]:
    lines = [f"## {title}", "", f"{d['pairs']} questions in both reports"
             + (f" ({d['only_old']} only in the old, {d['only_new']} only in the new)" if d["only_old"] or d["only_new"] else "")
             + f": {len(d['fixed'])} fixed, {len(d['broken'])} broken, {len(d['mixed'])} mixed, "
             f"{len(d['moves'])} rank moves inside the top {RANK_DEPTH}.", "", "### Metrics", ""]
    lines += delta_table(d["deltas"], d["pairs"], d["resamples"])
    for heading, items in (("Fixed", d["fixed"]), ("Broken", d["broken"]), ("Mixed (some checks better, some worse)", d["mixed"])):
        if items:
            lines += [f"### {heading} ({len(items)})", ""]
            for old, new, changes in items:
                lines += question_block(old, new, changes)
    if d["moves"]:
        lines += [f"### Rank moves inside the top {RANK_DEPTH} ({len(d['moves'])})", "",
                  "| question | old rank | new rank |", "|---|---:|---:|"]
        lines += [f"| {r['id']}: {_clip(r['question'], 120)} | {before} | {after} |" for r, before, after in d["moves"]]
        lines.append("")
    return lines


def _describe(report: dict) -> str:
    llm = "retrieval only" if report.get("retrieval_only") else f"llm {report.get('llm')}"
    return f"`{report['path']}` ({report.get('questions', '?')} questions from `{report.get('questions_file', '?')}`, {llm})"


def markdown(old: dict, new: dict, only: str | None = None, resamples: int = RESAMPLES, seed: int = SEED) -> str:
    lines = ["# Evaluation diff", "", f"- old: {_describe(old)}", f"- new: {_describe(new)}", ""]
    for old_name, new_name in pair_configs(old, new, only):
        d = diff_config(old["configs"][old_name], new["configs"][new_name], resamples, seed)
        lines += config_markdown(old_name if old_name == new_name else f"{old_name} → {new_name}", d)
    return "\n".join(lines) + "\n"


# --- command line ---------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m eval diff",
        description="Compare two evaluation reports: questions fixed and broken (retrieval, refusal, keyword), "
                    "answers side by side, metric changes with paired bootstrap 95%% confidence intervals.")
    p.add_argument("old", type=Path, help="the earlier report.json (or its folder)")
    p.add_argument("new", type=Path, help="the later report.json (or its folder)")
    p.add_argument("--out", type=Path, help="also write the Markdown to this file")
    p.add_argument("--config", help="compare only this configuration (default: every one in both reports)")
    p.add_argument("--resamples", type=int, default=RESAMPLES, help=f"bootstrap resamples (default {RESAMPLES})")
    return p


def run_diff(args: argparse.Namespace) -> int:
    if args.resamples < 100:
        raise EvalInputError("--resamples must be at least 100")
    text = markdown(load_report(args.old), load_report(args.new), args.config, args.resamples)
    print(text, end="")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    from rag.cli import run_reporting_errors

    args = build_parser().parse_args(argv)
    return run_reporting_errors(lambda: run_diff(args))


if __name__ == "__main__":
    sys.exit(main())
