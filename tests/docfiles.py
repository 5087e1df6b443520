"""Real documents of each supported format, written by the tests with the format's own libraries."""
from __future__ import annotations

from pathlib import Path

FACT = "The Vexmoor lighthouse was painted green in 1911 by the keeper Alma Quist."
FACT_PAGE = 6
FILLER = ("The Larkspur survey of page {p} lists routine harbour maintenance, tide tables, buoy inspections "
          "and the repainting schedule for the breakwater. ")


def write_pdf(path: Path, pages: int = 8, fact_page: int = FACT_PAGE, outline: bool = True) -> Path:
    """A multi-page PDF (fpdf2) with FACT on `fact_page`, an outline entry per page and a table on the last."""
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
