"""eval.hyde (HyDE measured): scoring over a real index with cached hypothetical passages (no LLM
call: the cache is what a first run writes), and clear errors for bad options."""
from __future__ import annotations

from eval import hyde
from tests.helpers import external_news_set

QUESTIONS = [
    ("Where was the 2024 African Defense Chiefs Conference held?", "African Defense Chiefs Conference in Gaborone, Botswana",
     "The 2024 African Defense Chiefs Conference took place in Gaborone, the capital of Botswana."),
    ("How many Russians were arrested in Tripoli?", "arrested three Russians in Tripoli",
     "Authorities in Tripoli arrested three Russian citizens."),
]


def test_hyde_is_scored_against_the_baseline_on_the_same_questions(tmp_path):
    external_news_set(tmp_path / "cache", QUESTIONS, "hyde-1.jsonl", 4.0)  # no LLM needed now
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
