"""eval.fusion (fusion and BM25 parameters measured): the convex combination as retrieval computes
it, and clear errors for bad options."""
from __future__ import annotations

import numpy as np

from eval import fusion


def test_convex_combination_ranks_by_cosine_and_relative_bm25():
    dense = np.array([0.6, 0.5, 0.1, 0.0], dtype=np.float32)
    lexical = np.array([2.0, 8.0, 4.0, 0.0], dtype=np.float32)
    assert fusion.convex(dense, lexical, 0.8, "theoretical")[:3] == [1, 0, 2]
    assert fusion.convex(dense, lexical, 1.0, "theoretical")[:3] == [0, 1, 2]  # dense alone


def test_rrf_matches_retrievals_ranks():
    dense = np.array([0.9, 0.8, 0.1], dtype=np.float32)
    lexical = np.array([0.0, 1.0, 3.0], dtype=np.float32)
    # rrf_k 10, dense weight 2: chunk 1 2/12 + 1/12, chunk 2 2/13 + 1/11, chunk 0 2/11 (no BM25 term)
    assert fusion.rrf(dense, lexical) == [1, 2, 0]


def test_bad_options_are_one_line_errors(tmp_path, capsys):
    assert fusion.main(["--cache", str(tmp_path), "--alphas", "abc"]) != 0
    assert "--alphas" in capsys.readouterr().err
    assert fusion.main(["--cache", str(tmp_path), "--sets", "perlfaq"]) != 0
    err = capsys.readouterr().err
    assert "no index for perlfaq" in err and "Traceback" not in err
