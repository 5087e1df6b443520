"""Headings and tables of the markup formats: HTML (h1-h6, <table>), Markdown (# and underlined
headings) and reStructuredText (underlined and overlined titles).

For Markdown and reST the text stays the file itself (spans open the exact passage); only the
sections are found. HTML becomes its visible text, with tables as Markdown tables.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

from rag.formats.structure import markdown_table

HEADING_TAGS = {f"h{n}": n for n in range(1, 7)}
# Markers around a heading in the extracted text: not whitespace, so the whitespace clean-up keeps
# them, and removed afterwards with their offsets recorded.
MARK_OPEN, MARK_CLOSE = "\x01", "\x02"
MARKED_HEADING = re.compile(f"{MARK_OPEN}(\\d)([^{MARK_CLOSE}]*){MARK_CLOSE}")


class HtmlError(Exception):
    pass


# Navigation a documentation generator puts on every page: DocBook's header and footer bars and
# tables of contents, Sphinx's sidebar and related-pages bar, breadcrumbs, <nav>. Their words are
# the headings of other sections ("4.13.17. December 2015: Ian Murdock died"), so as passages they
# ranked for questions they cannot answer.
NAVIGATION_CLASSES = {"navheader", "navfooter", "toc", "sphinxsidebar", "related", "breadcrumb", "breadcrumbs"}


def is_navigation(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    values = dict(attrs)
    classes = set((values.get("class") or "").lower().split())
    return tag == "nav" or (values.get("role") or "").lower() == "navigation" or bool(classes & NAVIGATION_CLASSES)


class _TextExtractor(HTMLParser):
    SKIP = {"script", "style", "noscript", "template", "head"}
    BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "pre"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title_parts: list[str] = []
        self._stack: list[str] = []
        self._tables: list[list[list[str]]] = []  # rows of cells of the tables being read (nested: a stack)
        self._navigation_depth: int | None = None  # stack depth of the navigation element being skipped

    def handle_starttag(self, tag: str, attrs) -> None:
        self._stack.append(tag)
        if self._navigation_depth is None and is_navigation(tag, attrs):
            self._navigation_depth = len(self._stack)
        if self._navigation_depth is not None:
            return
        if tag == "table":
            self._tables.append([])
        elif self._tables and tag == "tr":
            self._tables[-1].append([])
        elif self._tables and tag in ("td", "th"):
            if not self._tables[-1]:
                self._tables[-1].append([])
            self._tables[-1][-1].append("")
        elif tag in self.BLOCK:
            self._emit("\n")
            if tag in HEADING_TAGS and not self._tables:
                self._emit(f"{MARK_OPEN}{HEADING_TAGS[tag]}")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass
        if self._navigation_depth is not None:
            if len(self._stack) < self._navigation_depth:
                self._navigation_depth = None  # the navigation element closed
            return
        if tag == "table" and self._tables:
            table = markdown_table(self._tables.pop())
            self._emit(f"\n{table}\n" if not self._tables else table)
        elif tag in self.BLOCK and not self._tables:
            if tag in HEADING_TAGS:
                self._emit(MARK_CLOSE)
            self._emit("\n")

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag == "br" and self._navigation_depth is None:
            self._emit(" " if self._tables else "\n")

    def handle_data(self, data: str) -> None:
        if "title" in self._stack:
            self.title_parts.append(data)
        elif self._navigation_depth is None and not self.SKIP.intersection(self._stack):
            self._emit(data.replace(MARK_OPEN, " ").replace(MARK_CLOSE, " "))

    def _emit(self, text: str) -> None:
        """Into the current table cell when inside a table (a nested table lands in its cell)."""
        if self._tables:
            rows = self._tables[-1]
            if rows and rows[-1]:
                rows[-1][-1] += " " + text
            return
        self.parts.append(text)


def html_structure(html: str) -> tuple[str, str | None, list[tuple[int, int, str]]]:
    """Visible text of an HTML page (scripts, styles and navigation dropped, tables as Markdown), its <title>,
    and its headings as (offset in the text, level, heading text)."""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except AssertionError as exc:  # html.parser asserts on some malformed markup ("<![abc]>")
        raise HtmlError(f"malformed HTML ({exc or 'the parser gave up'})") from None
    while parser._tables:  # an unclosed table still counts
        parser.handle_endtag("table")
    text = re.sub(r"[ \t\r\f\v]+", " ", "".join(parser.parts))
    text = re.sub(r"\s*\n\s*", "\n", text).strip()
    headings, out, at = [], [], 0
    for match in MARKED_HEADING.finditer(text):
        out.append(text[at:match.start()])
        offset = sum(len(p) for p in out)
        heading = match.group(2)
        if heading.strip():
            headings.append((offset, int(match.group(1)), " ".join(heading.split())))
        out.append(heading)
        at = match.end()
    out.append(text[at:])
    clean = "".join(out).replace(MARK_OPEN, "").replace(MARK_CLOSE, "")  # any unbalanced marker left
    title = " ".join("".join(parser.title_parts).split()) or None
    return clean, title, headings


ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
FENCE = re.compile(r"^ {0,3}(```|~~~)")


def markdown_headings(text: str) -> list[tuple[int, int, str]]:
    """(offset of the heading line, level, text) for ATX (# Title) and setext (Title / ===) headings,
    outside fenced code blocks."""
    headings, offset, fenced, previous = [], 0, False, None
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        if FENCE.match(bare):
            fenced = not fenced
        elif not fenced:
            if match := ATX.match(bare):
                headings.append((offset, len(match.group(1)), match.group(2).strip()))
            elif previous and previous[1].strip() and (match := SETEXT.match(bare)) and not ATX.match(previous[1]):
                headings.append((previous[0], 1 if match.group(1)[0] == "=" else 2, previous[1].strip()))
        previous = (offset, bare)
        offset += len(line)
    return headings


RST_ADORNMENT = re.compile(r"^([=\-`:'\"~^_*+#<>.])\1{2,}[ \t]*$")


def rst_headings(text: str) -> list[tuple[int, int, str]]:
    """reST section titles: a text line underlined (optionally also overlined) by one repeated
    punctuation character at least as long; levels in the order the styles first appear."""
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    styles: list[tuple[str, bool]] = []
    headings = []
    for i in range(1, len(lines)):
        under, title = lines[i].rstrip("\r\n"), lines[i - 1].rstrip("\r\n")
        if not RST_ADORNMENT.match(under) or not title.strip() or RST_ADORNMENT.match(title):
            continue
        if len(under.rstrip()) < len(title.rstrip()):
            continue
        over = i >= 2 and lines[i - 2].rstrip("\r\n") == under
        style = (under[0], over)
        if style not in styles:
            styles.append(style)
        start = offsets[i - 2] if over else offsets[i - 1]
        headings.append((start, styles.index(style) + 1, title.strip()))
    return headings


def nest(headings: list[tuple[int, int, str]]) -> list[tuple[int, tuple[str, ...]]]:
    """Headings with levels → sections with their full path ("Report", "Section 6", "Wildlife")."""
    sections, stack = [], []  # stack of (level, text)
    for offset, level, heading in sorted(headings):
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading))
        sections.append((offset, tuple(h for _, h in stack)))
    return sections
