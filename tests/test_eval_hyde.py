"""eval.hyde (HyDE measured): scoring over a real index with cached hypothetical passages (no LLM
call: the cache is what a first run writes), and clear errors for bad options."""
from __future__ import annotations

import json
import shutil

from eval import hyde
from rag.ingest import ingest
from tests.helpers import DEFAULT_CORPUS, make_settings

QUESTIONS = [
    ("Where was the 2024 African Defense Chiefs Conference held?", "African Defense Chiefs Conference in Gaborone, Botswana",
     "The 2024 African Defense Chiefs Conference took place in Gaborone, the capital of Botswana."),
    ("How many Russians were arrested in Tripoli?", "arrested three Russians in Tripoli",
     "Authorities in Tripoli arrested three Russian citizens."),
]


def test_hyde_is_scored_against_the_baseline_on_the_same_questions(tmp_path):
    folder = tmp_path / "cache" / "news"
    shutil.copytree(DEFAULT_CORPUS, folder / "corpus")
    settings = make_settings(folder, corpus_dir=folder / "corpus", index_dir=folder / "index", llm="extractive")
    assert not ingest(settings, show_progress=False).failed
    with (folder / "questions.jsonl").open("w") as out:
        for i, (question, evidence, _) in enumerate(QUESTIONS):
            out.write(json.dumps({"id": f"q{i}", "question": question, "evidence": [evidence]}) + "\n")
    with (folder / "hyde-1.jsonl").open("w") as out:  # as a first run leaves it: no LLM needed now
        for question, _, passage in QUESTIONS:
            out.write(json.dumps({"question": question, "passage": passage, "seconds": 4.0}) + "\n")
    results, seconds, n = hyde.score_set("news", tmp_path / "cache", 1, "local")
    assert n == 2 and seconds == [4.0, 4.0]
    assert set(results) == set(hyde.CONFIGS)
    assert results["dense"][0] == 1.0 and results["dense HyDE"][0] == 1.0  # two articles: easy
    assert all(0.0 < mrr <= hit <= 1.0 for hit, mrr in results.values())
    assert "| hybrid HyDE | 1.000 / " in hyde.table({"news": results}, {"news": n})


def test_bad_options_are_one_line_errors(tmp_path, capsys):
    assert hyde.main(["--cache", str(tmp_path), "--every", "0"]) != 0
    assert "--every" in capsys.readouterr().err
    assert hyde.main(["--cache", str(tmp_path), "--sets", "perlfaq"]) != 0
    err = capsys.readouterr().err
    assert "no index for perlfaq" in err and "Traceback" not in err
