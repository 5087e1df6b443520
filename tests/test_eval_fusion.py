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


def tiny_set(dense_row, lexical_row):
    """Four chunks, two per file (ids as rag.ingest makes them), one question."""
    ids = ["aaa-f1-00000", "aaa-f1-00001", "bbb-f2-00000", "bbb-f2-00001"]
    vectors = np.eye(4, dtype=np.float32)
    question = np.asarray(dense_row, dtype=np.float32)
    return fusion.SetScores(ids, vectors, question[None, :], {fusion.BM25_PARAMETERS[0]: np.asarray([lexical_row], np.float32)},
                            [{ids[0]}], question[None, :] / np.linalg.norm(question))


def test_reordering_variants_read_files_and_neighbours_from_chunk_ids():
    data = tiny_set([0.50, 0.10, 0.52, 0.0], [0.0, 0.0, 0.0, 0.0])
    assert list(data.file_of) == [0, 0, 1, 1] and list(data.previous) == [-1, 0, -1, 2] and list(data.next) == [1, -1, 3, -1]
    assert fusion.convex(data.dense[0], data.bm25[fusion.BM25_PARAMETERS[0]][0], 0.8, "theoretical")[0] == 2
    # chunk 0's neighbour (0.10) outweighs chunk 2's (0.0) once neighbours count
    assert fusion.with_neighbours(data, 0, 0.8, 0.5)[0] == 0
    assert fusion.with_neighbours(data, 0, 0.8, 0.0)[0] == 2
    # with no feedback weight, dense feedback is the plain fusion
    assert fusion.with_dense_feedback(data, 0, 0.8, 1, 0.0) == fusion.convex(
        data.dense[0], data.bm25[fusion.BM25_PARAMETERS[0]][0], 0.8, "theoretical")
    assert fusion.with_file_score(data, 0, 0.8, 0.5)[:2] == [2, 0]  # same best per file: order kept
