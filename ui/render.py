"""HTML and Markdown for answers and sources. Every piece of document or user text goes through
`esc()`: a document containing <script> or <img onerror=…> is shown as text, never run.
"""
from __future__ import annotations

import html
import threading
from collections import OrderedDict
from pathlib import Path

from rag.config import Settings

CONTEXT_CHARS = 220  # shown on each side of a cited span, so the reader sees where it sits
WARN = "⚠"


def esc(text: str) -> str:
    """HTML-escape, and neutralize the characters Gradio's HTML templates and Markdown treat specially."""
    escaped = html.escape(str(text or ""), quote=True)
    return (escaped.replace("{", "&#123;").replace("}", "&#125;").replace("$", "&#36;")
            .replace("`", "&#96;").replace("\\", "&#92;"))


def esc_md(text: str) -> str:
    """Escape for the chat bubble (Markdown, then sanitized HTML): literal text, no markup of its own."""
    escaped = str(text or "").replace("\\", "\\\\")
    for ch in "`*_[]#|~$":
        escaped = escaped.replace(ch, "\\" + ch)
    return html.escape(escaped, quote=False)


# --- sources panel ------------------------------------------------------------------------------

# Documents can be up to max_file_mb (20 MB) each: the cache is bounded by their total size, not by
# their number (64 of them could have held 1.3 GB). A document larger than the budget is not cached.
TEXT_CACHE_BYTES = 24_000_000
_text_cache: OrderedDict[tuple[str, int, int], str | None] = OrderedDict()
_text_cache_lock = threading.Lock()


def cached_text_bytes() -> int:
    with _text_cache_lock:
        return sum(len(text) for text in _text_cache.values() if text)


def _document_text(path: str, mtime_ns: int, max_bytes: int) -> str | None:
    """The text the chunk spans index into (decoded text or HTML-extracted text); cached per file
    version, least recently used first out."""
    key = (path, mtime_ns, max_bytes)
    with _text_cache_lock:
        if key in _text_cache:
            _text_cache.move_to_end(key)
            return _text_cache[key]
    text = _read_document_text(path, max_bytes)
    size = len(text or "")
    if size <= TEXT_CACHE_BYTES:
        with _text_cache_lock:
            _text_cache[key] = text
            while sum(len(t) for t in _text_cache.values() if t) > TEXT_CACHE_BYTES:
                _text_cache.popitem(last=False)
    return text


def _read_document_text(path: str, max_bytes: int) -> str | None:
    from rag.loaders import HTML_SUFFIXES, TEXT_SUFFIXES, load_document

    p = Path(path)
    if p.suffix.lower() not in TEXT_SUFFIXES | HTML_SUFFIXES:
        return None  # PDF/DOCX: re-parsing per question is too slow; the chunk text is shown instead
    try:
        return load_document(p, max_bytes).text
    except Exception:  # file changed, unreadable, too big: fall back to the chunk text
        return None


def source_context(settings: Settings, source: str, start: int, end: int, chunk_text: str) -> tuple[str, str, str]:
    """(before, span, after) around a citation, read from the corpus file when its text still matches.

    The index may be older than the file on disk; when the span no longer holds the chunk's text,
    the stored chunk text is shown alone rather than a wrong passage.
    """
    root = settings.corpus_dir.resolve()
    path = (root / source).resolve()
    if path.is_relative_to(root) and path.is_file() and 0 <= start < end:
        text = _document_text(str(path), path.stat().st_mtime_ns, settings.max_file_bytes)
        if text is not None and " ".join(text[start:end].split()) == " ".join(chunk_text.split()):
            before = text[max(0, start - CONTEXT_CHARS):start]
            after = text[end:end + CONTEXT_CHARS]
            return (("…" if start > CONTEXT_CHARS else "") + before, text[start:end],
                    after + ("…" if end + CONTEXT_CHARS < len(text) else ""))
    return "", chunk_text, ""


def _support_badge(citation) -> str:
    if not getattr(citation, "cited", True):
        return '<span class="rag-badge rag-muted">retrieved, not cited</span>'
    supported = getattr(citation, "supported", None)
    if supported is False:
        return f'<span class="rag-badge rag-warn">{WARN} citation check failed</span>'
    if supported is True:
        return '<span class="rag-badge rag-ok">✓ supports the answer</span>'
    return ""


