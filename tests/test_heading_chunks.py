"""Heading paths in what is embedded and BM25-indexed (issue 12, item 2), and a file chunked again
when the way it was chunked changed (a new chunking version or RAG_CHUNK_SIZE), on real files."""
from __future__ import annotations

from dataclasses import asdict

from rag.chunking import HEADING_TOKEN_BUDGET, chunk_text, chunking_recipe, clip_heading
from rag.embedding import MODEL_WINDOW, token_counts
from rag.ingest import ingest
from rag.loaders import load_document
from rag.retrieve import Retriever
from rag.store import Store, record_id
from tests.helpers import make_settings

MB = 10**6
GUIDE = """# Field guide

## Wetlands

### Birds

The heron nests in reeds along the shore and feeds at dawn on small fish.

## Mountains

### Mammals

The ibex climbs steep rock faces in summer and winters lower down the valley.
"""
OTHER = "Notes on the harbour\n\nThe ferry leaves at seven and returns before noon on weekdays.\n"


def _corpus(tmp_path, **settings):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "guide.md").write_text(GUIDE)
    (tmp_path / "corpus" / "harbour.txt").write_text(OTHER)
    return make_settings(tmp_path, llm="extractive", **settings)


def test_each_chunk_is_embedded_under_its_heading_path(tmp_path):
    path = tmp_path / "guide.md"
    path.write_text(GUIDE)
    doc = load_document(path, MB)
    chunks = chunk_text(doc.text, doc.title, 160, 32, doc.layout)
    heron = next(c for c in chunks if "heron" in c.text)
    ibex = next(c for c in chunks if "ibex" in c.text)
    assert heron.embed_text == f"Field guide › Wetlands › Birds\n{heron.text}"
    assert ibex.embed_text == f"Field guide › Mountains › Mammals\n{ibex.text}"
    assert all(token_counts([c.embed_text])[0] + 2 <= MODEL_WINDOW for c in chunks)


def test_a_text_file_is_embedded_under_its_title(tmp_path):
    path = tmp_path / "harbour.txt"
    path.write_text(OTHER)
    doc = load_document(path, MB)
    [chunk] = chunk_text(doc.text, doc.title, 160, 32, doc.layout)
    assert chunk.embed_text == f"{doc.title}\n{chunk.text}"


def test_a_long_heading_path_keeps_the_title_and_the_innermost_section():
    middle = " › ".join(f"Section number {i} about a great many different things" for i in range(12))
    clipped, tokens = clip_heading(f"Annual report › {middle} › Wildlife")
    assert clipped == "Annual report › Wildlife"
    assert tokens <= HEADING_TOKEN_BUDGET
    clipped, tokens = clip_heading("word " * 200)
    assert 0 < tokens <= HEADING_TOKEN_BUDGET


def test_bm25_finds_a_passage_by_a_word_of_its_parent_heading(tmp_path):
    settings = _corpus(tmp_path)
    ingest(settings, show_progress=False)
    hits = Retriever(settings).lexical("wetlands", 10)
    # "Wetlands" is not in the heron passage, only in the heading over it.
    assert any("heron" in h.text for h in hits)
    assert not any("ibex" in h.text for h in hits)


def test_a_changed_chunk_size_chunks_the_files_again(tmp_path):
    settings = _corpus(tmp_path)
    ingest(settings, show_progress=False)
    smaller = settings.replace(chunk_size=32, chunk_overlap=8)
    report = ingest(smaller, show_progress=False)
    assert sorted(report.updated) == ["guide.md", "harbour.txt"]
    records = Store(smaller).file_records()
    assert {r.recipe for r in records.values()} == {chunking_recipe(32, 8)}
    assert sorted(ingest(smaller, show_progress=False).skipped) == ["guide.md", "harbour.txt"]


