"""Where pages and sections begin in a document's text, and what a chunk or a citation learns from it.

A reader returns one text (chunk spans are offsets into it) and a Layout: the offset at which each
PDF page starts, and the offset and heading path of each section. Ingestion stores per chunk the
page(s) it lies on and its heading path; a citation, which is a trimmed part of a chunk, finds its own
page from the page starts stored with the chunk.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cached_property

HEADING_SEPARATOR = " › "


@dataclass
class Layout:
    page_starts: list[int] = field(default_factory=list)  # page n (1-based) starts at page_starts[n - 1]
    sections: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)  # (offset, heading path), sorted
    tables: list[tuple[int, int]] = field(default_factory=list)  # (start, end) of each table in the text

    def page_at(self, offset: int) -> int:
        return max(1, bisect_right(self.page_starts, offset))

    def heading_at(self, offset: int) -> tuple[str, ...]:
        at = bisect_right(self._section_starts, offset) - 1
        return self.sections[at][1] if at >= 0 else ()

    @cached_property
    def _section_starts(self) -> list[int]:
        # Asked once per chunk: rebuilding it each time made a 20,000-row CSV (a section per row)
        # quadratic. Sections are set when the layout is made, never changed after.
        return [s for s, _ in self.sections]

    @property
    def boundaries(self) -> list[int]:
        """Offsets a chunk should not run across: the starts of sections and of tables (a table then
        starts a chunk and stays whole where it fits the chunk size)."""
        return sorted([s for s, _ in self.sections] + [s for s, _ in self.tables])


def heading_path(title: str, path: tuple[str, ...]) -> str:
    """"Title › Section › Subsection"; the title is not repeated when the first heading is the title."""
    parts = [p for p in path if p]
    if title and (not parts or parts[0].casefold() != title.casefold()):
        parts = [title] + parts
    return HEADING_SEPARATOR.join(parts)


def chunk_location(layout: Layout, title: str, start: int, end: int, path: tuple[str, ...]) -> dict:
    """Chroma metadata for a chunk: its page(s), the offsets where they start, its heading path (`path`,
    the chunker's: a bare heading joined to its subsection's text is under the subsection).
    Only keys that apply (Chroma stores no None), so a .txt chunk's metadata is unchanged."""
    meta: dict = {}
    if layout.page_starts:
        first, last = layout.page_at(start), layout.page_at(max(start, end - 1))
        meta["page"] = first
        if last != first:
            meta["page_end"] = last
        meta["page_starts"] = ",".join(f"{p}:{layout.page_starts[p - 1]}" for p in range(first, last + 1))
    if layout.sections:
        meta["heading"] = heading_path(title, path)
    return meta


def span_pages(meta: dict, start: int, end: int) -> tuple[int | None, int | None, int | None]:
    """(page, page_end or None, offset where `page` starts) of a span inside a chunk with this
    metadata; (None, None, None) for documents without pages."""
    if "page" not in meta:
        return None, None, None
    starts = sorted((int(o), int(p)) for p, o in (pair.split(":") for pair in str(meta.get("page_starts", "")).split(",") if pair))
    if not starts:
        return int(meta["page"]), None, None

    def at(offset: int) -> tuple[int, int]:
        chosen = starts[0]
        for o, p in starts:
            if offset >= o:
                chosen = (o, p)
        return chosen

    (offset, first), (_, last) = at(start), at(max(start, end - 1))
    return first, (last if last != first else None), offset


# A Markdown table: a row line, the |---| separator, more row lines (as markdown_table writes them,
# and as .md files hold them).
MARKDOWN_TABLE = re.compile(r"^\|.*\|[ \t]*\n\|(?:[ \t]*:?-+:?[ \t]*\|)+[ \t]*(?:\n\|.*\|[ \t]*)*$", re.MULTILINE)


def markdown_table_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each Markdown table in a document's text: HTML and DOCX tables are written as
    such, so every format can start a chunk at a table and keep it whole where it fits."""
    return [m.span() for m in MARKDOWN_TABLE.finditer(text)]


def markdown_table(rows: list[list[str]]) -> str:
    """Rows of cells as a Markdown table (the first row is the header): rows and columns stay
    readable to the reader, the embedder and the LLM instead of words run together."""
    rows = [[" ".join(cell.split()).replace("|", "\\|") for cell in row] for row in rows if any(c.strip() for c in row)]
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)
