"""Real documents of each supported format, written by the tests with the format's own libraries."""
from __future__ import annotations

from pathlib import Path

FACT = "The Vexmoor lighthouse was painted green in 1911 by the keeper Alma Quist."
FACT_PAGE = 6
FILLER = ("The Larkspur survey of page {p} lists routine harbour maintenance, tide tables, buoy inspections "
          "and the repainting schedule for the breakwater. ")


def write_pdf(path: Path, pages: int = 8, fact_page: int = FACT_PAGE, outline: bool = True) -> Path:
    """A multi-page PDF (fpdf2) with FACT on `fact_page` and an outline entry per page."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Harbour survey")
    pdf.set_font("Helvetica", size=12)
    for p in range(1, pages + 1):
        pdf.add_page()
        if outline:
            pdf.start_section(f"Section {p}")
        pdf.multi_cell(0, 8, f"Section {p}", new_x="LMARGIN", new_y="NEXT")
        pdf.multi_cell(0, 8, FILLER.format(p=p) * 3, new_x="LMARGIN", new_y="NEXT")
        if p == fact_page:
            pdf.multi_cell(0, 8, FACT, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def write_image_only_pdf(path: Path, pages: int = 2) -> Path:
    """A scan: every page is a picture of text, with no text layer."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 300), "white")
    ImageDraw.Draw(image).text((20, 20), "Scanned memo: the ferry leaves at noon.", fill="black")
    pdf = FPDF()
    for _ in range(pages):
        pdf.add_page()
        pdf.image(image, x=10, y=10, w=180)
    pdf.output(str(path))
    return path


TABLE_ROWS = [("Species", "Count", "Where seen"), ("Oystercatcher", "41", "nesting on the shingle"),
              ("Curlew", "17", "feeding at low tide"), ("Little tern", "6", "a new colony | east spit")]
BEFORE_TABLE = "They walked the tide line from the slipway to the point and back at dawn. "  # fills most of a chunk
AFTER_TABLE = "After the count the ringing team met at the harbour office on Friday."


def write_table_pdf(path: Path) -> Path:
    """Two pages (fpdf2); the second holds a ruled table between two paragraphs, the first of them
    long enough that a chunk starting there would not hold the table too."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 8, "Harbour works. The breakwater was repaired in March and the slipway in April.",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    pdf.multi_cell(0, 8, "Bird count. The wardens counted the shore birds of Vexmoor bay in May. " + BEFORE_TABLE * 4,
                   new_x="LMARGIN", new_y="NEXT")
    with pdf.table() as table:  # every cell ruled (fpdf2's default borders)
        for cells in TABLE_ROWS:
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.multi_cell(0, 8, AFTER_TABLE, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def write_two_column_pdf(path: Path) -> Path:
    """A newsletter page: four blocks of prose in two columns inside a ruled frame, with rules between
    the columns and the rows (a 2 x 2 grid, which pdfplumber's finder reports as a table); no table."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    pdf.add_page()
    pdf.cell(0, 10, "Harbour newsletter", new_x="LMARGIN", new_y="NEXT")
    blocks = ["The ferry timetable changes in May. Boats leave at nine and return at five. " * 3,
              "The lighthouse keeper retired in June. A new keeper starts in July on the island. " * 3,
              "The harbour office opens at eight on weekdays. It closes at noon on Saturdays. " * 3,
              "The regatta is held in August. Entries close a week before the first race. " * 3]
    for (x, y), text in zip(((10, 26), (110, 26), (10, 86), (110, 86)), blocks):
        pdf.set_xy(x, y)
        pdf.multi_cell(90, 6, text)
    pdf.rect(10, 22, 190, 120)
    pdf.line(105, 22, 105, 142)
    pdf.line(10, 82, 200, 82)
    pdf.output(str(path))
    return path
