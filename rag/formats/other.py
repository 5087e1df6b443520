"""E-books (.epub: ebooklib, chapters in reading order) and tables (.csv: the standard library;
one row per line, each value with its column name)."""
from __future__ import annotations

import csv
import io
import posixpath
from pathlib import Path

from rag.formats.markup import html_structure, nest

CHAPTER_SEPARATOR = "\n\n"


def read_epub(path: Path) -> tuple[str, str | None, list[tuple[int, tuple[str, ...]]]]:
    """(text, the book's title, sections): each chapter a section named by the table of contents (or
    its first heading), the chapter's own headings below it."""
    import ebooklib
    from ebooklib import epub

    book = epub.read_epub(str(path), options={"ignore_ncx": False})
    toc_titles = _toc_titles(book.toc)
    parts, sections, length = [], [], 0
    for idref, _linear in book.spine:
        item = book.get_item_with_id(idref)
        if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT:
            continue
        text, html_title, headings = html_structure(item.get_content().decode("utf-8", "replace"))
        if not text.strip():
            continue
        if parts:
            parts.append(CHAPTER_SEPARATOR)
            length += len(CHAPTER_SEPARATOR)
        chapter = (toc_titles.get(posixpath.basename(item.get_name())) or (headings[0][2] if headings else None)
                   or html_title or f"Chapter {len(sections) + 1}")
        sections.append((length, (chapter,)))
        for offset, path_in_chapter in nest(headings):
            inner = path_in_chapter[1:] if path_in_chapter[0] == chapter else path_in_chapter
            if offset > 0 or inner:
                sections.append((length + offset, (chapter, *inner)))
        parts.append(text)
        length += len(text)
    titles = book.get_metadata("DC", "title")
    return "".join(parts), (titles[0][0] if titles else None), sections


def _toc_titles(toc) -> dict[str, str]:
    """File name (without #fragment) → its title in the book's table of contents."""
    titles: dict[str, str] = {}
    for entry in toc:
        if isinstance(entry, tuple):  # (Section, [children])
            section, children = entry
            if getattr(section, "href", None):
                titles.setdefault(posixpath.basename(section.href.split("#")[0]), section.title)
            titles.update({k: v for k, v in _toc_titles(children).items() if k not in titles})
        elif getattr(entry, "href", None):
            titles.setdefault(posixpath.basename(entry.href.split("#")[0]), entry.title)
    return titles


def read_csv(text: str) -> tuple[str, list[tuple[int, tuple[str, ...]]]]:
    """One line per row, "column: value; column: value" (empty values left out), each row its own
    section, so each row is one chunk that carries its column names."""
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    if not rows:
        return "", []
    header = [" ".join(h.split()) or f"column {i + 1}" for i, h in enumerate(rows[0])]
    lines, sections, length = [], [], 0
    for n, row in enumerate(rows[1:], start=1):
        pairs = [f"{header[i] if i < len(header) else f'column {i + 1}'}: {' '.join(v.split())}"
                 for i, v in enumerate(row) if v.strip()]
        if not pairs:
            continue
        line = "; ".join(pairs)
        sections.append((length, (f"Row {n}",)))
        lines.append(line)
        length += len(line) + 1
    return "\n".join(lines), sections
