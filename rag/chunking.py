"""Sentence-aware chunking that keeps exact character spans and fits the embedding window.

llama-index's SentenceSplitter sizes chunks with a different tokenizer and recovers spans by
`str.find`, which points at the wrong place when a passage repeats. Citations must open the exact
passage, so chunks are packed here from sentence spans (llama-index's bundled Punkt model) and
sized with the embedding model's own tokenizer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from rag.embedding import MODEL_WINDOW, SPECIAL_TOKENS, token_counts
from rag.formats.structure import HEADING_SEPARATOR, Layout, heading_path

HEADING_TOKEN_BUDGET = 48  # the heading path embedded with each chunk; 160 + 48 + 2 fits the 256 window
# Part of every file's manifest record: a file chunked by another recipe is chunked again on the next
# ingest (a changed RAG_CHUNK_SIZE, or a new version of this module), never mixed with today's chunks.
CHUNKER_VERSION = "sections-tables-headingpath-bare-2"
PARAGRAPH = re.compile(r"[^\n]+")
# A passage with fewer words than this holds no answer: a heading whose section has no text before
# its first subsection ("4.13. Important Events"), a one-row table ("| Chapter 3. Debian Releases |").
# Alone it still ranked high (its words are its heading path's); it is joined to a neighbour instead.
BARE_PASSAGE_WORDS = 8
WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int
    end: int
    text: str
    embed_text: str  # what the model and BM25 see: the heading path ("Title › Section"), then the passage
    path: tuple[str, ...] = ()  # the headings it is under, outermost first (not clipped, no title)


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    tokens: int


@dataclass(frozen=True)
class _Span:
    """A chunk before its text is cut: offsets and the heading path it is embedded under."""
    start: int
    end: int
    path: tuple[str, ...]


def _punkt():
    from llama_index.core.utils import globals_helper

    return globals_helper.punkt_tokenizer


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentences as (start, end) offsets; a line break always ends a sentence (headings, bylines)."""
    punkt = _punkt()
    spans = []
    for line in PARAGRAPH.finditer(text):
        for start, end in punkt.span_tokenize(line.group()):
            piece = line.group()[start:end]
            if piece.strip():
                spans.append((line.start() + start, line.start() + end))
    return spans


def _split_long(text: str, start: int, end: int, budget: int) -> list[_Unit]:
    """A sentence longer than the budget is cut at word boundaries."""
    words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
    counts = token_counts([text[s:e] for s, e in words])
    units, run_start, run_tokens, prev_end = [], None, 0, start
    for (ws, we), n in zip(words, counts):
        n = min(n, budget)  # a single absurd "word" (a URL, base64) is cut by the window anyway
        if run_start is not None and run_tokens + n > budget:
            units.append(_Unit(run_start, prev_end, run_tokens))
            run_start, run_tokens = None, 0
        if run_start is None:
            run_start = ws
        run_tokens += n
        prev_end = we
    if run_start is not None:
        units.append(_Unit(run_start, prev_end, run_tokens))
    return units


def _units(text: str, budget: int) -> list[_Unit]:
    spans = sentence_spans(text)
    counts = token_counts([text[s:e] for s, e in spans])
    units: list[_Unit] = []
    for (start, end), n in zip(spans, counts):
        if n > budget:
            units.extend(_split_long(text, start, end, budget))
        else:
            units.append(_Unit(start, end, n))
    return units


def chunking_recipe(chunk_size: int, overlap: int) -> str:
    return f"{CHUNKER_VERSION}:{chunk_size}:{overlap}"


