"""PDFs page by page (pypdfium2): the text of each page, where each page starts in the joined text,
the outline as sections, and a clear refusal for scans without a text layer.

Each page's text keeps pdfium's character indices one for one (line breaks and control characters
are replaced by characters of the same length), except where a ruled table is replaced by a Markdown
table (rag.formats.pdf_tables): PageText maps an offset range of the page's text back to pdfium's
characters, so the page viewer finds the boxes of a cited passage from its offsets alone.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from rag.formats.pdf_tables import TableFinder, TableRegion
from rag.formats.structure import Layout

PAGE_SEPARATOR = "\n\n"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]")
SENTENCE_END = (".", "!", "?", ":", ";")
SHORT_LINE = 0.7  # a line shorter than this share of the page's longest ends its paragraph (headings, last lines)


class NoTextLayer(Exception):
    """Every page is an image: nothing to index without OCR."""


def open_pdf(path: Path):
    import pypdfium2 as pdfium

    return pdfium.PdfDocument(str(path))


def page_text(raw: str) -> str:
    """pdfium's page text with its "\\r\\n" line ends turned into " \\n" where a paragraph ends and "  "
    where a sentence runs on to the next line (so sentences are whole); same length as `raw`."""
    lines = raw.split("\r\n")
    longest = max((len(line.strip()) for line in lines), default=0)
    out = []
    for k, line in enumerate(lines):
        out.append(line)
        if k < len(lines) - 1:
            stripped = line.strip()
            ends = not stripped or stripped.endswith(SENTENCE_END) or len(stripped) < SHORT_LINE * longest
            out.append(" \n" if ends else "  ")
    return CONTROL.sub(" ", "".join(out))


@dataclass(frozen=True)
class PageText:
    text: str
    tables: list[tuple[int, int, int, int]] = field(default_factory=list)  # (start, end) in text, [first, end) in pdfium: each table

    def char_ranges(self, start: int, end: int) -> list[tuple[int, int]]:
        """pdfium's characters [a, b) under text[start:end]: one for one outside the tables, a table's
        whole run for any part of it."""
        ranges, shift, at = [], 0, start
        for t_start, t_end, first, last in self.tables:
            if t_end <= at:
                shift = last - t_end
                continue
            if t_start >= end:
                break
            if at < t_start:
                ranges.append((at + shift, t_start + shift))
            ranges.append((first, last))
            at, shift = t_end, last - t_end
        if at < end:
            ranges.append((at + shift, end + shift))
        return ranges


def with_tables(text: str, regions: list[TableRegion]) -> PageText:
    """The page text with each table's characters replaced by its Markdown table on lines of its own
    (the line breaks around it count as part of the table)."""
    parts, tables, at, length = [], [], 0, 0
    for region in regions:
        before, table = text[at:region.first], f"\n{region.markdown}\n"
        parts += [before, table]
        length += len(before)
        tables.append((length, length + len(table), region.first, region.end))
        length += len(table)
        at = region.end
    parts.append(text[at:])
    return PageText("".join(parts), tables)


def read_page(pdf, index: int, tables: TableFinder) -> PageText:
    page = pdf[index]
    textpage = page.get_textpage()
    try:
        raw = textpage.get_text_range()
        return with_tables(page_text(raw), tables(index, page, textpage, raw))
    finally:
        textpage.close()


def read_pdf(path: Path) -> tuple[str, Layout, str | None]:
    """The joined text of all pages, where each page, outline section and table starts in it, and
    the title the PDF's metadata gives (if any)."""
    pdf, finder = open_pdf(path), TableFinder(path)
    try:
        read = [read_page(pdf, i, finder) for i in range(len(pdf))]
        pages = [p.text for p in read]
        if pages and not any(p.strip() for p in pages):
            raise NoTextLayer(no_text_layer_message(len(pages)))
        starts, at = [], 0
        for text in pages:
            starts.append(at)
            at += len(text) + len(PAGE_SEPARATOR)
        tables = [(start + t[0], start + t[1]) for start, p in zip(starts, read) for t in p.tables]
        layout = Layout(page_starts=starts, sections=_outline_sections(pdf, pages, starts), tables=tables)
        title = " ".join(str(pdf.get_metadata_dict().get("Title") or "").split()) or None
        return PAGE_SEPARATOR.join(pages), layout, title
    finally:
        finder.close()
        pdf.close()


def no_text_layer_message(pages: int) -> str:
    ocr = ("tesseract is installed, but OCR is not wired in yet" if shutil.which("tesseract")
           else "OCR is not available (tesseract is not installed)")
    return (f"no text layer: none of its {pages} page{'s' if pages != 1 else ''} has text (a scanned or "
            f"image-only PDF); {ocr}, so there is nothing to index")


def _outline_sections(pdf, pages: list[str], starts: list[int]) -> list[tuple[int, tuple[str, ...]]]:
    """The PDF's outline (bookmarks) as sections: each starts where its title appears on its target
    page, else at the top of that page."""
    sections, path = [], []
    try:
        items = list(pdf.get_toc())
    except Exception:  # a damaged outline is no reason to skip the document's text
        return []
    for item in items:
        dest = item.get_dest()
        index = dest.get_index() if dest is not None else None
        title = " ".join((item.get_title() or "").split())
        if index is None or not (0 <= index < len(pages)) or not title:
            continue
        path = path[: item.level] + [title]
        found = pages[index].find(title)
        sections.append((starts[index] + max(found, 0), tuple(path)))
    sections.sort(key=lambda s: s[0])
    return sections
