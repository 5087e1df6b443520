"""PDFs page by page (pypdfium2): the text of each page, where each page starts in the joined text,
the outline as sections, and a clear refusal for scans without a text layer.

Each page's text keeps pdfium's character indices one for one (line breaks and control characters
are replaced by characters of the same length), so an offset into a page's text is the index of
pdfium's character there: the page viewer finds the boxes of a cited passage from its offsets alone.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

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


def read_page(pdf, index: int) -> str:
    textpage = pdf[index].get_textpage()
    try:
        return page_text(textpage.get_text_range())
    finally:
        textpage.close()


def read_pdf(path: Path) -> tuple[str, Layout, str | None]:
    """The joined text of all pages, where each page and outline section starts in it, and the
    title the PDF's metadata gives (if any)."""
    pdf = open_pdf(path)
    try:
        pages = [read_page(pdf, i) for i in range(len(pdf))]
        if pages and not any(p.strip() for p in pages):
            raise NoTextLayer(no_text_layer_message(len(pages)))
        starts, at = [], 0
        for text in pages:
            starts.append(at)
            at += len(text) + len(PAGE_SEPARATOR)
        layout = Layout(page_starts=starts, sections=_outline_sections(pdf, pages, starts))
        title = " ".join(str(pdf.get_metadata_dict().get("Title") or "").split()) or None
        return PAGE_SEPARATOR.join(pages), layout, title
    finally:
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
