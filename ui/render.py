"""HTML and Markdown for answers and sources. Every piece of document or user text goes through
`esc()`: a document containing <script> or <img onerror=…> is shown as text, never run.
"""
from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING

from rag.config import Settings
from rag.corpus import source_context

if TYPE_CHECKING:  # the answer package is imported lazily, after the page is up
    from rag.answer.results import Citation

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
    from rag.answer.citations import strip_citations

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


def page_viewer(c, settings: Settings) -> str:
    """A PDF passage's page as an image with the passage highlighted, folded until opened. Rendered
    server-side (pypdfium2) and embedded as a data: URI: nothing is fetched from anywhere."""
    from rag.pageview import page_image

    if c.page is None or c.page_offset is None:
        return ""
    offset = int(c.page_offset)
    image = page_image(settings, c.source, int(c.page), int(c.start) - offset, int(c.end) - offset, c.text)
    if image is None:
        return ""
    more = f" (the passage continues on p. {int(c.page_end)})" if c.page_end else ""
    note = "" if image.boxes else " — the passage could not be placed on the page (file changed?)"
    data = base64.b64encode(image.png).decode("ascii")
    return (f'<details class="rag-page" data-page="{image.page}" data-boxes="{image.boxes}">'
            f'<summary>Show page {image.page}{esc(more)}{esc(note)}</summary>'
            f'<img class="rag-page-img" width="{image.width}" height="{image.height}" '
            f'alt="Page {image.page} of {esc(c.source)}, the cited passage highlighted" '
            f'src="data:image/png;base64,{data}"></details>')


def render_sources(citations: list[Citation], settings: Settings, note: str = "", quotes: dict[int, list[str]] | None = None,
                   pages: bool = False) -> str:
    """The numbered passages [1]..[n] of the current answer, in the answer's own numbering.

    Passages the answer cites are shown open; the others retrieved for context are folded away.
    `pages`: add the page viewer to PDF passages (the final answer's panel; not the early one, so
    rendering never delays the first token).
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
                f'<span class="rag-title">{esc(c.heading or c.title or c.source)}</span>'
                f'<span class="rag-score" title="retrieval score (hybrid: reciprocal-rank fusion; dense: cosine)">'
                f'score {float(c.score):.3f}</span>')
        body = (f'<div class="rag-file">{esc(c.source)} · {c.location() + " · " if c.page is not None else ""}characters {int(c.start)}–{int(c.end)} '
                f'{_support_badge(c)}</div>'
                f'<div class="rag-passage">{esc(before)}{_marked_span(span, quotes.get(int(c.n), []))}{esc(after)}</div>'
                + (page_viewer(c, settings) if pages else ""))
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
