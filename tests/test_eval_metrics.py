"""Metric functions on hand-computed cases, the question-file reader, the POD converter, and the
project's own question file (its evidence must be verbatim corpus text)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from eval import metrics, pod, scoring
from eval.dataset import EvalInputError, load_questions
from eval.external import faq_page
from eval.scoring import summarize

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = REPO / "eval" / "questions.jsonl"


# --- ranking ------------------------------------------------------------------------------------
def test_hit_at_k_and_reciprocal_rank():
    relevance = [False, True, False, False, True]
    assert [metrics.hit_at(relevance, k) for k in (1, 3, 5)] == [0.0, 1.0, 1.0]
    assert metrics.reciprocal_rank(relevance) == 0.5
    assert metrics.reciprocal_rank([False, False, True]) == pytest.approx(1 / 3)
    assert metrics.reciprocal_rank([False] * 5) == 0.0
    assert metrics.hit_at([], 5) == 0.0


def test_ndcg_hand_computed():
    # Relevant at ranks 2 and 5, two relevant chunks in the index:
    # DCG = 1/log2(3) + 1/log2(6) = 0.63093 + 0.38685; IDCG = 1/log2(2) + 1/log2(3) = 1.63093
    got = metrics.ndcg_at([False, True, False, False, True], 5, total_relevant=2)
    assert got == pytest.approx((1 / math.log2(3) + 1 / math.log2(6)) / (1 + 1 / math.log2(3)))
    assert got == pytest.approx(0.62405, abs=1e-4)
    # Three relevant in the index but only one retrieved, at rank 1: 1 / (1 + 0.63093 + 0.5)
    assert metrics.ndcg_at([True, False, False], 5, total_relevant=3) == pytest.approx(1 / 2.13093, abs=1e-4)
    assert metrics.ndcg_at([True], 5) == 1.0
    assert metrics.ndcg_at([False, False], 5, total_relevant=1) == 0.0


# --- relevance ----------------------------------------------------------------------------------
EVIDENCE = ("The themes of the conference were the exchange of ideas to promote stability, security, "
            "human rights and prosperity among the 53 countries")  # 138 characters


def test_relevance_normalizes_case_and_whitespace():
    assert metrics.is_relevant("xx The THEMES of the\n conference   were yy", ["the themes of the conference were"])
    assert not metrics.is_relevant("the themes of a conference", ["the themes of the conference"])


def test_relevance_accepts_a_run_of_50_characters_across_a_chunk_boundary():
    tail_60 = EVIDENCE[-60:]  # the chunk holds only the last 60 characters of the evidence
    tail_40 = EVIDENCE[-40:]
    head_55 = EVIDENCE[:55]
    assert metrics.is_relevant("Earlier sentence. " + tail_60 + " in Africa.", [EVIDENCE])
    assert metrics.is_relevant(head_55, [EVIDENCE])
    assert not metrics.is_relevant("Earlier sentence. " + tail_40, [EVIDENCE])
    # Short evidence (under 50 characters) must be contained whole.
    assert not metrics.is_relevant("General Michael", ["General Michael Langley"])


def test_relevance_judge_agrees_with_the_direct_check():
    chunks = [("c1", "Intro. " + EVIDENCE[:70]), ("c2", EVIDENCE[-49:] + " Next."), ("c3", "Nothing related."),
              ("c4", "Again: " + EVIDENCE.upper())]
    judge = metrics.RelevanceJudge(chunks)
    # c2 holds only the last 49 characters: below the 50-character run.
    assert judge.relevant_ids([EVIDENCE]) == {"c1", "c4"}
    assert {cid for cid, text in chunks if metrics.is_relevant(text, [EVIDENCE])} == {"c1", "c4"}
    assert judge.relevant_ids(["nothing related"]) == {"c3"}
    assert judge.relevant_ids([]) == set()


# --- answers ------------------------------------------------------------------------------------
def test_token_f1_hand_computed():
    # prediction tokens: gaborone, botswana; gold: gaborone, botswana, city ("in" is a stop word)
    # precision 2/2, recall 2/3 -> F1 = 2 * 1 * 2/3 / (1 + 2/3) = 0.8
    assert metrics.token_f1("Gaborone, Botswana [1].", "in Gaborone Botswana city") == pytest.approx(0.8)
    assert metrics.token_f1("Paris", "Gaborone") == 0.0
    assert metrics.token_f1("", "") == 1.0


def test_keyword_match_needs_one_alternative_of_every_group():
    groups = [["Langley"], ["general", "gen."]]
    assert metrics.keyword_match("General Michael LANGLEY [1]", groups) == 1.0
    assert metrics.keyword_match("Michael Langley", groups) == 0.0
    assert metrics.keyword_match("anything", []) is None


def _semantic(answer: str, gold: str, embed=None) -> float:
    record = {"answer": answer, "gold_answer": gold, "answerable": True, "refused": False, "scores": {}}
    scoring.add_semantic_similarity([record], embed)
    return record["scores"]["semantic"]


def test_semantic_similarity_with_given_vectors_and_with_the_packaged_model():
    vectors = {"a": [1.0, 0.0], "b": [0.6, 0.8]}
    assert _semantic("a", "b", embed=lambda texts: [vectors[t] for t in texts]) == pytest.approx(0.6)
    close = _semantic("The conference was held in Gaborone.", "In Gaborone, Botswana.")
    far = _semantic("The conference was held in Gaborone.", "Knead the sourdough twice.")
    assert close > far


# --- citations and refusals ---------------------------------------------------------------------
def test_citation_validity_and_support_rate():
    assert metrics.cited_numbers("A [1]. B [3][2].") == [1, 3, 2]
    assert metrics.citation_validity("A [1]. B [3][2].", shown=2) == pytest.approx(2 / 3)
    assert metrics.citation_validity("A [0].", shown=2) == 0.0  # numbering is 1-based
    assert metrics.citation_validity("No markers.", shown=4) is None
    assert metrics.support_rate([True, False, None, True]) == pytest.approx(2 / 3)
    assert metrics.support_rate([None]) is None


def test_refusal_scores_hand_computed():
    # answerable: T T F F F; refused: T F T T F -> tp 2 (unanswerable refused), fp 1, fn 1
    got = metrics.refusal_scores([True, True, False, False, False], [True, False, True, True, False])
    assert got == {"refusal_precision": pytest.approx(2 / 3), "refusal_recall": pytest.approx(2 / 3),
                   "false_refusal_rate": 0.5}
    assert metrics.refusal_scores([True], [False])["refusal_precision"] is None


def test_percentile_interpolates_like_numpy():
    assert metrics.percentile([4, 1, 3, 2], 50) == 2.5
    assert metrics.percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert metrics.percentile([], 50) is None


def test_summary_means_and_latency():
    records = [
        {"answerable": True, "scores": {"hit@1": 1.0, "mrr": 1.0}, "timings": {"retrieve_s": 0.1},
         "answer": "x [1]", "refused": False},
        {"answerable": True, "scores": {"hit@1": 0.0, "mrr": 0.5}, "timings": {"retrieve_s": 0.3},
         "answer": "", "refused": True},
        {"answerable": False, "scores": {}, "timings": {"retrieve_s": 0.2}, "answer": "", "refused": True},
    ]
    s = summarize(records)
    assert s["hit@1"] == 0.5 and s["mrr"] == 0.75 and s["n_mrr"] == 2
    assert s["retrieve_s_p50"] == pytest.approx(0.2)
    assert s["refusal_precision"] == 0.5 and s["refusal_recall"] == 1.0 and s["false_refusal_rate"] == 0.5


# --- question files -----------------------------------------------------------------------------
def test_question_file_reader_ignores_unknown_fields_and_names_bad_lines(tmp_path):
    good = tmp_path / "q.jsonl"
    good.write_text('{"question": "Who?", "answer": "Him", "extra": 1, "keywords": ["him"]}\n\n'
                    '{"id": "x", "question": "Why?", "answerable": false}\n')
    first, second = load_questions(good)
    assert first.id == "q1" and first.keywords == [["him"]] and first.answerable
    assert second.id == "x" and not second.answerable and second.history == []
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "Who?"}\n{"question": "Why?"\n')
    with pytest.raises(EvalInputError, match=r"bad.jsonl:2: not valid JSON"):
        load_questions(bad)
    with pytest.raises(EvalInputError, match="does not exist"):
        load_questions(tmp_path / "missing.jsonl")


def _corpus_text() -> str:
    return " ".join(metrics.normalize(p.read_text(encoding="utf-8")) for p in sorted((REPO / "corpus").glob("*.txt")))


def test_project_question_file_meets_the_brief():
    questions = load_questions(QUESTIONS)
    assert len(questions) >= 40
    assert sum(not q.answerable for q in questions) >= 8
    assert sum(bool(q.history) for q in questions) >= 5
    for q in questions:
        assert q.answerable == bool(q.evidence), q.id
        assert q.answerable == bool(q.answer), q.id


def test_every_evidence_string_is_verbatim_corpus_text():
    corpus = _corpus_text()
    missing = [(json.loads(line)["id"], e) for line in QUESTIONS.read_text(encoding="utf-8").splitlines()
               for e in json.loads(line)["evidence"] if metrics.normalize(e) not in corpus]
    assert missing == []


# --- POD conversion (external set) --------------------------------------------------------------
def test_pod_formatting_codes():
    text = 'Use C<< $a->b >> or C<printf>, see L<perlop/"Floating-point Arithmetic">, E<lt>tagE<gt> I<B<x>>X<idx>.'
    assert pod.formatting_to_text(text) == 'Use $a->b or printf, see "Floating-point Arithmetic" in perlop, <tag> x.'
    assert pod.formatting_to_text("L<the docs|perlfaq4> and L<perlfunc>") == "the docs and perlfunc"


def test_faq_page_removes_question_headings_and_keeps_answers_as_evidence():
    source = ("=head1 NAME\n\nperlfaqX - Test\n\n=head2 How do I count lines?\n\n"
              "Read the file\nline by line and increment a counter for every line you see, then print it.\n\n"
              "    my $n = 0;\n\n=head2 Short?\n\nSee perlfaq5.\n\n=head1 AUTHOR\n\nSomebody.\n")
    text, questions = faq_page(pod.blocks(source), "perlfaqX")
    assert "How do I count lines?" not in text and "Short?" not in text
    assert "Read the file line by line and increment" in text and "    my $n = 0;" in text
    assert [q.question for q in questions] == ["How do I count lines?"]  # "See perlfaq5." is too short
    assert metrics.normalize(questions[0].evidence[0]) in metrics.normalize(text)
    assert questions[0].id == "perlfaqX-001"


def test_a_follow_up_is_resolved_when_its_rewrite_names_the_referent():
    from eval.scoring import rewrite_scores

    assert metrics.names_referent("Where did Langley serve?", ["Langley"]) == 1.0
    assert metrics.names_referent("Who hosted the first master.debian.org server?", ["master.debian.org"]) == 1.0
    assert metrics.names_referent("What were they suspected of?", ["Russians"]) == 0.0
    assert metrics.names_referent("Where is Langleyville?", ["Langley"]) == 0.0  # whole words only
    record = {"history": ["Who is the commander?"], "resolves": ["Langley"], "standalone_question": "Who is he?"}
    assert rewrite_scores(record) == {"rewrite": 0.0}
    assert rewrite_scores({**record, "resolves": []}) == {}  # not annotated: not scored


def test_cosine_of_float32_vectors_is_a_json_number():
    import json

    import numpy as np

    from eval.metrics import cosine

    value = cosine(np.array([1.0, 0.0], dtype=np.float32), np.array([1.0, 1.0], dtype=np.float32))
    assert json.loads(json.dumps({"semantic": value}, default=str))["semantic"] == pytest.approx(0.7071, abs=1e-4)