def test_an_index_from_before_the_recipe_was_recorded_is_chunked_again(tmp_path):
    settings = _corpus(tmp_path)
    ingest(settings, show_progress=False)
    store = Store(settings)
    # The record as an earlier version wrote it: no recipe field.
    legacy = {k: v for k, v in asdict(store.file_records()["harbour.txt"]).items() if k != "recipe"}
    store.drop_file_record("harbour.txt")
    store.files.add(ids=[record_id("harbour.txt")], embeddings=[[1.0]], metadatas=[legacy])
    assert store.file_records()["harbour.txt"].recipe == ""
    report = ingest(settings, show_progress=False)
    assert report.updated == ["harbour.txt"] and report.skipped == ["guide.md"]
    assert Retriever(settings).search("When does the ferry leave?", k=1, mode="hybrid")[0].source == "harbour.txt"


def test_bm25_feedback_finds_a_passage_through_the_words_of_the_best_one(tmp_path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "heron.txt").write_text("Herons\n\nThe heron nests in tall reeds along the marsh shore.\n")
    (tmp_path / "corpus" / "egret.txt").write_text("Egrets\n\nEgrets wade in the reeds of the marsh shore at dawn.\n")
    (tmp_path / "corpus" / "ferry.txt").write_text(OTHER)
    settings = make_settings(tmp_path, llm="extractive")
    ingest(settings, show_progress=False)
    plain = Retriever(settings).lexical("heron", 5)
    assert [h.source for h in plain] == ["heron.txt"]  # the only chunk with the word
    expanded = Retriever(settings.replace(bm25_feedback=1)).lexical("heron", 5)
    assert [h.source for h in expanded][:2] == ["heron.txt", "egret.txt"]  # through "reeds", "marsh", "shore"


HISTORY = """<html><head><title>Chapter 2. Harbour history</title></head><body>
<table><tr><td>Chapter 2. Harbour history</td></tr></table>
<h1>Chapter 2. Harbour history</h1>
<h2>2.1. Lights</h2>
<h3>2.1.1. The north light</h3>
<p>The north light was built in 1881 by the harbour board and was lit every night until 1975.</p>
<h3>2.1.2. The south light</h3>
<p>The south light stands on the breakwater. Its keepers rowed out each evening, and the lamp burned
whale oil until the harbour board brought gas to the pier in 1902.</p>
<table><tr><td>Lamp: gas</td></tr></table>
<h2>2.2. Boats</h2>
<p>Ferries to the islands left from the east quay twice a day in summer and once in winter.</p>
</body></html>"""


def _history_chunks(tmp_path):
    path = tmp_path / "history.html"
    path.write_text(HISTORY)
    doc = load_document(path, MB)
    return doc, chunk_text(doc.text, doc.title, 160, 32, doc.layout)


def test_a_heading_with_no_text_of_its_own_is_chunked_with_its_first_subsection(tmp_path):
    doc, chunks = _history_chunks(tmp_path)
    # A page-header table and headings over no text ("2.1. Lights") were chunks of their own, which
    # ranked high for their words and held no answer.
    assert all(len(c.text.split()) >= 8 for c in chunks), [c.text for c in chunks]
    north = next(c for c in chunks if "north light was built" in c.text)
    assert north.text.startswith("| Chapter 2. Harbour history |") and "2.1. Lights" in north.text
    assert north.embed_text.startswith("Chapter 2. Harbour history › 2.1. Lights › 2.1.1. The north light\n")
    assert all(doc.text[c.start:c.end] == c.text for c in chunks)


def test_a_short_table_closing_its_section_stays_with_the_section(tmp_path):
    _, chunks = _history_chunks(tmp_path)
    south = next(c for c in chunks if "south light stands" in c.text)
    assert "| Lamp: gas |" in south.text and south.path[-1] == "2.1.2. The south light"
    boats = next(c for c in chunks if "Ferries" in c.text)
    assert "Lamp" not in boats.text and boats.path[-1] == "2.2. Boats"


def test_the_sources_panel_shows_the_heading_a_joined_chunk_is_embedded_under(tmp_path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "history.html").write_text(HISTORY)
    settings = make_settings(tmp_path, llm="extractive")
    ingest(settings, show_progress=False)
    [hit] = Retriever(settings).search("When was the north light built?", k=1, mode="hybrid")
    assert "north light was built" in hit.text
    assert hit.metadata["heading"] == "Chapter 2. Harbour history › 2.1. Lights › 2.1.1. The north light"