def quotes_by_citation(result) -> dict[int, list[str]]:
    """For each passage number, the answer sentences that cite it, without their [n] markers."""
    from rag.citations import strip_citations

    quotes: dict[int, list[str]] = {}
    for sentence in getattr(result, "sentences", None) or []:
        for n in sentence.citations:
            quotes.setdefault(n, []).append(strip_citations(sentence.text).strip().rstrip("."))
    return quotes


def _marked_span(span: str, quotes: list[str]) -> str:
    """The cited span, with the parts the answer repeats word for word picked out more strongly.

    An LLM paraphrases, so often nothing matches; an extractive answer quotes, and the reader sees
    exactly which sentence of the passage it took.
    """
    hits = []
    for quote in quotes:
        at = span.find(quote) if len(quote) >= 12 else -1
        if at >= 0:
            hits.append((at, at + len(quote)))
    out, pos = [], 0
    for a, b in sorted(hits):
        if a < pos:
            continue  # overlapping quotes: keep the first
        out += [esc(span[pos:a]), f'<mark class="rag-quote">{esc(span[a:b])}</mark>']
        pos = b
    out.append(esc(span[pos:]))
    return f'<span class="rag-span">{"".join(out)}</span>'


def render_sources(citations, settings: Settings, note: str = "", quotes: dict[int, list[str]] | None = None) -> str:
    """The numbered passages [1]..[n] of the current answer, in the answer's own numbering.

    Passages the answer cites are shown open; the others retrieved for context are folded away.
    """
    if not citations:
        body = f'<div class="rag-empty">{esc(note or "Sources of the answer appear here.")}</div>'
        return f'<div class="rag-sources">{body}</div>'
    quotes = quotes or {}
    cards = []
    for c in citations:
        before, span, after = source_context(settings, c.source, c.start, c.end, c.text)
        cited = getattr(c, "cited", True)
        head = (f'<span class="rag-n">[{int(c.n)}]</span> '
                f'<span class="rag-title">{esc(c.title or c.source)}</span>'
                f'<span class="rag-score" title="retrieval score (hybrid: reciprocal-rank fusion; dense: cosine)">'
                f'score {float(c.score):.3f}</span>')
        body = (f'<div class="rag-file">{esc(c.source)} · characters {int(c.start)}–{int(c.end)} {_support_badge(c)}</div>'
                f'<div class="rag-passage">{esc(before)}{_marked_span(span, quotes.get(int(c.n), []))}{esc(after)}</div>')
        if cited:
            cards.append(f'<div class="rag-source rag-cited" id="rag-source-{int(c.n)}">'
                         f'<div class="rag-source-head">{head}</div>{body}</div>')
        else:
            cards.append(f'<details class="rag-source rag-uncited" id="rag-source-{int(c.n)}">'
                         f'<summary class="rag-source-head">{head}</summary>{body}</details>')
    top = f'<div class="rag-note">{esc(note)}</div>' if note else ""
    return f'<div class="rag-sources">{top}{"".join(cards)}</div>'


# --- answers in the chat ------------------------------------------------------------------------

def render_streaming(text: str) -> str:
    return esc_md(text) + " ▍"


def render_answer(result) -> str:
    """The final answer: sentences with their [n] markers, unsupported ones flagged, refusals set apart."""
    if result.refused:
        # A quote block with a label: visibly not an answer, even at a glance.
        return f"> **⊘ Not found in the documents**\n>\n> {esc_md(' '.join(result.answer.split()))}"
    sentences = getattr(result, "sentences", None) or []
    if not sentences:
        return esc_md(result.answer)
    parts = []
    for s in sentences:
        text = esc_md(s.text)
        if s.supported is False:
            text = f"{text} {WARN}"
        parts.append(text)
    out = " ".join(parts)
    if any(s.supported is False for s in sentences):
        out += f"\n\n<sub>{WARN} marks a sentence its cited passage does not clearly support.</sub>"
    return out


def render_error(message: str) -> str:
    return f"> **⚠ Error:** {esc_md(message)}"
