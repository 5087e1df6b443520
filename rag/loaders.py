"""Turn one file into plain text plus document metadata, or say precisely why it cannot be read.

The text returned is what gets chunked; chunk spans are character offsets into it. For .txt and .md
it is the file's decoded text, unchanged, so a span opens the exact passage of the file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rag.errors import InputError
from rag.formats.markup import HtmlError, html_structure, markdown_headings, nest, rst_headings
from rag.formats.office import read_docx, read_pptx
from rag.formats.other import read_csv, read_epub
from rag.formats.pdf import NoTextLayer, read_pdf
from rag.formats.structure import Layout, markdown_table_spans

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".rst"}
HTML_SUFFIXES = {".html", ".htm"}
ARCHIVE_SUFFIXES = {".docx", ".pptx", ".epub"}  # zip files: their expansion is checked before parsing
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | ARCHIVE_SUFFIXES | {".pdf", ".csv"}


@dataclass
class LoadedDocument:
    text: str
    title: str
    metadata: dict[str, str] = field(default_factory=dict)
    layout: Layout = field(default_factory=Layout)  # pages and sections, for formats that have them


class UnreadableFile(InputError):
    """The file is skipped; the message names the reason."""


def load_document(path: Path, max_bytes: int) -> LoadedDocument:
    size = path.stat().st_size
    if size == 0:
        raise UnreadableFile("empty file")
    if size > max_bytes:
        raise UnreadableFile(f"too large ({size / 1e6:.1f} MB; limit {max_bytes / 1e6:.0f} MB, setting max_file_mb)")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableFile(f"unsupported file type {suffix or '(none)'}")
    if suffix in ARCHIVE_SUFFIXES:
        check_archive_expansion(path, max_bytes)
    if suffix in TEXT_SUFFIXES:
        text = _decode(path.read_bytes())
        headings = rst_headings(text) if suffix == ".rst" else markdown_headings(text) if suffix != ".txt" else []
        return _finish(path, text, None, Layout(sections=nest(headings)))
    if suffix == ".csv":
        text, sections = read_csv(_decode(path.read_bytes()))
        return _finish(path, text, title_from_name(path), Layout(sections=sections))
    try:
        return _read_parsed(path, suffix)
    except UnreadableFile:
        raise
    except Exception as exc:  # parsers raise anything from struct errors to KeyError on corrupt files
        raise UnreadableFile(f"cannot parse {suffix} file ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from None


def _read_parsed(path: Path, suffix: str) -> LoadedDocument:
    if suffix in HTML_SUFFIXES:
        try:
            text, html_title, headings = html_structure(_decode(path.read_bytes()))
        except HtmlError as exc:
            raise UnreadableFile(str(exc)) from None
        return _finish(path, text, html_title, Layout(sections=nest(headings)))
    if suffix == ".pdf":
        try:
            text, layout, pdf_title = read_pdf(path)
        except NoTextLayer as exc:
            raise UnreadableFile(str(exc)) from None
        return _finish(path, text, pdf_title, layout)
    if suffix == ".docx":
        try:
            text, docx_title, headings = read_docx(path)
        except Exception:  # python-docx needs a complete package; docx2txt reads the text of a partial one
            return _finish(path, _read_docx_text_only(path), None)
        return _finish(path, text, docx_title, Layout(sections=nest(headings)))
    if suffix == ".pptx":
        text, headings = read_pptx(path)
        return _finish(path, text, None, Layout(sections=nest(headings)))
    text, book_title, sections = read_epub(path)
    return _finish(path, text, book_title, Layout(sections=sections))


def _read_docx_text_only(path: Path) -> str:
    from llama_index.readers.file import DocxReader

    return "\n\n".join(d.text.strip() for d in DocxReader().load_data(file=path) if d.text.strip())


def _finish(path: Path, text: str, known_title: str | None, layout: Layout | None = None) -> LoadedDocument:
    if not text.strip():
        raise UnreadableFile("no text in the file")
    meta = extract_metadata(text)
    title = known_title or markdown_heading(text) or first_title_line(text) or title_from_name(path)
    layout = layout or Layout()
    if not layout.tables:  # PDFs record their tables while reading; other formats write them as Markdown
        layout.tables = markdown_table_spans(text)
    return LoadedDocument(text=text, title=title, metadata=meta, layout=layout)


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise UnreadableFile("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"not UTF-8 text (invalid byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


# A .docx is a zip archive: its size on disk says little about the XML the parser holds in memory
# (a 297 KB file can expand to 100 MB). Its members' declared sizes are checked before parsing;
# zipfile stops reading a member at its declared size, so the declaration cannot understate it.
ARCHIVE_EXPANSION_FACTOR = 2  # expanded content may be this many times max_file_mb
ARCHIVE_MAX_RATIO = 100  # ordinary documents compress 5-20 times; a bomb by thousands
ARCHIVE_RATIO_FROM_BYTES = 10_000_000  # small archives may compress as well as they like


def check_archive_expansion(path: Path, max_bytes: int) -> None:
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            expanded = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnreadableFile(f"cannot parse {path.suffix} file (not a valid zip archive: {exc})") from None
    limit = max_bytes * ARCHIVE_EXPANSION_FACTOR
    ratio = expanded / max(path.stat().st_size, 1)
    if expanded > limit or (expanded > ARCHIVE_RATIO_FROM_BYTES and ratio > ARCHIVE_MAX_RATIO):
        raise UnreadableFile(f"expands to {expanded / 1e6:.1f} MB ({ratio:.0f} times its size; limit "
                             f"{limit / 1e6:.0f} MB and {ARCHIVE_MAX_RATIO} times, setting max_file_mb)")


def html_to_text(html: str) -> tuple[str, str | None]:
    """Visible text of an HTML page (scripts and styles dropped, tables as Markdown) and its <title>."""
    try:
        text, title, _ = html_structure(html)
    except HtmlError as exc:
        raise UnreadableFile(str(exc)) from None
    return text, title


BYLINE = re.compile(r"^(posted by|by\b|written by|published)", re.IGNORECASE)


def markdown_heading(text: str) -> str | None:
    match = re.search(r"^#{1,3}\s+(.+?)\s*#*\s*$", text[:5000], re.MULTILINE)
    return match.group(1).strip() if match else None


def first_title_line(text: str) -> str | None:
    """The first line that reads like a headline: short, not a byline, not a sentence."""
    for line in text.splitlines()[:5]:
        line = line.strip()
        if not line or BYLINE.match(line):
            continue
        if len(line) <= 150 and not line.endswith((".", ",", ";")):
            return line
        return None
    return None


def title_from_name(path: Path) -> str:
    words = re.sub(r"[-_]+", " ", path.stem).strip()
    return words[:1].upper() + words[1:] if words else path.name


MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
DATE_PATTERNS = [
    (re.compile(rf"\b((?:{MONTHS})[a-z]*\.? \d{{1,2}}, \d{{4}})\b", re.IGNORECASE), ("%b %d, %Y", "%B %d, %Y")),
    (re.compile(rf"\b(\d{{1,2}} (?:{MONTHS})[a-z]* \d{{4}})\b", re.IGNORECASE), ("%d %b %Y", "%d %B %Y")),
    (re.compile(r"\b(\d{4}-\d{2}-\d{2})\b"), ("%Y-%m-%d",)),
]
PUBLISHER = re.compile(r"^\s*(?:posted by|published by|source:)\s+(.{2,80}?)\s*$", re.IGNORECASE | re.MULTILINE)


def extract_metadata(text: str) -> dict[str, str]:
    """Publication date and publisher where the head of the text states them."""
    head = text[:1500]
    meta: dict[str, str] = {}
    for pattern, formats in DATE_PATTERNS:
        match = pattern.search(head)
        if match and (date := _parse_date(match.group(1), formats)):
            meta["date"] = date
            break
    if match := PUBLISHER.search(head):
        meta["publisher"] = match.group(1)
    return meta


def _parse_date(raw: str, formats: tuple[str, ...]) -> str | None:
    cleaned = raw.replace(".", "").replace("Sept", "Sep")
    for fmt in formats:
        try:
            return datetime.strptime(cleaned, fmt).date().isoformat()
        except ValueError:
            continue
    return None
