"""Documents as people have them (issue 14): PDF pages in citations, headings, tables, scans and the
other formats, each on a real file written in the test and run through the real ingest and answer
path (extractive backend: fast and deterministic)."""
from __future__ import annotations

import json

import pytest

from rag.cli import main
from rag.ingest import ingest
from rag.loaders import UnreadableFile, load_document
from tests.docfiles import (AFTER_TABLE, FACT, FACT_PAGE, write_image_only_pdf, write_pdf, write_table_pdf,
                            write_two_column_pdf)
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
    code = main(["search", "Vexmoor lighthouse painted green", "--k", "1",
                 "--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index")])
    out = capsys.readouterr().out
    assert code == 0 and f"survey.pdf (Harbour survey › Section {FACT_PAGE}) p. {FACT_PAGE}, chars" in out


def test_a_passage_over_two_pages_is_labelled_pp():
    from rag.answer.results import page_label

    assert page_label(6, 7) == "pp. 6–7" and page_label(6) == "p. 6" and page_label(None) == ""


def test_a_pdf_without_text_layer_is_skipped_with_a_clear_message(tmp_path, capsys):
    (tmp_path / "corpus").mkdir()
    write_image_only_pdf(tmp_path / "corpus" / "scan.pdf")
    (tmp_path / "corpus" / "notes.txt").write_text("The ferry timetable changes in May.\n")
    with pytest.raises(UnreadableFile, match="no text layer.*none of its 2 pages.*OCR is not available"):
        load_document(tmp_path / "corpus" / "scan.pdf", MB)
    code = main(["ingest", "-q", "--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index")])
    err = capsys.readouterr().err
    assert code == 3 and "skipped scan.pdf: no text layer" in err


TABLE = ("| Species | Count | Where seen |\n|---|---|---|\n| Oystercatcher | 41 | nesting on the shingle |\n"
         "| Curlew | 17 | feeding at low tide |\n| Little tern | 6 | a new colony \\| east spit |")


def test_a_ruled_pdf_table_is_indexed_whole_as_a_markdown_table_and_cited_on_its_page(tmp_path, capsys):
    (tmp_path / "corpus").mkdir()
    write_table_pdf(tmp_path / "corpus" / "birds.pdf")
    doc = load_document(tmp_path / "corpus" / "birds.pdf", MB)
    assert TABLE in doc.text  # rows and columns, not one cell per line
    assert doc.layout.page_at(doc.text.index(TABLE)) == 2
    assert doc.text.index(AFTER_TABLE) > doc.text.index(TABLE)
    assert not ingest(make_settings(tmp_path, llm="extractive"), show_progress=False).failed
    hits = _cli_json(capsys, tmp_path, "search", "How many curlews were counted?", "--k", "2")
    assert TABLE in hits[0]["text"] and hits[0]["page"] == 2  # the whole table in one chunk, on its page


def test_two_columns_of_prose_in_a_ruled_frame_make_no_table(tmp_path):
    doc = load_document(write_two_column_pdf(tmp_path / "newsletter.pdf"), MB)
    assert "|" not in doc.text and not doc.layout.tables
    assert "The ferry timetable changes in May." in doc.text


def test_the_page_viewer_highlights_a_passage_after_a_table_where_it_is(tmp_path):
    import io

    from PIL import Image

    from rag.formats.pdf import open_pdf
    from rag.pageview import DPI, page_image

    (tmp_path / "corpus").mkdir()
    path = write_table_pdf(tmp_path / "corpus" / "birds.pdf")
    doc = load_document(path, MB)
    page_start = doc.layout.page_starts[1]
    start = doc.text.index(AFTER_TABLE) - page_start  # past the table, whose Markdown is longer than pdfium's text
    image = page_image(make_settings(tmp_path), "birds.pdf", 2, start, start + len(AFTER_TABLE), AFTER_TABLE)
    assert image is not None and image.boxes >= 1
    pdf = open_pdf(path)
    textpage = pdf[1].get_textpage()
    first = textpage.get_text_range().index(AFTER_TABLE)
    expected = [textpage.get_charbox(i) for i in (first, first + len(AFTER_TABLE) - 1)]
    height = pdf[1].get_height()
    pdf.close()
    pixels = Image.open(io.BytesIO(image.png)).convert("RGB")
    marked = [(x, y) for y in range(0, pixels.height, 2) for x in range(0, pixels.width, 2)
              if _is_highlight(pixels.getpixel((x, y)))]
    scale = DPI / 72
    top, bottom = (height - expected[0][3]) * scale, (height - expected[0][1]) * scale
    left, right = expected[0][0] * scale, expected[1][2] * scale
    assert marked and all(top - 3 <= y <= bottom + 3 and left - 3 <= x <= right + 3 for x, y in marked)
    assert min(x for x, _ in marked) <= left + 4 and max(x for x, _ in marked) >= right - 4  # all of it
    row = doc.text.index("| Curlew |") - page_start  # a passage inside the table marks the table's text
    inside = page_image(make_settings(tmp_path), "birds.pdf", 2, row, row + 30, doc.text[page_start + row:][:30])
    assert inside is not None and inside.boxes >= 4  # one box per line of the table at least


def _is_highlight(rgb) -> bool:
    r, g, b = rgb
    return r > 240 and 200 < g < 245 and b < 200  # the translucent yellow over white paper
