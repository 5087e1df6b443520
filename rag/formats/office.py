"""Word (.docx, python-docx) and PowerPoint (.pptx, python-pptx) files: paragraphs and tables in
document order, heading styles and slides as sections, tables as Markdown tables.

llama-index's DocxReader (docx2txt) runs table cells together and drops the heading styles; its
PptxReader loads an image-captioning model from transformers. Both are replaced here.
"""
from __future__ import annotations

import re
from pathlib import Path

from rag.formats.structure import markdown_table

BLOCK_SEPARATOR = "\n\n"
HEADING_STYLE = re.compile(r"^heading (\d)$", re.IGNORECASE)


class _Builder:
    """Text blocks joined by blank lines, with the offset of each heading kept."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.headings: list[tuple[int, int, str]] = []

    def add(self, block: str, level: int | None = None) -> None:
        block = block.strip()
        if not block:
            return
        if self.parts:
            self.parts.append(BLOCK_SEPARATOR)
            self.length += len(BLOCK_SEPARATOR)
        if level is not None:
            self.headings.append((self.length, level, " ".join(block.split())))
        self.parts.append(block)
        self.length += len(block)

    @property
    def text(self) -> str:
        return "".join(self.parts)


def _table_rows(table) -> list[list[str]]:
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:  # a merged cell is returned once per grid column it spans
            key = id(cell._tc)
            cells.append("" if key in seen else cell.text)
            seen.add(key)
        rows.append(cells)
    return rows


def read_docx(path: Path) -> tuple[str, str | None, list[tuple[int, int, str]]]:
    """(text, the Title-styled paragraph if any, headings as (offset, level, text))."""
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(str(path))
    out, title = _Builder(), None
    for element in document.element.body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "tbl":
            out.add(markdown_table(_table_rows(Table(element, document))))
        elif tag == "p":
            paragraph = Paragraph(element, document)
            style = (paragraph.style.name if paragraph.style is not None else "") or ""
            level = 1 if style.lower() == "title" else int(m.group(1)) if (m := HEADING_STYLE.match(style)) else None
            if style.lower() == "title" and title is None and paragraph.text.strip():
                title = " ".join(paragraph.text.split())
            out.add(paragraph.text, level)
    return out.text, title, out.headings


def _shape_blocks(shapes) -> list[str]:
    blocks = []
    for shape in shapes:
        if shape.shape_type == 6:  # MSO_SHAPE_TYPE.GROUP: its shapes in turn
            blocks += _shape_blocks(shape.shapes)
        elif getattr(shape, "has_table", False) and shape.has_table:
            blocks.append(markdown_table([[cell.text for cell in row.cells] for row in shape.table.rows]))
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            blocks.append(shape.text_frame.text)
    return blocks


def read_pptx(path: Path) -> tuple[str, list[tuple[int, int, str]]]:
    """(text, one heading per slide: "Slide n: its title" or "Slide n"). Speaker notes follow each
    slide's text."""
    from pptx import Presentation

    out = _Builder()
    for n, slide in enumerate(Presentation(str(path)).slides, start=1):
        title_shape = slide.shapes.title
        title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None and title_shape.has_text_frame else ""
        start = out.length + (len(BLOCK_SEPARATOR) if out.parts else 0)
        before = len(out.parts)
        for block in _shape_blocks(slide.shapes):
            out.add(block)
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = slide.notes_slide.notes_text_frame.text
            if notes.strip():
                out.add("Notes: " + notes)
        if len(out.parts) > before:
            out.headings.append((start, 1, f"Slide {n}: {title}" if title else f"Slide {n}"))
    return out.text, out.headings
