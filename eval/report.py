"""Writing an evaluation run: report.json (everything), report.md (tables, comparison, worst
failures) and PNG plots (hit@k per configuration, latency distribution)."""
from __future__ import annotations

import json
from pathlib import Path

from eval.scoring import failure_weight

# (summary key, column title) in the order tables show them; absent metrics are left out.
RETRIEVAL_COLUMNS = [("hit@1", "hit@1"), ("hit@3", "hit@3"), ("hit@5", "hit@5"), ("mrr", "MRR"), ("ndcg@5", "nDCG@5"),
                     ("evidence_recall@5", "evidence recall@5")]
ANSWER_COLUMNS = [("keyword", "keyword acc."), ("token_f1", "token F1"), ("semantic", "semantic sim."),
                  ("citation_validity", "citation validity"), ("support_rate", "support rate"),
                  ("refusal_precision", "refusal P"), ("refusal_recall", "refusal R"),
                  ("false_refusal_rate", "false refusals"), ("rewrite", "follow-ups resolved")]
LATENCY_COLUMNS = [("retrieve_s_p50", "retrieve p50"), ("retrieve_s_p95", "retrieve p95"),
                   ("first_token_s_p50", "1st token p50"), ("first_token_s_p95", "1st token p95"),
                   ("total_s_p50", "total p50"), ("total_s_p95", "total p95")]
WORST = 8
PLOTS = ("hit_at_k.png", "latency.png")


