"""The hand-written evaluation data for issue 10: the debian-history question set and the verifier's
labelled (sentence, passage) pairs. Evidence and passages must be verbatim corpus text as the project's
loader reads it (HTML included), under the eval's rule: lower-cased, whitespace collapsed."""
from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest

from eval.dataset import load_questions
from eval.metrics import normalize
from rag.loaders import SUPPORTED_SUFFIXES, load_document

REPO = Path(__file__).resolve().parents[1]
CORPORA = {"default": REPO / "corpus", "debian-history": REPO / "eval" / "corpora" / "debian-history"}
QUESTIONS = REPO / "eval" / "questions-debian-history.jsonl"
SUPPORT = REPO / "eval" / "support.jsonl"

QUESTION_FIELDS = {"id", "kind", "question", "answer", "evidence", "answerable", "history", "keywords"}
SUPPORT_FIELDS = {"id", "corpus", "question", "sentence", "passage", "supported", "answers_question", "kind", "split"}
SUPPORTED_KINDS = {"faithful", "paraphrase"}
CORRUPTION_KINDS = {"number", "name", "swap", "negation", "place", "date", "relation", "unrelated"}
SUPPORT_KINDS = SUPPORTED_KINDS | CORRUPTION_KINDS | {"off_question"}


@lru_cache(maxsize=None)
def corpus_texts(name: str) -> tuple[str, ...]:
    """Normalized text of every document in a corpus, one entry per file (evidence may not span files)."""
    files = [p for p in sorted(CORPORA[name].rglob("*")) if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES]
    assert files, f"no documents in {CORPORA[name]}"
    return tuple(normalize(load_document(p, max_bytes=20_000_000).text) for p in files)


def in_corpus(name: str, snippet: str) -> bool:
    wanted = normalize(snippet)
    return any(wanted in text for text in corpus_texts(name))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# --- the corpus -----------------------------------------------------------------------------------
def test_debian_history_corpus_is_small_multi_document_and_loads():
    folder = CORPORA["debian-history"]
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert 6 <= len(files) <= 20
    assert all(p.suffix.lower() in SUPPORTED_SUFFIXES for p in files), "only documents belong in the folder"
    assert sum(p.stat().st_size for p in files) < 1_500_000
    assert all(len(text) > 500 for text in corpus_texts("debian-history"))
    assert (folder.parent / "debian-history.SOURCE.md").is_file()


# --- questions ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def questions() -> list[dict]:
    return read_jsonl(QUESTIONS)


def test_question_file_loads_with_the_eval_reader(questions):
    loaded = load_questions(QUESTIONS)
    assert [q.id for q in loaded] == [q["id"] for q in questions]
    assert len({q.id for q in loaded}) == len(loaded) >= 45


def test_question_schema(questions):
    for q in questions:
        assert set(q) - {"resolves"} == QUESTION_FIELDS, q["id"]
        assert ("resolves" in q) == bool(q["history"]), q["id"]  # every follow-up names its referent
        assert isinstance(q["answerable"], bool) and q["question"].strip()
        assert all(isinstance(h, str) and h.strip() for h in q["history"])
        assert all(isinstance(g, list) and g and all(isinstance(s, str) and s for s in g) for g in q["keywords"])
        if q["answerable"]:
            assert q["answer"] and q["evidence"] and q["keywords"], q["id"]
        else:
            assert q["answer"] == "" and q["evidence"] == [] and q["keywords"] == [], q["id"]


def test_question_kinds(questions):
    kinds = Counter(q["kind"] for q in questions)
    assert kinds["single-fact"] + kinds["multi-fact"] >= 24
    assert kinds["multi-document"] >= 6
    assert kinds["unanswerable"] >= 9
    assert kinds["follow-up"] >= 6
    assert all(q["history"] for q in questions if q["kind"] == "follow-up")
    assert all(not q["answerable"] for q in questions if q["kind"] == "unanswerable")


def test_evidence_is_verbatim_corpus_text(questions):
    missing = [(q["id"], e) for q in questions for e in q["evidence"] if not in_corpus("debian-history", e)]
    assert not missing


def test_multi_document_evidence_spans_two_documents(questions):
    for q in (q for q in questions if q["kind"] == "multi-document"):
        docs = [{i for i, text in enumerate(corpus_texts("debian-history")) if normalize(e) in text} for e in q["evidence"]]
        # Some single document must lack some piece of evidence, or one file would answer alone.
        assert not set.intersection(*docs), q["id"]


def test_gold_answers_satisfy_their_own_keywords(questions):
    for q in (q for q in questions if q["answerable"]):
        answer = normalize(q["answer"])
        assert all(any(normalize(s) in answer for s in group) for group in q["keywords"]), q["id"]


# --- verifier pairs ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pairs() -> list[dict]:
    return read_jsonl(SUPPORT)


def test_support_schema_and_unique_ids(pairs):
    assert len(pairs) >= 220
    assert len({p["id"] for p in pairs}) == len(pairs)
    for p in pairs:
        assert set(p) == SUPPORT_FIELDS, p["id"]
        assert p["corpus"] in CORPORA and p["kind"] in SUPPORT_KINDS and p["split"] in {"dev", "test"}, p["id"]
        assert isinstance(p["supported"], bool) and isinstance(p["answers_question"], bool), p["id"]
        assert p["question"].strip() and p["sentence"].strip() and "[" not in p["sentence"], p["id"]
        assert 150 <= len(p["passage"]) <= 500, (p["id"], len(p["passage"]))


def test_support_passages_are_verbatim(pairs):
    missing = [p["id"] for p in pairs if not in_corpus(p["corpus"], p["passage"])]
    assert not missing


def test_support_labels_follow_kinds(pairs):
    for p in pairs:
        if p["kind"] in SUPPORTED_KINDS:
            assert p["supported"] and p["answers_question"], p["id"]
        elif p["kind"] == "off_question":
            assert p["supported"] and not p["answers_question"], p["id"]
        else:
            assert not p["supported"], p["id"]
            # A corrupted sentence copied verbatim from its passage would be supported after all.
            assert normalize(p["sentence"]).rstrip(".") not in normalize(p["passage"]), p["id"]


def test_support_counts_per_kind_split_and_corpus(pairs):
    kinds = Counter(p["kind"] for p in pairs)
    assert set(kinds) == SUPPORT_KINDS
    assert all(n >= 12 for n in kinds.values()), kinds
    assert sum(1 for p in pairs if p["kind"] in SUPPORTED_KINDS) >= 90
    for kind in SUPPORT_KINDS:
        splits = Counter(p["split"] for p in pairs if p["kind"] == kind)
        assert abs(splits["dev"] - splits["test"]) <= 1, (kind, splits)
    corpora = Counter(p["corpus"] for p in pairs)
    assert min(corpora.values()) >= 0.4 * len(pairs), corpora