def _fit(text: str) -> tuple[str, int]:
    """`text` cut at a word to at most HEADING_TOKEN_BUDGET word pieces, and its token count."""
    words = text.split()
    while words:
        candidate = " ".join(words)
        n = token_counts([candidate])[0]
        if n <= HEADING_TOKEN_BUDGET:
            return candidate, n
        words = words[: max(1, len(words) * HEADING_TOKEN_BUDGET // n - 1)] if len(words) > 1 else []
    return "", 0


def clip_heading(path: str) -> tuple[str, int]:
    """The heading path as embedded and its token count. A path over the budget keeps its ends, the
    title and the innermost section (the most specific words), before words are cut."""
    parts = path.split(HEADING_SEPARATOR)
    candidates = [path] + ([HEADING_SEPARATOR.join([parts[0], parts[-1]]), parts[-1]] if len(parts) > 1 else [])
    for candidate in candidates:
        n = token_counts([candidate])[0]
        if n <= HEADING_TOKEN_BUDGET:
            return candidate, n
    return _fit(candidates[-1])


def _clipped_headings(title: str, paths: list[tuple[str, ...]]) -> dict[tuple[str, ...], tuple[str, int]]:
    """clip_heading of each section's heading path, the paths counted in one tokenizer batch (a CSV has
    a section per row; most paths fit the budget as they are)."""
    full = [heading_path(title, path) for path in paths]
    return {path: (text, n) if n <= HEADING_TOKEN_BUDGET else clip_heading(text)
            for path, text, n in zip(paths, full, token_counts(full))}


def chunk_text(text: str, title: str, chunk_size: int, overlap: int, layout: Layout | None = None) -> list[Chunk]:
    """Chunks of `text`, each embedded under its heading path. With a layout's sections, no chunk
    runs across a section start (a chunk ends before it and the next chunk starts at it, without
    overlap) unless what comes before it is too short to stand alone (joined_bare_sections).
    Without them (.txt) chunking is by size alone, under the title."""
    layout = joined_bare_sections(text, layout or Layout())
    headings = _clipped_headings(title, list({()} | {p for _, p in layout.sections}))
    # Word-piece counts add up across whitespace, so heading + passage + [CLS]/[SEP] stays in the window.
    budget = min(chunk_size, MODEL_WINDOW - SPECIAL_TOKENS - max(n for _, n in headings.values()))
    spans = _spans(_units(text, budget), layout, budget, overlap)
    chunks = []
    for span in spans:
        passage, heading = text[span.start:span.end], headings[span.path][0]
        chunks.append(Chunk(len(chunks), span.start, span.end, passage,
                            f"{heading}\n{passage}" if heading else passage, span.path))
    return chunks


def _spans(units: list[_Unit], layout: Layout, budget: int, overlap: int) -> list[_Span]:
    """Units packed into chunks of at most `budget` word pieces that do not run across a section or
    table start, consecutive chunks of a section sharing up to `overlap` pieces of whole sentences."""
    boundaries = layout.boundaries
    spans: list[_Span] = []
    i = 0
    while i < len(units):
        j, tokens = i, 0
        limit = _next_boundary(boundaries, units[i].start)
        while j < len(units) and tokens + units[j].tokens <= budget and (j == i or units[j].start < limit):
            tokens += units[j].tokens
            j += 1
        spans.append(_Span(units[i].start, units[j - 1].end, layout.heading_at(units[i].start)))
        if j >= len(units):
            break
        if units[j].start >= limit:  # a new section: it starts afresh, nothing carried over
            i = j
            continue
        # Step back over whole sentences worth at most `overlap` tokens, always moving forward.
        back, carried = j, 0
        while back - 1 > i and carried + units[back - 1].tokens <= overlap:
            back -= 1
            carried += units[back].tokens
        i = back
    return spans


def joined_bare_sections(text: str, layout: Layout) -> Layout:
    """The layout with each bare region (fewer than BARE_PASSAGE_WORDS words between two chunk
    boundaries) joined to a neighbour: to the next region when that is in its section or a subsection
    of it (a heading before its first subsection: the region takes the deeper heading path, which
    names both headings), or to the previous one when it is a short table closing its section. The
    chunker then packs the joined region within the usual budget; a bare region with neither stays."""
    marks = layout.boundaries
    if not marks:
        return layout
    table_starts = {start for start, _ in layout.tables}
    edges = ([0] if marks[0] > 0 else []) + marks + [len(text)]
    regions: list[_Region] = []
    for start, end in zip(edges, edges[1:]):
        if end <= start:
            continue
        bare = len(WORD.findall(text, start, end)) < BARE_PASSAGE_WORDS
        region = _Region(start, end, layout.heading_at(start), start in table_starts, bare)
        before = regions[-1] if regions else None
        if before and before.bare and region.path[:len(before.path)] == before.path:
            # Headings over headings stay bare until text follows ("Chapter 2", "2.1. Lights", "2.1.1. …").
            regions[-1] = _Region(before.start, end, region.path, before.table, region.bare)
        elif before and region.table and region.bare and region.path == before.path:
            regions[-1] = _Region(before.start, end, before.path, before.table, before.bare)
        else:
            regions.append(region)
    starts = {r.start for r in regions}
    return Layout(page_starts=layout.page_starts, sections=[(r.start, r.path) for r in regions],
                  tables=[t for t in layout.tables if t[0] in starts])


@dataclass(frozen=True)
class _Region:
    """Text between two chunk boundaries (section or table starts), and its heading path."""
    start: int
    end: int
    path: tuple[str, ...]
    table: bool  # starts with a table
    bare: bool  # no text of its own beyond a few words (BARE_PASSAGE_WORDS)


def _next_boundary(boundaries: list[int], offset: int) -> float:
    from bisect import bisect_right

    at = bisect_right(boundaries, offset)
    return boundaries[at] if at < len(boundaries) else float("inf")
