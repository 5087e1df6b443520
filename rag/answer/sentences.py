"""Sentences: splitting a text into them, their content words, and scoring them against a question.

Used by every backend: passage trimming and the extractive answer score sentences, the citation
check splits the answer and the passages. Vectors come from an `Embedder` (rag.embedding) so each
text is embedded once per question.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from rag.chunking import sentence_spans
from rag.embedding import Embedder

WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = set("""a an the and or but of to in on at by for with from as is are was were be been being do does
did what who whom whose which when where why how that this these those it its he she they them his her their
there here about into than then so if not no yes can could would should will shall may might has have had
i you we me my our your please tell explain describe give according document documents text""".split())
SIMILARITY_WEIGHT = 0.7  # relevance = 0.7 cosine + 0.3 share of the question's content words
LABEL_WORDS = 8  # a heading, byline or list entry's label ("Debian 2.1 Slink (March 9th, 1999)") is this short
LIST_NUMBER = re.compile(r"\W*\d+(?:\.\d+)*\.?\W*")  # "2." of a numbered list: it opens the next sentence
BLANK_LINE = re.compile(r"\n[ \t]*\n")
# A line ending on one of these ended a sentence or a clause, so the next line does not continue it.
# Colons and semicolons count: "Debian 9 Stretch (June 17th, 2017):" closes its list label.
LINE_CLOSED = re.compile(r"[.!?:;][\"'’”)\]]*$")
ABBREVIATION_END = re.compile(r"(?:\b(?:[A-Za-z]\.){2,}|\b(?:Jr|Sr|Mr|Mrs|Ms|Dr|Gen|Lt|Col|St|Inc|No|vs)\.)$")


def sentences_of(text: str) -> list[tuple[int, int]]:
    """Sentence spans. Punkt ends a sentence at every line break and after abbreviations it does not
    know; a piece is joined to the sentence before it when that split was no sentence end: after an
    abbreviation ("U.S. | Africa Command", "Brown Jr. | met"), after a list number ("2. | The
    Developers"), after a long line without a sentence end (a hard-wrapped text file or HTML source:
    the next line continues it), or when the piece starts in lower case. Never across a blank line:
    that ends a paragraph, a title or a byline."""
    merged: list[list[int]] = []
    for start, end in sentence_spans(text):
        if (merged and not BLANK_LINE.search(text, merged[-1][1], start)
                and _continues(text[merged[-1][0]:merged[-1][1]].strip(), text[start:end].lstrip())):
            merged[-1][1] = end
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def _continues(sentence: str, piece: str) -> bool:
    return bool(ABBREVIATION_END.search(sentence) or piece[:1].islower() or LIST_NUMBER.fullmatch(sentence)
                or wrapped_line(sentence))


def wrapped_line(text: str) -> bool:
    """A long line without a sentence end: the source broke the line mid-sentence, so the next line
    continues it. Short ones are headings and bylines."""
    return not LINE_CLOSED.search(text) and len(text.split()) > LABEL_WORDS


def sentence_texts(text: str) -> list[str]:
    """The sentences themselves, each on one line (a wrapped sentence's line breaks become spaces)."""
    return [" ".join(text[s:e].split()) for s, e in sentences_of(text)]


def content_words(text: str) -> set[str]:
    return {w for w in WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1}


@dataclass
class ScoredSentence:
    passage: int      # index into the passages list (0-based)
    start: int        # offsets within that passage's text
    end: int
    text: str
    relevance: float


def score_sentences(question: str, texts: list[str], embedder: Embedder | None = None) -> list[ScoredSentence]:
    """Every sentence of `texts`, scored against the question: embedding cosine plus the share of
    the question's content words it contains (names and rare terms the small embedder blurs)."""
    embedder = embedder or Embedder()
    found = [(i, s, e, " ".join(t[s:e].split())) for i, t in enumerate(texts) for s, e in sentences_of(t)]
    found = [f for f in found if f[3]]
    if not found:
        return []
    cosines = embedder.texts([f[3] for f in found]) @ embedder.query(question)
    q_words = content_words(question)
    scored = []
    for (i, s, e, text), cos in zip(found, cosines):
        overlap = len(q_words & content_words(text)) / len(q_words) if q_words else 0.0
        relevance = SIMILARITY_WEIGHT * float(cos) + (1 - SIMILARITY_WEIGHT) * overlap
        scored.append(ScoredSentence(i, s, e, text, relevance))
    return scored
