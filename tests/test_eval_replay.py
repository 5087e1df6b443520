"""`python -m eval replay` on a hand-made report: the stored drafts are decided again with the current
checks (the real embedder and checks, no model), an answer the checks would now give differently is
listed, one they give the same is not, and a bad path is one line and exit 2."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from eval import replay

REPO = Path(__file__).resolve().parents[1]
TRIPOLI = ("Meanwhile, the Tripoli-based government arrested three Russians in Tripoli over suspicions of belonging "
           "to foreign mercenary group, prompting Russian diplomacy to ask its citizens not to travel to Libya.")


def citation(text: str) -> dict:
    return {"n": 1, "id": "c1", "source": "libya.txt", "title": "US pushes for a unified Libyan army", "start": 0,
            "end": len(text), "text": text, "score": 0.7, "cited": True, "supported": True, "page": None,
            "page_end": None, "heading": "", "page_offset": None}


def record(qid: str, question: str, draft: str, stored_answer: str) -> dict:
    return {"id": qid, "question": question, "standalone_question": question, "draft": draft,
            "answer": stored_answer, "citations": [citation(TRIPOLI)]}


def write_report(tmp_path: Path) -> Path:
    same = record("q1", "How many Russians were arrested in Tripoli?", "Three Russians were arrested in Tripoli. [1]",
                  "Three Russians were arrested in Tripoli [1].")
    # stored as a refusal (say, by an older check); today's checks answer it
    changed = record("q2", "Who arrested three Russians?",
                     "The Tripoli-based government arrested three Russians [1].",
                     "The documents do not contain the answer to this question.")
    no_draft = {"id": "q3", "question": "?", "draft": None, "answer": "", "citations": []}
    run = {"index": str(tmp_path / "gone"), "configs": {"hybrid": {"records": [same, changed, no_draft]}}}
    path = tmp_path / "report.json"
    path.write_text(json.dumps(run))
    return path


def test_only_the_answers_the_checks_now_decide_differently_are_listed(tmp_path, capsys):
    path = write_report(tmp_path)
    assert replay.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "1 of 2 answers change" in out  # the record without a draft is not replayed
    assert "q2 (hybrid)" in out and "now: The Tripoli-based government arrested three Russians [1]." in out
    assert "q1 (hybrid)" not in out


def test_a_missing_report_is_one_line_and_exit_2(tmp_path):
    done = subprocess.run([sys.executable, "-m", "eval", "replay", str(tmp_path / "nowhere")], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: report {tmp_path / 'nowhere'} does not exist"
    assert "Traceback" not in done.stderr


def test_corpus_names_are_read_from_the_reports_index(tmp_path):
    bm25 = tmp_path / "index" / "bm25"
    bm25.mkdir(parents=True)
    (bm25 / "names.json").write_text(json.dumps(["bookworm"]))
    assert replay.corpus_names({"index": str(tmp_path / "index")}) == frozenset({"bookworm"})
    assert replay.corpus_names({"index": str(tmp_path / "gone")}) == frozenset()
    assert replay.corpus_names({}) == frozenset()
