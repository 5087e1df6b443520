"""The evaluation command end to end on a handful of questions (extractive backend, no model), and
its handling of bad input: a clear message, a non-zero exit, no traceback."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from eval.configs import parse_configs
from eval.dataset import EvalInputError
from eval.run import main

REPO = Path(__file__).resolve().parents[1]
# single fact, unanswerable, follow-up, multi-fact, both articles, off-topic; the first three suffice
# for the (slower) answering run.
PICKED = ["a01", "u01", "f01", "b06", "x02", "u08"]


@pytest.fixture
def small_questions(tmp_path) -> Path:
    by_id = {json.loads(line)["id"]: line
             for line in (REPO / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()}
    lines = [by_id[qid] for qid in PICKED]
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(default_index, questions: Path, out: Path, *extra: str) -> int:
    # --corpus/--index point at the session's index: the incremental ingest finds nothing to do.
    return main(["--questions", str(questions), "--corpus", str(default_index.corpus_dir),
                 "--index", str(default_index.index_dir), "--out", str(out), "--quiet", *extra])


def _check_outputs(out: Path, configs: list[str]) -> dict:
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert list(report["configs"]) == configs
    for png in ("hit_at_k.png", "latency.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## Retrieval" in md and "| configuration |" in md and "## Worst failures" in md
    for name in configs:
        summary = report["configs"][name]["summary"]
        for key in ("hit@1", "hit@3", "hit@5", "mrr", "ndcg@5", "retrieve_s_p50", "retrieve_s_p95"):
            assert 0.0 <= summary[key] <= (1.0 if "@" in key or key == "mrr" else 60.0), key
        records = report["configs"][name]["records"]
        assert [r["id"] for r in records] == PICKED[: len(records)]
        for r in records:
            assert {"question", "standalone_question", "answer", "refused", "citations", "retrieved"} <= set(r)
            assert [h["rank"] for h in r["retrieved"]] == list(range(1, len(r["retrieved"]) + 1))
            assert all(h["text"] for h in r["retrieved"])
    return report


def test_retrieval_only_run_writes_reports(default_index, small_questions, tmp_path, capsys):
    out = tmp_path / "out"
    assert _run(default_index, small_questions, out, "--retrieval-only", "--configs", "bm25,hybrid:rrf_k=20") == 0
    report = _check_outputs(out, ["bm25", "hybrid:rrf_k=20"])
    follow_up = next(r for r in report["configs"]["bm25"]["records"] if r["id"] == "f01")
    assert follow_up["standalone_question"] != follow_up["question"]  # the follow-up was given its context
    assert "hybrid:rrf_k=20" in capsys.readouterr().out  # the summary table


def test_extractive_run_scores_answers_citations_and_refusals(default_index, small_questions, tmp_path):
    pytest.importorskip("rag.answer")
    out = tmp_path / "out"
    assert _run(default_index, small_questions, out, "--llm", "extractive", "--configs", "hybrid", "--limit", "3") == 0
    report = _check_outputs(out, ["hybrid"])
    summary = report["configs"]["hybrid"]["summary"]
    assert summary["questions"] == 3
    for key in ("keyword", "token_f1", "semantic", "refusal_recall", "false_refusal_rate", "total_s_p50"):
        assert summary.get(key) is not None, key
    for r in report["configs"]["hybrid"]["records"]:
        assert isinstance(r["answer"], str) and isinstance(r["refused"], bool)
        assert all(1 <= n <= len(r["citations"]) for n in map(int, re.findall(r"\[(\d+)\]", r["answer"])))


def test_bad_input_gives_a_message_and_exit_2(tmp_path, capsys):
    assert main(["--questions", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path)]) == 2
    assert "nope.jsonl does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok?"}\n{"question": \n')
    assert main(["--questions", str(bad), "--out", str(tmp_path)]) == 2
    assert "bad.jsonl:2: not valid JSON" in capsys.readouterr().err
    good = tmp_path / "good.jsonl"
    good.write_text('{"question": "ok?"}\n')
    assert main(["--questions", str(good), "--configs", "dense,fancy", "--out", str(tmp_path)]) == 2
    assert "unknown configuration 'fancy'" in capsys.readouterr().err
    assert main(["--questions", str(good), "--corpus", str(tmp_path / "none"), "--out", str(tmp_path)]) == 2
    assert "corpus folder" in capsys.readouterr().err


def test_config_overrides_are_parsed_and_checked():
    configs = parse_configs("dense, hybrid:rrf_k=20:candidates=50,bm25:chunk_size=120")
    assert [(c.name, c.mode, c.overrides) for c in configs] == [
        ("dense", "dense", {}), ("hybrid:rrf_k=20:candidates=50", "hybrid", {"rrf_k": 20, "candidates": 50}),
        ("bm25:chunk_size=120", "bm25", {"chunk_size": 120})]
    for bad in ("hybrid:rrf_k", "hybrid:colour=red", "hybrid:rrf_k=many", ""):
        with pytest.raises(EvalInputError):
            parse_configs(bad)


def test_script_entry_point_help_and_error_without_traceback(tmp_path):
    done = subprocess.run([sys.executable, "eval/run.py", "--help"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0 and "--retrieval-only" in done.stdout and "--configs" in done.stdout
    done = subprocess.run([sys.executable, "-m", "eval", "--questions", str(tmp_path / "x.jsonl")],
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 2 and "does not exist" in done.stderr and "Traceback" not in done.stderr
