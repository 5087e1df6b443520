"""BM25's analyzer (stop words, stemming, identifiers split and kept whole) and the near-duplicate
filter on the final top-k, against real indexes (real Chroma, the packaged embedder, bm25s)."""
from __future__ import annotations

import pytest

from rag import bm25
from rag.errors import ConfigError
from rag.ingest import ingest
from rag.retrieve import Hit, Retriever, drop_near_duplicates
from tests.conftest import make_settings


def test_identifiers_are_split_and_kept_whole():
    tokens = bm25.identifier_tokens("Call os.path.join, File::Basename and getContent() on snake_case_name")
    for whole, parts in [("os.path.join", ["os", "path", "join"]), ("file::basename", ["file", "basename"]),
                         ("getcontent", ["get", "content"]), ("snake_case_name", ["snake", "case", "name"])]:
        at = tokens.index(whole)
        assert tokens[at + 1:at + 1 + len(parts)] == parts
    assert bm25.identifier_tokens("plain words stay. One each") == ["plain", "words", "stay", "one", "each"]


def test_stop_words_go_and_words_are_stemmed():
    assert bm25.analyze("Installing the packages") == bm25.analyze("installed package")
    assert bm25.analyze("the of and") == [] and bm25.analyze("How can I do what my question says") == ["question", "say"]
    assert "a" not in bm25.analyze("a b getContent")  # one-character tokens carry nothing


def test_stop_words_are_nltks_list():
    """Read from llama-index's bundled file (no nltk import on the query path): the same 179 words."""
    from llama_index.core.utils import globals_helper

    assert bm25.english_stopwords() == frozenset(globals_helper.stopwords) and len(bm25.english_stopwords()) > 150


def test_analyzer_version_is_part_of_the_signature(monkeypatch):
    from rag.store import FileRecord

    records = {"a.txt": FileRecord(source="a.txt", file_hash="h", chunks=3, title="A", ingested_at=0.0)}
    before = bm25.corpus_signature(records)
    monkeypatch.setattr(bm25, "ANALYZER_VERSION", "another-analyzer")
    assert bm25.corpus_signature(records) != before  # an index built by another analyzer gets rebuilt


CODE = """# Reading nodes

The helper below returns the text stored in a node.

    def get_content(node):
        return node.text
"""
PROSE = """# Gardening

Tomatoes need sun, water and a stake to climb. Gardeners pick the harvest in August.
"""
DUPLICATE = ("Privoxy listens on port 8118 of the loopback address by default; browsers must be "
             "configured to use it as their HTTP and HTTPS proxy before any filtering happens.")


@pytest.fixture(scope="module")
def small_index(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("analyzer")
    corpus = tmp / "corpus"
    corpus.mkdir()
    (corpus / "nodes.md").write_text(CODE, encoding="utf-8")
    (corpus / "garden.md").write_text(PROSE, encoding="utf-8")
    (corpus / "faq.txt").write_text(f"{DUPLICATE}\n", encoding="utf-8")  # the same paragraph saved twice
    (corpus / "manual.txt").write_text(f"{DUPLICATE}\n", encoding="utf-8")
    (corpus / "other.txt").write_text("The proxy can also be started as a service on port 8118 at boot, "
                                      "from the init scripts.\n", encoding="utf-8")
    settings = make_settings(tmp)
    ingest(settings, show_progress=False)
    return settings


def test_bm25_finds_code_from_words(small_index):
    hits = Retriever(small_index).search("how do I get the content of a node", k=2, mode="bm25")
    assert hits[0].source == "nodes.md"  # get_content matched through its parts


def test_bm25_matches_identifier_spelled_differently(small_index):
    hits = Retriever(small_index).search("getContent", k=2, mode="bm25")
    assert [h.source for h in hits][:1] == ["nodes.md"]


def test_near_duplicate_passages_leave_the_top_k(small_index):
    question = "Which port does Privoxy listen on by default?"
    kept_all = Retriever(small_index.replace(duplicate_cosine=1.0)).search(question, k=3)
    assert {"faq.txt", "manual.txt"} <= {h.source for h in kept_all[:2]}
    diverse = Retriever(small_index.replace(duplicate_cosine=0.95)).search(question, k=3)
    sources = [h.source for h in diverse]
    assert len({"faq.txt", "manual.txt"} & set(sources)) == 1, sources
    assert "other.txt" in sources and [h.rank for h in diverse] == [1, 2, 3]


def test_drop_near_duplicates_is_greedy_in_rank_order():
    hits = [Hit(rank=0, id=i, source="", title="", start=0, end=0, text=i, score=0.0) for i in "abcd"]
    vectors = {"a": [1.0, 0.0], "b": [0.99, 0.141], "c": [0.0, 1.0], "d": [0.6, 0.8]}
    assert [h.id for h in drop_near_duplicates(hits, vectors, 0.95, k=3)] == ["a", "c", "d"]
    assert [h.id for h in drop_near_duplicates(hits, vectors, 0.95, k=2)] == ["a", "c"]
    assert [h.id for h in drop_near_duplicates(hits, {}, 0.95, k=4)] == ["a", "b", "c", "d"]  # no vectors: all kept


def test_duplicate_cosine_is_range_checked(tmp_path):
    with pytest.raises(ConfigError, match="duplicate_cosine"):
        make_settings(tmp_path, duplicate_cosine=0.2)


def test_words_the_corpus_only_writes_as_names_are_kept_with_the_index(small_index):
    assert bm25.capitalised_only(["The release is currently codenamed Bookworm. Bookworm ships in June.",
                                  "Gardeners water the garden; Water is also a heading word."]) == {"bookworm", "june"}
    retriever = Retriever(small_index)
    retriever.search("when do gardeners pick the harvest?", k=2, mode="hybrid")  # loads the BM25 index
    names = retriever.corpus_names()
    assert "august" in names and "privoxy" not in names  # "Privoxy" only opens a sentence
    assert "tomatoes" not in names and "harvest" not in names
