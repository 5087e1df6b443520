"""Foreign question files: RAGAS-style JSON/JSONL and BEIR-style folders, each on a small sample,
mapped onto our fields and detected automatically; one of each run end to end (retrieval only)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval import formats
from eval.dataset import EvalInputError
from eval.run import main

LANGLEY = ("The US Embassy in Libya announced that the commander of the US Africa Command, General Michael "
           "Langley, and the Chairman of the US Joint Chiefs of Staff")
HAFTAR = ("the head of the Security Unit of the Libyan National Army (LNA), Khaled Haftar, met with a "
          "high-level delegation of the US Army in Benghazi")
RAGAS_ROWS = [
    {"question": "Who commands US Africa Command?", "ground_truth": "General Michael Langley.",
     "contexts": [LANGLEY], "answer": "a system's answer, not gold"},
    {"question": "Where did Khaled Haftar meet the US Army delegation?", "ground_truths": ["In Benghazi."],
     "contexts": [HAFTAR]},
]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_ragas_jsonl_json_columns_and_new_field_names(tmp_path):
    expected = [("r1", "Who commands US Africa Command?", "General Michael Langley.", [LANGLEY]),
                ("r2", "Where did Khaled Haftar meet the US Army delegation?", "In Benghazi.", [HAFTAR])]
    as_jsonl = _jsonl(tmp_path / "set.jsonl", RAGAS_ROWS)
    as_json = tmp_path / "set.json"
    as_json.write_text(json.dumps(RAGAS_ROWS, indent=2))
    columns = tmp_path / "columns.json"  # a Hugging Face Dataset.to_dict()
    columns.write_text(json.dumps({"question": [r["question"] for r in RAGAS_ROWS],
                                   "ground_truth": ["General Michael Langley.", "In Benghazi."],
                                   "contexts": [[LANGLEY], [HAFTAR]]}))
    v02 = _jsonl(tmp_path / "v02.jsonl", [{"user_input": r["question"], "reference": a, "reference_contexts": c,
                                           "retrieved_contexts": ["not the evidence"]}
                                          for r, (_, _, a, c) in zip(RAGAS_ROWS, expected)])
    for path in (as_jsonl, as_json, columns, v02):
        qs = formats.load(path)
        assert qs.format == "ragas", path
        assert [(q.id, q.question, q.answer, q.evidence) for q in qs.questions] == expected, path
        assert all(q.answerable and q.kind == "ragas" for q in qs.questions)


def test_detection_leaves_our_own_files_native(tmp_path):
    ours = _jsonl(tmp_path / "ours.jsonl", [{"question": "Who?", "answer": "Langley", "evidence": [LANGLEY]}])
    assert formats.load(ours).format == "native"
    assert formats.load(Path(__file__).resolve().parents[1] / "eval" / "questions.jsonl").format == "native"
    # forced: a RAGAS file read as ours keeps no evidence (unknown fields are ignored)
    assert formats.load(tmp_path / "ours.jsonl", "ragas").questions[0].evidence == []


def beir_set(folder: Path, corpus_as_files: bool = False) -> Path:
    passages = {"d1": ("Africa Command", LANGLEY), "d2": ("Benghazi meeting", HAFTAR),
                "d3": ("Weather", "Rain is expected across the northern coast with strong winds from the sea.")}
    folder.mkdir()
    if corpus_as_files:
        (folder / "corpus").mkdir()
        for cid, (_, text) in passages.items():
            (folder / "corpus" / f"{cid}.txt").write_text(text)
    else:
        _jsonl(folder / "corpus.jsonl", [{"_id": cid, "title": t, "text": x} for cid, (t, x) in passages.items()])
    _jsonl(folder / "queries.jsonl", [{"_id": "q1", "text": "Who commands US Africa Command?"},
                                      {"_id": "q2", "text": "Where did Haftar meet the US Army?"},
                                      {"_id": "q9", "text": "a query of the train split"}])
    (folder / "qrels").mkdir()
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t2\nq2\td3\t0\n")
    (folder / "qrels" / "train.tsv").write_text("q9\td3\t1\n")
    return folder


def test_beir_queries_map_to_evidence_from_the_qrels(tmp_path):
    folder = beir_set(tmp_path / "beir")
    for path in (folder, folder / "queries.jsonl"):
        qs = formats.load(path)
        assert qs.format == "beir" and qs.corpus_jsonl == folder / "corpus.jsonl"
        assert [(q.id, q.evidence, q.answerable) for q in qs.questions] == [("q1", [LANGLEY], True),
                                                                             ("q2", [HAFTAR], True)]
    files = formats.write_corpus_files(folder / "corpus.jsonl", tmp_path / "files")
    assert (files / "d1.txt").read_text() == f"Africa Command\n\n{LANGLEY}"
    folder2 = beir_set(tmp_path / "beir2", corpus_as_files=True)
    qs = formats.load(folder2)
    assert qs.corpus == folder2 / "corpus" and qs.questions[1].evidence == [HAFTAR]


def test_beir_bad_input(tmp_path):
    folder = beir_set(tmp_path / "beir")
    (folder / "qrels" / "test.tsv").write_text("q1\td7\t1\n")
    with pytest.raises(EvalInputError, match="relevant passage\\(s\\) d7 not in the corpus"):
        formats.load(folder)
    (folder / "qrels" / "test.tsv").write_text("q1 d1 1\n")
    with pytest.raises(EvalInputError, match="test.tsv:1: expected query-id, corpus-id and score"):
        formats.load(folder)
    with pytest.raises(EvalInputError, match="without queries.jsonl"):
        formats.load(tmp_path)


def test_beir_and_ragas_sets_run_end_to_end(tmp_path, default_index, capsys):
    folder = beir_set(tmp_path / "beir")
    out = tmp_path / "out-beir"
    # no --corpus: the set's corpus.jsonl is written out under --out and ingested
    assert main(["--questions", str(folder), "--out", str(out), "--retrieval-only", "--configs", "bm25", "--quiet"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["questions_format"] == "beir" and report["corpus"] == str(out / "beir-corpus")
    assert report["configs"]["bm25"]["summary"]["hit@1"] == 1.0
    assert "BEIR format" in (out / "report.md").read_text()
    ragas = _jsonl(tmp_path / "ragas.jsonl", RAGAS_ROWS)
    out = tmp_path / "out-ragas"
    assert main(["--questions", str(ragas), "--corpus", str(default_index.corpus_dir), "--index",
                 str(default_index.index_dir), "--out", str(out), "--retrieval-only", "--configs", "hybrid", "--quiet"]) == 0
    summary = json.loads((out / "report.json").read_text())["configs"]["hybrid"]["summary"]
    assert summary["answerable"] == 2 and summary["hit@5"] == 1.0
