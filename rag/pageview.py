"""The page viewer: a PDF page rendered to PNG (pypdfium2) with the cited passage highlighted.

The passage's boxes come from pdfium's own text positions: page offsets in the indexed text map to
pdfium's character indices (rag.formats.pdf.PageText: one for one outside tables, a table's whole run
inside one), so no text search is needed.
Renders are cached per file version and passage; a 110-dpi page takes tens of milliseconds, plus
pdfplumber opening the file when the page draws lines (about 1.5 s for a 261-page manual).
"""
from __future__ import annotations

import io
import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rag.config import Settings

log = logging.getLogger(__name__)
DPI = 110
HIGHLIGHT_FILL = (255, 214, 0, 95)
HIGHLIGHT_EDGE = (230, 150, 0, 255)
_render_lock = threading.Lock()  # pdfium is not thread-safe: one render at a time


@dataclass(frozen=True)
class PageImage:
    png: bytes
    page: int
    width: int
    height: int
    boxes: int  # highlighted rectangles: 0 when the passage could not be placed on the page


def corpus_file(settings: Settings, source: str) -> Path | None:
    root = settings.corpus_dir.resolve()
    path = (root / source).resolve()
    return path if path.is_relative_to(root) and path.is_file() and path.suffix.lower() == ".pdf" else None


def page_image(settings: Settings, source: str, page: int, start: int, end: int, passage: str) -> PageImage | None:
    """Page `page` (1-based) of a corpus PDF with characters [start, end) of that page's text
    highlighted; None when the file is gone or unreadable. `passage` is the cited text: when the
    file changed since indexing and the page no longer holds it, the page is shown unmarked."""
    path = corpus_file(settings, source)
    if path is None or page < 1:
        return None
    try:
        return _render(str(path), path.stat().st_mtime_ns, page, max(0, start), end, " ".join(passage.split())[:80])
    except Exception as exc:  # a damaged or replaced file: the panel shows the passage text instead
        log.warning("cannot render page %s of %s: %s", page, source, exc)
        return None


@lru_cache(maxsize=64)
def _render(path: str, mtime_ns: int, page: int, start: int, end: int, passage_head: str) -> PageImage | None:
    from PIL import Image, ImageDraw

    from rag.formats.pdf import TableFinder, open_pdf, read_page

    with _render_lock:
        pdf, finder = open_pdf(Path(path)), TableFinder(Path(path), only_page=page - 1)
        try:
            if page > len(pdf):
                return None
            page_text = read_page(pdf, page - 1, finder)  # the page's text as indexed, tables included
            end = min(end, len(page_text.text))
            ranges = []
            if start < end and " ".join(page_text.text[start:end].split()).startswith(passage_head[:40]):
                ranges = page_text.char_ranges(start, end)
            pdf_page = pdf[page - 1]
            textpage = pdf_page.get_textpage()
            boxes = [textpage.get_rect(i) for first, last in ranges for i in range(textpage.count_rects(first, last - first))]
            textpage.close()
            scale = DPI / 72
            height_pt = pdf_page.get_height()
            image = pdf_page.render(scale=scale).to_pil().convert("RGBA")
        finally:
            finder.close()
            pdf.close()
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for left, bottom, right, top in boxes:
        draw.rectangle([left * scale - 1, (height_pt - top) * scale - 1, right * scale + 1, (height_pt - bottom) * scale + 1],
                       fill=HIGHLIGHT_FILL, outline=HIGHLIGHT_EDGE)
    out = io.BytesIO()
    Image.alpha_composite(image, overlay).convert("RGB").save(out, "PNG", optimize=False)
    return PageImage(out.getvalue(), page, image.width, image.height, len(boxes))
