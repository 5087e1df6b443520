"""Documents as people have them (issue 14): PDF pages in citations, headings, tables, scans and the
other formats, each on a real file written in the test and run through the real ingest and answer
path (extractive backend: fast and deterministic)."""
from __future__ import annotations

import json

import pytest

from rag.cli import main
from rag.ingest import ingest
from rag.loaders import UnreadableFile, load_document
from tests.docfiles import FACT, FACT_PAGE, write_image_only_pdf, write_pdf
from tests.helpers import make_settings

MB = 10**6


@pytest.fixture
def pdf_corpus(tmp_path):
    (tmp_path / "corpus").mkdir()
    write_pdf(tmp_path / "corpus" / "survey.pdf")
    settings = make_settings(tmp_path, llm="extractive")
    report = ingest(settings, show_progress=False)
    assert not report.failed
    return tmp_path, settings


def _cli_json(capsys, tmp_path, *args) -> object:
    code = main([*args, "--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index"), "--json"])
    assert code == 0
    return json.loads(capsys.readouterr().out)


def test_pdf_pages_are_kept_and_each_page_starts_where_its_text_does(tmp_path):
    doc = load_document(write_pdf(tmp_path / "survey.pdf"), MB)
    starts = doc.layout.page_starts
    assert len(starts) == 8 and starts[0] == 0
    assert doc.text[starts[FACT_PAGE - 1]:].startswith(f"Section {FACT_PAGE}")
    assert doc.layout.page_at(doc.text.index(FACT)) == FACT_PAGE
    assert doc.title == "Harbour survey"


def test_ask_cites_the_page_of_the_fact(pdf_corpus, capsys):
    tmp_path, _ = pdf_corpus
    result = _cli_json(capsys, tmp_path, "ask", "Who painted the Vexmoor lighthouse green?", "--llm", "extractive")
    assert not result["refused"] and "Alma Quist" in result["answer"]
    cited = [c for c in result["citations"] if c["cited"]]
    assert cited and all(c["page"] == FACT_PAGE for c in cited), cited
    assert cited[0]["heading"] == f"Harbour survey › Section {FACT_PAGE}"
    hits = _cli_json(capsys, tmp_path, "search", "Vexmoor lighthouse painted green", "--k", "2")
    assert hits[0]["page"] == FACT_PAGE and "Alma Quist" in hits[0]["text"]


def test_cli_prints_the_page(pdf_corpus, capsys):
    tmp_path, _ = pdf_corpus
    code = main(["ask", "Who painted the Vexmoor lighthouse green?", "--llm", "extractive",
                 "--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index")])
    out = capsys.readouterr().out
    assert code == 0 and f"survey.pdf (Harbour survey › Section {FACT_PAGE}) p. {FACT_PAGE}, chars" in out


def test_a_pdf_without_text_layer_is_skipped_with_a_clear_message(tmp_path, capsys):
    (tmp_path / "corpus").mkdir()
    write_image_only_pdf(tmp_path / "corpus" / "scan.pdf")
    (tmp_path / "corpus" / "notes.txt").write_text("The ferry timetable changes in May.\n")
    with pytest.raises(UnreadableFile, match="no text layer.*none of its 2 pages.*OCR is not available"):
        load_document(tmp_path / "corpus" / "scan.pdf", MB)
    code = main(["ingest", "-q", "--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index")])
    err = capsys.readouterr().err
    assert code == 3 and "skipped scan.pdf: no text layer" in err
