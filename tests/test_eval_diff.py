"""`python -m eval diff` on two hand-made reports with known changes: which questions it calls fixed,
broken and mixed, the rank moves, and whether the bootstrap interval separates a real change from noise."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from eval import diff
from eval.scoring import score_record, summarize

REPO = Path(__file__).resolve().parents[1]


def record(qid: str, rank: int | None, answer: str, refused: bool = False, answerable: bool = True,
           keywords=(("Langley",),)) -> dict:
    retrieved = [{"rank": i, "relevant": i == rank, "text": f"passage {i}"} for i in range(1, 6)]
    r = {"id": qid, "question": f"question {qid}?", "history": [], "answerable": answerable,
         "gold_answer": "General Langley." if answerable else "", "evidence": ["x"] if answerable else [],
         "keywords": [list(k) for k in keywords] if answerable else [], "answer": answer, "refused": refused,
         "citations": [], "retrieved": retrieved if answerable else [], "relevant_in_index": 1,
         "evidence_found": [], "timings": {}, "error": None}
    return score_record(r)


def report(path: Path, records: list[dict], name: str = "hybrid") -> Path:
    path.mkdir(parents=True)
    run = {"questions_file": "q.jsonl", "questions": len(records), "llm": "extractive", "retrieval_only": False,
           "configs": {name: {"config": {"mode": "hybrid"}, "summary": summarize(records), "records": records}}}
    (path / "report.json").write_text(json.dumps(run))
    return path / "report.json"


# Known changes: q1 fixed (retrieval and keyword), q2 broken (wrongly refused), q3 unanswerable now
# refused (fixed), q4 mixed, q5 rank 4 -> 1, 30 unchanged questions.
OLD = [record("q1", None, "Nobody knows."), record("q2", 1, "General Langley [1]."),
       record("q3", None, "It was 5 km.", answerable=False), record("q4", 2, "Haftar [1]."),
       record("q5", 4, "Langley [1].")] + [record(f"s{i}", 1, "Langley [1].") for i in range(30)]
NEW = [record("q1", 2, "General Michael Langley [2]."), record("q2", 1, "The documents do not say.", refused=True),
       record("q3", None, "The documents do not say.", refused=True, answerable=False),
       record("q4", None, "Langley [1]."), record("q5", 1, "Langley [1].")] \
    + [record(f"s{i}", 1, "Langley [1].") for i in range(30)]


def test_fixed_broken_mixed_and_moves():
    d = diff.diff_config({"records": OLD, "summary": summarize(OLD)}, {"records": NEW, "summary": summarize(NEW)},
                         resamples=300)
    ids = lambda items: [old["id"] for old, _, _ in items]  # noqa: E731
    assert ids(d["fixed"]) == ["q1", "q3"] and ids(d["broken"]) == ["q2"] and ids(d["mixed"]) == ["q4"]
    assert [(r["id"], a, b) for r, a, b in d["moves"]] == [("q5", 4, 1)]
    q1 = dict((c, t) for c, t, _ in d["fixed"][0][2])
    assert q1 == {"retrieval": "not in top 5 → rank 2", "keyword": "miss → hit"}
    q2 = d["broken"][0][2]
    assert ("refusal", "answered → wrongly refused", False) in q2 and ("keyword", "hit → miss", False) in q2
    assert d["pairs"] == 35


def test_q4_losing_its_passage_is_broken_on_retrieval_only():
    old = [record("q4", 2, "Langley [1].")]
    new = [record("q4", None, "Langley [1].")]
    assert diff.question_changes(old[0], new[0]) == [("retrieval", "rank 2 → not in top 5", False)]


def test_bootstrap_interval_separates_change_from_noise():
    # 40 questions: hit@5 +0.025 (one question) is noise; mrr moving on 20 of 40 is a real change.
    old = [record(f"n{i}", 3 if i < 20 else 1, "Langley") for i in range(40)]
    new = [record(f"n{i}", 1, "Langley") for i in range(40)]
    old[0] = record("n0", None, "Langley")
    deltas = diff.bootstrap_deltas(list(zip(old, new)), ["hit@5", "mrr"], resamples=500)
    assert deltas["hit@5"]["delta"] == pytest.approx(0.025)
    assert deltas["hit@5"]["ci_low"] <= 0 <= deltas["hit@5"]["ci_high"] and not deltas["hit@5"]["significant"]
    assert deltas["mrr"]["significant"] and deltas["mrr"]["ci_low"] > 0
    again = diff.bootstrap_deltas(list(zip(old, new)), ["hit@5", "mrr"], resamples=500)
    assert again == deltas  # fixed seed: the same interval every run


def test_command_prints_markdown_and_writes_out(tmp_path):
    old, new = report(tmp_path / "old", OLD), report(tmp_path / "new", NEW)
    out = tmp_path / "diff.md"
    done = subprocess.run([sys.executable, "-m", "eval", "diff", str(old), str(new.parent), "--out", str(out),
                           "--resamples", "200"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    md = done.stdout
    assert md == out.read_text()
    assert "2 fixed, 1 broken, 1 mixed, 1 rank moves" in md
    assert "### Fixed (2)" in md and "#### q1: question q1?" in md and "### Broken (1)" in md
    assert "| Nobody knows. | General Michael Langley [2]. |" in md  # answers side by side
    assert "(200 resamples, fixed seed)" in md
    assert "| hit@1 | 34 | 0.912 | 0.941 | +0.029 |" in md and "| false_refusal_rate | 34 |" in md
    assert "| refusal_recall | 1 | 0.000 | 1.000 | +1.000 | [+1.000, +1.000] | too few questions (n=1) |" in md
    assert "| q5: question q5? | 4 | 1 |" in md


def test_bad_input_exit_2(tmp_path):
    old = report(tmp_path / "old", OLD)
    other = report(tmp_path / "other", NEW[:2], name="dense")
    two = tmp_path / "two"
    two.mkdir()
    run = json.loads(old.read_text())
    run["configs"]["bm25"] = run["configs"]["hybrid"]
    (two / "report.json").write_text(json.dumps(run))
    (tmp_path / "broken.json").write_text("{")
    for args, message in [([str(tmp_path / "none.json"), str(old)], "does not exist"),
                          ([str(tmp_path / "broken.json"), str(old)], "not valid JSON"),
                          ([str(old), str(old), "--config", "dense"], "'dense' is not in the old and new report"),
                          ([str(two / "report.json"), str(other)], "share no configuration")]:
        done = subprocess.run([sys.executable, "-m", "eval", "diff", *args], cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
    # one configuration each, different names: compared with each other
    assert "## hybrid → dense" in diff.markdown(diff.load_report(old), diff.load_report(other), resamples=100)