def write_all(run: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(run, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    plot_hit_at_k(run, out / PLOTS[0])
    plot_latency(run, out / PLOTS[1])
    (out / "report.md").write_text(markdown(run), encoding="utf-8")


# --- tables -------------------------------------------------------------------------------------
def _fmt(value, seconds: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.0f} ms" if seconds and value < 1 else f"{value:.2f} s" if seconds else f"{value:.3f}"


def _columns(run: dict, columns: list[tuple[str, str]]) -> list[tuple[str, str]]:
    summaries = [c["summary"] for c in run["configs"].values()]
    return [(key, title) for key, title in columns if any(s.get(key) is not None for s in summaries)]


def table(run: dict, columns: list[tuple[str, str]], sep: str = "|") -> str:
    """A Markdown table: one row per configuration, best value of each column in bold."""
    cols = _columns(run, columns)
    if not cols:
        return ""
    lower_is_better = {k for k, _ in cols if k.endswith(("_p50", "_p95")) or k == "false_refusal_rate"}
    rows = {name: c["summary"] for name, c in run["configs"].items()}
    best = {}
    for key, _ in cols:
        values = [s[key] for s in rows.values() if s.get(key) is not None]
        if len(rows) > 1 and values:
            best[key] = min(values) if key in lower_is_better else max(values)
    lines = ["| configuration | " + " | ".join(t for _, t in cols) + " |",
             "|---|" + "---:|" * len(cols)]
    for name, s in rows.items():
        cells = []
        for key, _ in cols:
            text = _fmt(s.get(key), seconds=key in lower_is_better and key != "false_refusal_rate")
            cells.append(f"**{text}**" if key in best and s.get(key) == best[key] else text)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_table(run: dict) -> str:
    """Plain-text table for the terminal."""
    keys = [k for k, _ in _columns(run, RETRIEVAL_COLUMNS + ANSWER_COLUMNS[:3] + ANSWER_COLUMNS[5:]
                                   + [LATENCY_COLUMNS[0], LATENCY_COLUMNS[4], LATENCY_COLUMNS[5]])]
    short = {"evidence_recall@5": "evRec@5", "citation_validity": "cit.ok", "refusal_precision": "refP", "refusal_recall": "refR",
             "false_refusal_rate": "falseRef", "retrieve_s_p50": "ret p50 s", "total_s_p50": "tot p50 s",
             "total_s_p95": "tot p95 s", "token_f1": "F1", "semantic": "sim", "keyword": "kw", "rewrite": "resolved"}
    width = max([len(n) for n in run["configs"]] + [13])
    head = f"{'configuration':<{width}} " + " ".join(f"{short.get(k, k):>9}" for k in keys)
    lines = [head, "-" * len(head)]
    for name, c in run["configs"].items():
        s = c["summary"]
        lines.append(f"{name:<{width}} " + " ".join(f"{_fmt(s.get(k)):>9}" for k in keys))
    return "\n".join(lines)


# --- markdown -----------------------------------------------------------------------------------
BREAKDOWN = [("hit@3", "hit@3"), ("mrr", "MRR"), ("keyword", "keyword acc."), ("token_f1", "token F1")]


def kind_breakdown(run: dict) -> list[str]:
    """Per question kind (when the file labels them): where a configuration wins or loses."""
    from eval.metrics import mean

    kinds = sorted({r.get("kind") for c in run["configs"].values() for r in c["records"]} - {"", None})
    if not kinds:
        return []
    lines = ["## By question kind", "",
             "| kind | configuration | questions | " + " | ".join(t for _, t in BREAKDOWN) + " | refused |",
             "|---|---|---:|" + "---:|" * (len(BREAKDOWN) + 1)]
    for kind in kinds:
        for name, c in run["configs"].items():
            records = [r for r in c["records"] if r.get("kind") == kind]
            cells = [_fmt(mean(r["scores"].get(key) for r in records)) for key, _ in BREAKDOWN]
            refused = [r["refused"] for r in records if r.get("refused") is not None]
            cells.append(f"{sum(refused)}/{len(refused)}" if refused else "–")
            lines.append(f"| {kind} | {name} | {len(records)} | " + " | ".join(cells) + " |")
    return lines + [""]


def refusal_reasons(run: dict) -> list[str]:
    """Which check refused, split by whether the question had an answer: a false refusal's check is
    the one to look at first."""
    rows: dict[tuple[str, str], list[int]] = {}
    for name, c in run["configs"].items():
        for r in c["records"]:
            if r.get("refused"):
                counts = rows.setdefault((name, r.get("refusal_reason") or "(not recorded)"), [0, 0])
                counts[0 if r["answerable"] else 1] += 1
    if not rows:
        return []
    lines = ["## Why questions were refused", "",
             "| configuration | check that refused | answerable (false refusals) | unanswerable |", "|---|---|---:|---:|"]
    for (name, reason), (answerable, unanswerable) in sorted(rows.items(), key=lambda kv: (kv[0][0], -sum(kv[1]))):
        lines.append(f"| {name} | {_clip(reason, 120)} | {answerable} | {unanswerable} |")
    return lines + [""]


def _clip(text: str | None, n: int = 160) -> str:
    text = " ".join((text or "").split()).replace("|", "\\|")
    return text if len(text) <= n else text[: n - 1] + "…"


def worst_failures(run: dict, n: int = WORST) -> list[dict]:
    records = [r for c in run["configs"].values() for r in c["records"]]
    ranked = sorted(records, key=failure_weight, reverse=True)
    return [r for r in ranked if failure_weight(r) > 0][:n]


def _failure_lines(r: dict) -> list[str]:
    first_relevant = next((h["rank"] for h in r["retrieved"] if h["relevant"]), None)
    lines = [f"### {r['id']} ({r['config']}): {_clip(r['question'], 200)}", ""]
    if r["history"]:
        lines.append(f"- conversation so far: {_clip(' / '.join(r['history']), 200)}")
    if r["standalone_question"] and r["standalone_question"] != r["question"]:
        lines.append(f"- searched as: {_clip(r['standalone_question'], 200)}")
    lines.append(f"- answerable: {r['answerable']}; gold: {_clip(r['gold_answer']) or '–'}")
    if r["error"]:
        lines.append(f"- error: {_clip(r['error'])}")
    if r["answerable"] and r["evidence"]:
        lines.append(f"- first relevant passage at rank: {first_relevant or 'not in top 5'} "
                     f"({r['relevant_in_index']} relevant chunk(s) in the index)")
    if r["answer"] is not None:
        lines.append(f"- answer{' (refused)' if r['refused'] else ''}: {_clip(r['answer'], 300)}")
    if r.get("refusal_reason"):
        lines.append(f"- refused because {r['refusal_reason']}")
    if r.get("draft") and r["draft"].strip() != (r["answer"] or "").strip():
        lines.append(f"- the generator wrote: {_clip(r['draft'], 300)}")
    top = r["retrieved"][0] if r["retrieved"] else None
    if top:
        lines.append(f"- top passage: {top['source']} — {_clip(top['text'], 200)}")
    return lines + [""]


def questions_origin(run: dict) -> str:
    """The file's format when it is not ours ('; RAGAS format'), and how many questions were generated."""
    fmt = run.get("questions_format", "native")
    origin = "" if fmt == "native" else f"; {fmt.upper()} format"
    generated = run.get("generated_questions")
    if generated:
        origin += f"; {generated} generated by an LLM (`python -m eval generate`), checked but not reviewed by a person"
    return origin


def answering(run: dict) -> str:
    """The backend, or one per configuration when configurations set their own (llm=...)."""
    if run["retrieval_only"]:
        return "not run (--retrieval-only)"
    llms = {name: c.get("llm") or run["llm"] for name, c in run["configs"].items()}
    if len(set(llms.values())) == 1:
        return str(next(iter(llms.values())))
    return "per configuration: " + ", ".join(f"{name} → {llm}" for name, llm in llms.items())


def markdown(run: dict) -> str:
    first = next(iter(run["configs"].values()))["summary"]
    parts = [
        "# Evaluation report", "",
        f"- questions: {run['questions']} from `{run['questions_file']}` ({first['answerable']} answerable"
        f"{questions_origin(run)})",
        f"- corpus: `{run['corpus']}`, index `{run['index']}`",
        f"- answering: {answering(run)}",
        f"- settings: " + ", ".join(f"{k}={v}" for k, v in run["settings"].items()),
        f"- wall time: {run['seconds']} s", "",
        *gate_lines(run),
        "## Retrieval (answerable questions with evidence)", "",
        "A passage is relevant when, lower-cased and whitespace-collapsed, it contains an evidence string "
        "or a run of at least 50 characters of one. nDCG@5 counts every relevant chunk in the index (a long "
        "answer spread over many chunks lowers the ideal). Evidence recall@5: share of a question's evidence "
        "strings found in the top 5 (matters for questions needing several passages). Best value per column "
        "in bold.", "",
        table(run, RETRIEVAL_COLUMNS), "",
        "![hit@k](hit_at_k.png)", "",
    ]
    answers = table(run, ANSWER_COLUMNS)
    if answers:
        parts += ["## Answers, citations, refusals", "",
                  "Keyword accuracy, token F1 and semantic similarity are against the gold answer of answerable "
                  "questions (a refusal scores 0). Refusal P/R treat *unanswerable* as the positive class; "
                  "false refusals are the share of answerable questions refused.", "",
                  answers, ""]
    parts += verifier_lines(run)
    parts += kind_breakdown(run)
    parts += refusal_reasons(run)
    parts += ["## Latency", "", table(run, LATENCY_COLUMNS), "", "![latency](latency.png)", "",
              "## Configurations", ""]
    for name, c in run["configs"].items():
        s = c["summary"]
        parts.append(f"- **{name}**: {json.dumps(c['config'])}; {s['questions']} questions, {s['errors']} errors")
    parts += ["", f"## Worst failures (up to {WORST})", ""]
    failures = worst_failures(run)
    if not failures:
        parts.append("None.")
    for r in failures:
        parts += _failure_lines(r)
    return "\n".join(parts) + "\n"


def verifier_lines(run: dict) -> list[str]:
    """The sentence verifier measured on eval/support.jsonl (labelled sentence/passage pairs)."""
    v = run.get("verifier")
    if not v:
        return []
    lines = ["## Answer verifier (eval/support.jsonl)", "",
             "Positive class: a sentence its passage does not support / an answer that does not answer the "
             "question. Tuned on the dev split; the test split is held out.", "",
             "| split | class | pairs | positives | precision | recall |", "|---|---|---:|---:|---:|---:|"]
    for split, classes in v.items():
        for name, m in classes.items():
            lines.append(f"| {split} | {name.replace('_', ' ')} | {m['n']} | {m['positives']} | "
                         f"{_fmt(m['precision'])} | {_fmt(m['recall'])} |")
    return lines + [""]


def gate_lines(run: dict) -> list[str]:
    """The --fail-under checks, failed ones first."""
    rows = run.get("gates")
    if not rows:
        return []
    failed = sum(not r["passed"] for r in rows)
    lines = ["## Quality gates (--fail-under)", "",
             f"{'FAILED' if failed else 'Passed'}: {len(rows) - failed} of {len(rows)} checks passed.", "",
             "| configuration | metric | value | threshold | result |", "|---|---|---:|---:|---|"]
    for r in sorted(rows, key=lambda r: r["passed"]):
        lines.append(f"| {r['config']} | {r['metric']} | {_fmt(r['value'])} | {r['op']} {r['limit']:g} | "
                     f"{'pass' if r['passed'] else '**fail**'} |")
    return lines + [""]


# --- plots --------------------------------------------------------------------------------------
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on servers or in CI
    import matplotlib.pyplot as plt

    return plt


def plot_hit_at_k(run: dict, path: Path) -> None:
    plt = _pyplot()
    names = list(run["configs"])
    keys = ["hit@1", "hit@3", "hit@5", "mrr", "ndcg@5"]
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(names) + 3), 4))
    width = 0.8 / len(keys)
    for i, key in enumerate(keys):
        values = [run["configs"][n]["summary"].get(key) or 0.0 for n in names]
        xs = [x + (i - (len(keys) - 1) / 2) * width for x in range(len(names))]
        bars = ax.bar(xs, values, width, label=key)
        ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=7, padding=1)
    ax.set_xticks(range(len(names)), names)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("score (answerable questions)")
    ax.set_title(f"Retrieval per configuration ({run['questions']} questions)")
    ax.legend(ncol=len(keys), fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_latency(run: dict, path: Path) -> None:
    """Box plots per configuration and phase (retrieval always; first token and total when answered)."""
    plt = _pyplot()
    phases = [p for p in ("retrieve_s", "first_token_s", "total_s")
              if any(r["timings"].get(p) is not None for c in run["configs"].values() for r in c["records"])]
    fig, axes = plt.subplots(1, len(phases), figsize=(4.5 * len(phases), 4), squeeze=False)
    for ax, phase in zip(axes[0], phases):
        names = list(run["configs"])
        data = [[r["timings"][phase] * 1000 for r in run["configs"][n]["records"] if r["timings"].get(phase) is not None]
                or [0.0] for n in names]
        ax.boxplot(data, showfliers=True)
        ax.set_xticks(range(1, len(names) + 1), names, rotation=20)
        ax.set_title({"retrieve_s": "retrieval", "first_token_s": "first token", "total_s": "total"}[phase])
        ax.set_yscale("log")  # one slow outlier (a busy CPU) would flatten the rest
        ax.set_ylabel("milliseconds (log scale)")
    fig.suptitle("Latency per question")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
