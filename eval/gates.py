"""Quality gates for CI: `--fail-under hit@5=0.8,keyword=0.85,false_refusal_rate<=0.05` (or a TOML file).

A threshold names a summary metric exactly as report.json spells it. `=` means "at least" for a metric
where higher is better and "at most" for one where lower is better (false refusals, errors, latency);
`>=` and `<=` say the direction explicitly. Every configuration of the run must pass every threshold.

TOML form (top-level keys; a number uses the metric's direction, a string carries its operator):

    "hit@5" = 0.8
    keyword = 0.85
    false_refusal_rate = "<= 0.05"
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from eval.dataset import EvalInputError
from eval.report import ANSWER_COLUMNS, LATENCY_COLUMNS, RETRIEVAL_COLUMNS

# Metrics that only exist when answers are generated (not in --retrieval-only runs).
ANSWER_METRICS = tuple(k for k, _ in ANSWER_COLUMNS)
KNOWN_METRICS = tuple(k for k, _ in RETRIEVAL_COLUMNS) + ANSWER_METRICS + tuple(k for k, _ in LATENCY_COLUMNS) + ("errors",)
EXIT_GATE_FAILED = 1
_CLAUSE = re.compile(r"^\s*([^<>=\s]+)\s*(<=|>=|=)\s*([^\s]+)\s*$")


def lower_is_better(metric: str) -> bool:
    return metric.endswith(("_p50", "_p95")) or metric in ("false_refusal_rate", "errors")


@dataclass(frozen=True)
class Threshold:
    metric: str
    op: str  # ">=" or "<="
    limit: float

    def passes(self, value: float) -> bool:
        return value >= self.limit if self.op == ">=" else value <= self.limit

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.limit:g}"


def _threshold(metric: str, op: str, raw, where: str) -> Threshold:
    if metric not in KNOWN_METRICS:
        raise EvalInputError(f"{where}: unknown metric {metric!r}; known metrics: {', '.join(KNOWN_METRICS)}")
    try:
        limit = float(raw)
    except (TypeError, ValueError):
        raise EvalInputError(f"{where}: threshold {raw!r} for {metric} is not a number") from None
    if op == "=":
        op = "<=" if lower_is_better(metric) else ">="
    return Threshold(metric, op, limit)


def parse_clauses(text: str, where: str = "--fail-under") -> list[Threshold]:
    thresholds = []
    for clause in [c for c in text.split(",") if c.strip()]:
        match = _CLAUSE.match(clause)
        if not match:
            raise EvalInputError(f"{where}: {clause.strip()!r} must be METRIC=VALUE, METRIC>=VALUE or METRIC<=VALUE")
        thresholds.append(_threshold(*match.groups(), where))
    if not thresholds:
        raise EvalInputError(f"{where}: no threshold given")
    return thresholds


def parse_toml(path: Path) -> list[Threshold]:
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EvalInputError(f"threshold file {path} is not valid TOML: {exc}") from None
    thresholds = []
    for metric, value in table.items():
        if isinstance(value, str):
            match = re.match(r"^\s*(<=|>=|=)?\s*(\S+)\s*$", value)
            op, raw = (match.group(1) or "=", match.group(2)) if match else ("=", value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            op, raw = "=", value
        else:
            raise EvalInputError(f"{path}: {metric} must be a number or a string such as \"<= 0.05\"")
        thresholds.append(_threshold(metric, op, raw, str(path)))
    if not thresholds:
        raise EvalInputError(f"threshold file {path} sets no threshold")
    return thresholds


def parse(spec: str) -> list[Threshold]:
    """A TOML file when `spec` names one (ends in .toml), else comma-separated clauses."""
    if spec.strip().endswith(".toml"):
        path = Path(spec.strip())
        if not path.is_file():
            raise EvalInputError(f"threshold file {path} does not exist")
        return parse_toml(path)
    return parse_clauses(spec)


def check_measurable(thresholds: list[Threshold], retrieval_only: bool) -> None:
    """Before any work: a gate on answers cannot pass a run that generates none."""
    if retrieval_only:
        gated = [t.metric for t in thresholds if t.metric in ANSWER_METRICS]
        if gated:
            raise EvalInputError(f"--fail-under gates {', '.join(gated)}, which --retrieval-only does not measure")


def evaluate_gates(run: dict, thresholds: list[Threshold]) -> list[dict]:
    """One row per (configuration, threshold): its value and whether it passed. An unmeasured
    metric (no question had the score) fails: a gate must not pass silently."""
    rows = []
    for name, config in run["configs"].items():
        for t in thresholds:
            value = config["summary"].get(t.metric)
            rows.append({"config": name, "metric": t.metric, "op": t.op, "limit": t.limit, "value": value,
                         "passed": value is not None and t.passes(value)})
    return rows


def failures_text(rows: list[dict]) -> str:
    """The summary lines for the terminal: one per metric that fell short, per configuration."""
    failed = [r for r in rows if not r["passed"]]
    if not failed:
        return f"fail-under: all {len(rows)} threshold checks passed"
    lines = [f"fail-under: {len(failed)} of {len(rows)} threshold checks failed"]
    for r in failed:
        shown = "not measured" if r["value"] is None else f"{r['value']:.3f}"
        lines.append(f"  {r['config']}: {r['metric']} = {shown}, needs {r['op']} {r['limit']:g}")
    return "\n".join(lines)
