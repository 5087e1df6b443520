"""eval.entailment: the packaged model's YES/NO support check on real labelled pairs."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")

from eval.entailment import main, model_probabilities  # noqa: E402
from eval.support import DEFAULT_FILE, load_pairs  # noqa: E402
from rag.answer.model import resolve_model_path  # noqa: E402
from rag.config import load_settings  # noqa: E402


def sample(tmp_path: Path) -> Path:
    """Two faithful pairs and two corrupted ones (an unrelated passage, a negation), one split each."""
    rows = [json.loads(line) for line in DEFAULT_FILE.read_text().splitlines()]
    picked = []
    for kind, split in (("faithful", "dev"), ("faithful", "test"), ("unrelated", "dev"), ("negation", "test")):
        picked.append(next(r for r in rows if r["kind"] == kind and r["split"] == split))
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in picked))
    return path


def test_the_model_says_yes_to_faithful_sentences_and_no_to_corrupted_ones(tmp_path):
    pairs = load_pairs(sample(tmp_path))
    probs, seconds = model_probabilities(pairs, resolve_model_path(load_settings()), threads=2)
    for pair in pairs:
        assert (probs[pair.id] > 0.5) == pair.supported, (pair.id, pair.kind, probs[pair.id])
    assert seconds > 0


def test_the_command_prints_rules_and_the_thresholds_chosen_on_dev(tmp_path, capsys):
    assert main(["--file", str(sample(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["verifier", "dev", "P", "dev", "R", "test", "P", "test", "R"]
    assert "rules or model <" in out and "ms of prefill per pair" in out


def test_a_bad_file_is_a_clear_error_before_the_model_loads(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n')
    assert main(["--file", str(bad)]) == 2
    assert "missing" in capsys.readouterr().err
