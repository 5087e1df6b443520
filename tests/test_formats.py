"""Headings, tables and the other formats (issue 14), each on a real file written here with the
format's own library, read through rag.loaders and, for one, ingested and cited."""
from __future__ import annotations

from pathlib import Path

from rag.loaders import load_document

LIMIT = 10 ** 7


def test_html_nested_sections_and_a_table(tmp_path: Path):
    page = tmp_path / "guide.html"
    page.write_text("<html><head><title>Harbour guide</title></head><body><h1>Harbour guide</h1>"
                    "<h2>Lights</h2><p>The north light is red.</p><h3>Vexmoor</h3><p>Vexmoor was painted green.</p>"
                    "<table><tr><th>Buoy</th><th>Colour</th></tr><tr><td>B1</td><td>red</td></tr></table>"
                    "</body></html>")
    doc = load_document(page, LIMIT)
    assert doc.layout.heading_at(doc.text.index("Vexmoor was")) == ("Harbour guide", "Lights", "Vexmoor")
    assert doc.layout.heading_at(doc.text.index("The north light")) == ("Harbour guide", "Lights")
    assert "| Buoy | Colour |\n|---|---|\n| B1 | red |" in doc.text  # rows and columns, not words run together


def test_html_navigation_is_not_text(tmp_path: Path):
    # As DocBook, Sphinx and most site generators write every page: a header bar (a table), a table of
    # contents, a sidebar; only the page's own content is text to cite.
    page = tmp_path / "history.html"
    page.write_text(
        '<html><head><title>Chapter 4. History</title></head><body>'
        '<div class="navheader"><table><tr><th>Chapter 4. History</th></tr>'
        '<tr><td><a href="ch3.html">Prev</a></td><td><a href="ch5.html">Next</a></td></tr></table></div>'
        '<div class="chapter"><h1>Chapter 4. History</h1>'
        '<div class="toc"><p><b>Table of Contents</b></p><dl><dt>4.1. The founding</dt>'
        '<dt>4.2. December 2015: the founder died</dt></dl></div>'
        '<h2>4.1. The founding</h2><p>The harbour society was founded in 1881 by the ferry keepers.</p>'
        '<nav><ul><li>Home</li><li>Search the site</li></ul></nav>'
        '<div role="navigation">Previous chapter</div>'
        '<table><tr><th>Year</th><th>Members</th></tr><tr><td>1881</td><td>12</td></tr></table>'
        '</div><div class="navfooter"><table><tr><td>Up</td><td>Home</td></tr></table></div></body></html>')
    doc = load_document(page, LIMIT)
    for navigation in ("Prev", "Next", "Table of Contents", "December 2015", "Search the site", "Previous chapter",
                       "Up"):
        assert navigation not in doc.text, navigation
    assert doc.text.startswith("Chapter 4. History\n4.1. The founding\nThe harbour society was founded in 1881")
    assert "| Year | Members |" in doc.text  # the page's own table stays
    assert doc.layout.heading_at(doc.text.index("The harbour society")) == ("Chapter 4. History", "4.1. The founding")


def test_docx_headings_and_a_table(tmp_path: Path):
    import docx

    document = docx.Document()
    document.add_heading("Report", 0)
    document.add_heading("Section 6", 1)
    document.add_heading("Wildlife", 2)
    document.add_paragraph("Otters returned to the bay.")
    table = document.add_table(rows=2, cols=2)
    for (r, c), text in {(0, 0): "Animal", (0, 1): "Count", (1, 0): "Otter", (1, 1): "12"}.items():
        table.cell(r, c).text = text
    document.save(tmp_path / "report.docx")
    doc = load_document(tmp_path / "report.docx", LIMIT)
    assert doc.layout.heading_at(doc.text.index("Otters")) == ("Section 6", "Wildlife")
    assert "| Animal | Count |\n|---|---|\n| Otter | 12 |" in doc.text


def _long_paragraph() -> str:
    return " ".join(f"The survey of stretch {i} counted waders along the mudflats at low tide." for i in range(9))


def _table_chunks(doc) -> list[str]:
    from rag.chunking import chunk_text

    return [c.text for c in chunk_text(doc.text, doc.title, 160, 32, doc.layout) if "| Species |" in c.text]


def test_html_and_docx_tables_start_a_chunk_and_stay_whole(tmp_path: Path):
    import docx

    rows = [("Species", "Count")] + [(f"Wader {i}", str(10 + i)) for i in range(8)]
    page = tmp_path / "survey.html"
    page.write_text("<html><body><h1>Survey</h1><p>" + _long_paragraph() + "</p><table>"
                    + "".join(f"<tr><td>{a}</td><td>{b}</td></tr>" for a, b in rows) + "</table></body></html>")
    document = docx.Document()
    document.add_heading("Survey", 1)
    document.add_paragraph(_long_paragraph())
    table = document.add_table(rows=len(rows), cols=2)
    for r, (a, b) in enumerate(rows):
        table.cell(r, 0).text, table.cell(r, 1).text = a, b
    document.save(tmp_path / "survey.docx")
    for path in (page, tmp_path / "survey.docx"):
        doc = load_document(path, LIMIT)
        assert len(doc.layout.tables) == 1, path.name
        # Without the table as a boundary the paragraph's chunk runs into the table and cuts it.
        [chunk] = _table_chunks(doc)
        assert chunk.startswith("| Species | Count |") and chunk.rstrip().endswith("| Wader 7 | 17 |"), path.name


def test_pptx_slides_become_sections(tmp_path: Path):
    from pptx import Presentation

    deck = Presentation()
    for title, body in (("Budget", "Spending rose by 4 percent."), ("Harbour", "The breakwater is repaired.")):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    deck.save(tmp_path / "deck.pptx")
    doc = load_document(tmp_path / "deck.pptx", LIMIT)
    assert "The breakwater is repaired." in doc.text
    assert doc.layout.heading_at(doc.text.index("The breakwater")) == ("Slide 2: Harbour",)
    assert doc.layout.heading_at(doc.text.index("Spending")) == ("Slide 1: Budget",)


def test_epub_chapters_become_sections(tmp_path: Path):
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("id1")
    book.set_title("Sea stories")
    book.set_language("en")
    chapters = []
    for n, (title, text) in enumerate((("The storm", "The storm broke the pier."), ("The calm", "Boats returned at dawn.")), 1):
        chapter = epub.EpubHtml(title=title, file_name=f"ch{n}.xhtml", lang="en")
        chapter.content = f"<html><body><h1>{title}</h1><p>{text}</p></body></html>"
        book.add_item(chapter)
        chapters.append(chapter)
    book.toc = chapters
    book.spine = ["nav", *chapters]
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    epub.write_epub(str(tmp_path / "stories.epub"), book)
    doc = load_document(tmp_path / "stories.epub", LIMIT)
    assert "Boats returned at dawn." in doc.text
    assert "The calm" in " ".join(doc.layout.heading_at(doc.text.index("Boats returned")))


def test_csv_one_row_per_line_with_its_header(tmp_path: Path):
    (tmp_path / "crew.csv").write_text("name,port\nAlma,Vexmoor\nBo,Larkspur\n")
    doc = load_document(tmp_path / "crew.csv", LIMIT)
    assert doc.text.splitlines() == ["name: Alma; port: Vexmoor", "name: Bo; port: Larkspur"]
