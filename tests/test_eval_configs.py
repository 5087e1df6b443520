"""Configurations that set the answering backend and prompt settings, one report row each."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.configs import parse_configs
from eval.dataset import EvalInputError
from eval.run import main

REPO = Path(__file__).resolve().parents[1]


def test_answer_overrides_are_parsed_and_checked():
    configs = parse_configs("hybrid:llm=extractive,hybrid:llm=local:answer_passages=2,dense:passage_chars=300")
    assert [(c.mode, c.overrides) for c in configs] == [
        ("hybrid", {"llm": "extractive"}), ("hybrid", {"llm": "local", "answer_passages": 2}),
        ("dense", {"passage_chars": 300})]
    assert configs[1].run_overrides() == {"llm": "local", "answer_passages": 2}
    with pytest.raises(EvalInputError, match="llm='gpt5'.*one of local, openai, ollama, extractive"):
        parse_configs("hybrid:llm=gpt5")
    with pytest.raises(EvalInputError, match="max_new_tokens='lots'"):
        parse_configs("hybrid:max_new_tokens=lots")


def test_each_configuration_answers_with_its_own_settings(default_index, tmp_path, capsys):
    out = tmp_path / "out"
    # --llm local is the default backend, but neither configuration uses it: no model is loaded.
    code = main(["--questions", str(REPO / "eval" / "questions.jsonl"), "--limit", "3", "--corpus",
                 str(default_index.corpus_dir), "--index", str(default_index.index_dir), "--out", str(out), "--quiet",
                 "--llm", "local", "--configs", "hybrid:llm=extractive,hybrid:llm=extractive:answer_passages=1"])
    assert code == 0, capsys.readouterr().err
    report = json.loads((out / "report.json").read_text())
    rows = report["configs"]
    assert list(rows) == ["hybrid:llm=extractive", "hybrid:llm=extractive:answer_passages=1"]
    assert rows["hybrid:llm=extractive"]["llm"] == "extractive"
    assert rows["hybrid:llm=extractive:answer_passages=1"]["config"] == {"mode": "hybrid", "llm": "extractive",
                                                                          "answer_passages": 1}
    answered = lambda name: [r for r in rows[name]["records"] if not r["refused"]]  # noqa: E731
    assert all(len(r["citations"]) <= 1 for r in answered("hybrid:llm=extractive:answer_passages=1"))
    assert any(len(r["citations"]) > 1 for r in answered("hybrid:llm=extractive"))
    md = (out / "report.md").read_text()
    assert "| hybrid:llm=extractive:answer_passages=1 |" in md and "- answering: extractive" in md


def test_answer_overrides_with_retrieval_only_are_bad_input(tmp_path, capsys):
    assert main(["--retrieval-only", "--configs", "hybrid,hybrid:llm=extractive", "--out", str(tmp_path)]) == 2
    assert "sets llm, but --retrieval-only generates no answers" in capsys.readouterr().err


def test_report_names_the_backend_of_each_configuration():
    from eval.report import answering

    run = {"retrieval_only": False, "llm": "local",
           "configs": {"hybrid:llm=extractive": {"llm": "extractive"}, "hybrid": {"llm": "local"}}}
    assert answering(run) == "per configuration: hybrid:llm=extractive → extractive, hybrid → local"


def test_fusion_overrides_are_parsed_and_checked():
    configs = parse_configs("hybrid:fusion=rrf:rrf_k=60,hybrid:fusion_alpha=0.7")
    assert configs[0].overrides == {"fusion": "rrf", "rrf_k": 60}
    assert configs[1].run_overrides() == {"fusion_alpha": 0.7}
    for bad in ("hybrid:fusion=max", "hybrid:fusion_alpha=1.5"):
        with pytest.raises(EvalInputError):
            parse_configs(bad)
