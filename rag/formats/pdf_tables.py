"""Ruled tables on PDF pages as Markdown tables, with the span of pdfium characters each replaces.

pdfium reads a table one cell per line, so its rows and columns are lost. pdfplumber's table
finder rebuilds them from the lines drawn on the page ("lines" strategy only: its "text" strategy
takes whitespace-aligned text for columns and finds tables in ordinary two-column prose). A table
replaces the run of pdfium characters inside its box, so the page viewer can still map offsets to
boxes (a citation into a table highlights the whole table). A table is left as plain text when its
characters are interleaved with others in pdfium's order or lie outside its cells.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from rag.formats.structure import markdown_table

log = logging.getLogger(__name__)
RULED = {"vertical_strategy": "lines", "horizontal_strategy": "lines"}
MIN_ROWS, MIN_COLUMNS = 2, 2  # a single framed box is not a table
MIN_FILLED = 0.5  # share of non-empty cells: a grid of empty boxes (a form) is not a table
MAX_MEAN_CELL = 200  # characters: a grid whose cells hold paragraphs is a boxed page layout, not a table
EDGE = 1.0  # points of slack around the table's box


@dataclass(frozen=True)
class TableRegion:
    first: int  # pdfium index of the table's first character
    end: int  # one past its last character
    markdown: str


class TableFinder:
    """Tables page by page. pdfplumber (pdfminer) parses a page tens of times slower than pdfium, so
    it opens the file only for pages that draw lines at all (many text PDFs draw none)."""

    def __init__(self, path: Path, only_page: int | None = None) -> None:
        self.path = path
        self.only_page = only_page  # 0-based: the page viewer reads one page, so pdfplumber sets up only that one
        self._plumber = None

    def __call__(self, index: int, page, textpage, raw: str) -> list[TableRegion]:
        if page.get_rotation() or not _draws_lines(page):
            return []  # pdfium and pdfplumber place the characters of a rotated page differently
        try:
            if self._plumber is None:
                import pdfplumber

                self._plumber = pdfplumber.open(str(self.path), pages=None if self.only_page is None else [self.only_page + 1])
            plumber_page = next(p for p in self._plumber.pages if p.page_number == index + 1)
            try:
                return page_tables(plumber_page, textpage, raw)
            finally:
                plumber_page.close()  # drops its parsed objects: a long PDF would hold them all
        except Exception as exc:  # pdfminer fails on some files pdfium reads: the page keeps its plain text
            log.warning("no table detection on page %d of %s: %s", index + 1, self.path.name, exc)
            return []

    def close(self) -> None:
        if self._plumber is not None:
            self._plumber.close()


def _draws_lines(page) -> bool:
    import pypdfium2.raw as pdfium_c

    return next(iter(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH])), None) is not None


def page_tables(plumber_page, textpage, raw: str) -> list[TableRegion]:
    """The ruled tables of one page, in page order, that can replace a run of pdfium's characters."""
    regions, height = [], plumber_page.height  # pdfplumber's top = height - y in PDF space (x is the same)
    for table in plumber_page.find_tables(RULED):
        grid = [row.cells for row in table.rows]  # cell boxes, None where a merged cell continues
        if len(grid) < MIN_ROWS or max(len(row) for row in grid) < MIN_COLUMNS:
            continue
        x0, top, x1, bottom = table.bbox
        run = _run_inside(textpage, raw, (x0, height - bottom, x1, height - top))
        rows = _cell_texts(textpage, raw, run, grid, height) if run else None
        cells = [cell for row in rows or [] for cell in row]
        filled = [cell for cell in cells if cell]
        if len(filled) < MIN_FILLED * max(len(cells), 1) or sum(map(len, filled)) > MAX_MEAN_CELL * len(filled):
            continue
        regions.append(TableRegion(run[0], run[1], markdown_table(rows)))
    regions.sort(key=lambda r: r.first)
    return [r for k, r in enumerate(regions) if k == 0 or r.first >= regions[k - 1].end]


def _run_inside(textpage, raw: str, box: tuple[float, float, float, float]) -> tuple[int, int] | None:
    """[first, end) of the pdfium characters whose centres lie in `box` (pdfium's coordinates), if
    they are one run (only whitespace between them)."""
    inside = [i for i, char in enumerate(raw) if not char.isspace() and _centre_in(textpage.get_charbox(i), box)]
    if not inside:
        return None
    first, end = inside[0], inside[-1] + 1
    visible = sum(1 for char in raw[first:end] if not char.isspace())
    return (first, end) if visible == len(inside) else None


def _centre_in(charbox, box) -> bool:
    left, bottom, right, top = charbox
    return box[0] - EDGE <= (left + right) / 2 <= box[2] + EDGE and box[1] - EDGE <= (bottom + top) / 2 <= box[3] + EDGE


def _cell_texts(textpage, raw: str, run: tuple[int, int], grid, height: float) -> list[list[str]] | None:
    """Each cell's text from pdfium's characters in it, in pdfium's order, with a space wherever pdfium
    has one or another cell's text comes between (pdfminer's cell text, which pdfplumber extracts,
    runs words together in PDFs that draw no space characters). None if a character is in no cell."""
    texts = [["" for _ in row] for row in grid]
    last: dict[tuple[int, int], int] = {}
    cells = [((r, c), (cell[0], height - cell[3], cell[2], height - cell[1]))  # top-left origin to pdfium's
             for r, row in enumerate(grid) for c, cell in enumerate(row) if cell is not None]
    for i in range(*run):
        if raw[i].isspace():
            continue
        charbox = textpage.get_charbox(i)
        at = next((key for key, box in cells if _centre_in(charbox, box)), None)
        if at is None:
            return None
        if at in last and last[at] != i - 1:
            texts[at[0]][at[1]] += " "
        texts[at[0]][at[1]] += raw[i]
        last[at] = i
    return texts
