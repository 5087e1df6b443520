"""eval.multiquery (multi-query retrieval measured): the LLM's reply parsed into rewrites, scoring
over a real index with cached rewrites (no LLM call: the cache is what a first run writes), and
clear errors for bad options."""
from __future__ import annotations

from eval import multiquery
from tests.helpers import external_news_set

QUESTIONS = [
    ("Where was the 2024 African Defense Chiefs Conference held?", "African Defense Chiefs Conference in Gaborone, Botswana",
     "1. In which city did the African Defense Chiefs Conference take place?\n2. Location of the 2024 conference"),
    ("How many Russians were arrested in Tripoli?", "arrested three Russians in Tripoli",
     "Russians detained in Tripoli\nHow many Russian citizens did Tripoli authorities arrest?"),
]


def test_rewrites_are_the_distinct_lines_without_list_marks():
    reply = ('1. "Where did the conference take place?"\n- Conference location\n\n'
             "Query 3: Where was the conference held?\n4) where was the conference held?\n5. a fifth")
    assert multiquery.rewrites("Where was the conference held?", reply) == [
        "Where did the conference take place?", "Conference location", "a fifth"]
    assert multiquery.rewrites("What is Perl?", "What is Perl?\n") == []


def test_multi_query_is_scored_against_the_baseline_on_the_same_questions(tmp_path):
    external_news_set(tmp_path / "cache", QUESTIONS, "multiquery-1.jsonl", 1.5)  # no LLM needed now
    results, seconds, n = multiquery.score_set("news", tmp_path / "cache", 1, "local")
    assert n == 2 and seconds == [1.5, 1.5]
    assert set(results) == set(multiquery.CONFIGS)
    assert results["hybrid, multi-query"][0] == 1.0  # two articles: easy
    assert all(0.0 < mrr <= hit <= 1.0 for hit, mrr in results.values())


def test_bad_options_are_one_line_errors(tmp_path, capsys):
    assert multiquery.main(["--cache", str(tmp_path), "--every", "0"]) != 0
    assert "--every" in capsys.readouterr().err
    assert multiquery.main(["--cache", str(tmp_path), "--sets", "perlfaq"]) != 0
    err = capsys.readouterr().err
    assert "no index for perlfaq" in err and "Traceback" not in err
