"""--fail-under: threshold parsing (clauses and TOML), the verdict per configuration, and the exit
codes of a real retrieval-only run over the default index (0 pass, 1 a threshold failed, 2 bad input)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval import gates
from eval.dataset import EvalInputError
from eval.run import main

REPO = Path(__file__).resolve().parents[1]


def test_clauses_take_the_metric_direction_unless_explicit():
    parsed = gates.parse("hit@5=0.8, keyword=0.85,false_refusal_rate=0.05,mrr<=0.9,total_s_p95>=1")
    assert [(t.metric, t.op, t.limit) for t in parsed] == [
        ("hit@5", ">=", 0.8), ("keyword", ">=", 0.85), ("false_refusal_rate", "<=", 0.05),
        ("mrr", "<=", 0.9), ("total_s_p95", ">=", 1.0)]


@pytest.mark.parametrize("bad, message", [
    ("hit@6=0.8", "unknown metric 'hit@6'; known metrics: hit@1, hit@3, hit@5"),
    ("hit@5", "must be METRIC=VALUE"),
    ("hit@5=high", "is not a number"),
    ("hit@5<0.8", "must be METRIC=VALUE"),
    (",", "no threshold given"),
])
def test_bad_clauses_are_input_errors(bad, message):
    with pytest.raises(EvalInputError, match=message.replace("(", r"\(")):
        gates.parse(bad)


def test_toml_file(tmp_path):
    path = tmp_path / "gates.toml"
    path.write_text('"hit@5" = 0.8\nkeyword = 1\nfalse_refusal_rate = "<= 0.05"\nmrr = ">=0.5"\n')
    assert [str(t) for t in gates.parse(str(path))] == [
        "hit@5 >= 0.8", "keyword >= 1", "false_refusal_rate <= 0.05", "mrr >= 0.5"]
    path.write_text('colour = 1\n')
    with pytest.raises(EvalInputError, match="unknown metric 'colour'"):
        gates.parse(str(path))
    path.write_text('mrr = [1]\n')
    with pytest.raises(EvalInputError, match="must be a number"):
        gates.parse(str(path))
    with pytest.raises(EvalInputError, match="does not exist"):
        gates.parse(str(tmp_path / "none.toml"))


def test_verdict_names_each_failed_metric_per_configuration():
    run = {"configs": {"dense": {"summary": {"hit@5": 0.9, "false_refusal_rate": 0.1}},
                       "bm25": {"summary": {"hit@5": 0.7, "false_refusal_rate": 0.0}}}}
    rows = gates.evaluate_gates(run, gates.parse("hit@5=0.8,false_refusal_rate=0.05,keyword=0.5"))
    assert [(r["config"], r["metric"]) for r in rows if not r["passed"]] == [
        ("dense", "false_refusal_rate"), ("dense", "keyword"), ("bm25", "hit@5"), ("bm25", "keyword")]
    text = gates.failures_text(rows)
    assert "4 of 6 threshold checks failed" in text
    assert "bm25: hit@5 = 0.700, needs >= 0.8" in text and "dense: keyword = not measured" in text


def _run(default_index, out: Path, *extra: str) -> int:
    return main(["--questions", str(REPO / "eval" / "questions.jsonl"), "--limit", "8", "--corpus",
                 str(default_index.corpus_dir), "--index", str(default_index.index_dir), "--out", str(out),
                 "--quiet", "--retrieval-only", "--configs", "bm25,hybrid", *extra])


def test_exit_codes_of_a_real_run(default_index, tmp_path, capsys):
    assert _run(default_index, tmp_path / "pass", "--fail-under", "hit@5=0.5,retrieve_s_p95<=30") == 0
    assert "all 4 threshold checks passed" in capsys.readouterr().out
    # hit@1 of 1.0 on 8 questions would need a perfect first passage every time: it falls short
    assert _run(default_index, tmp_path / "fail", "--fail-under", "hit@1=1.0,hit@5>=0") == 1
    out = capsys.readouterr().out
    assert "bm25: hit@1 =" in out and "hybrid: hit@1 =" in out and "needs >= 1" in out
    report = json.loads((tmp_path / "fail" / "report.json").read_text())
    assert {(g["config"], g["metric"], g["passed"]) for g in report["gates"]} == {
        ("bm25", "hit@1", False), ("hybrid", "hit@1", False), ("bm25", "hit@5", True), ("hybrid", "hit@5", True)}
    assert "## Quality gates" in (tmp_path / "fail" / "report.md").read_text()
    # bad input: before any work, exit 2, the known metrics listed
    assert _run(default_index, tmp_path / "bad", "--fail-under", "recall=0.5") == 2
    assert "known metrics: hit@1" in capsys.readouterr().err
    assert _run(default_index, tmp_path / "bad", "--fail-under", "keyword=0.5") == 2
    assert "--retrieval-only does not measure" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
