"""eval.windows (small-to-big measured): sentence windows within their word-piece budget, the best
window per chunk, and clear errors for bad options."""
from __future__ import annotations

import numpy as np

from eval import windows
from rag.embedding import token_counts

TEXT = ("The US Embassy in Libya announced a meeting. General Langley met General al-Haddad in Gaborone. "
        "The conference was held in Africa for the first time. Russia told its citizens not to travel to Libya.")


def test_windows_keep_whole_sentences_within_the_budget():
    found = windows.chunk_windows(TEXT, 24)
    assert len(found) > 1
    assert " ".join(found) == TEXT  # nothing lost, nothing repeated, order kept
    assert all(n <= 24 for n in token_counts(found))


def test_a_chunk_shorter_than_the_budget_is_one_window():
    assert windows.chunk_windows(TEXT, 200) == [TEXT]


def test_best_window_takes_each_chunks_best_and_keeps_single_window_chunks():
    chunk_similarity = np.array([[0.5, 0.2, 0.1]])
    window_similarity = np.array([[0.3, 0.9, 0.4]])  # windows of chunk 0, chunk 0, chunk 2
    owner = np.array([0, 0, 2])
    best = windows.best_window(window_similarity, owner, chunk_similarity)
    assert best.tolist() == [[0.9, 0.2, 0.4]]


def test_bad_options_are_one_line_errors(tmp_path, capsys):
    assert windows.main(["--cache", str(tmp_path), "--mixes", "abc"]) != 0
    assert "--mixes" in capsys.readouterr().err
    assert windows.main(["--cache", str(tmp_path), "--sets", "perlfaq"]) != 0
    err = capsys.readouterr().err
    assert "no index for perlfaq" in err and "Traceback" not in err
