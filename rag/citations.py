"""Inline [n] citations: clean them, split an answer into sentences, check each against its sources.

The support check is deliberately cheap (no second LLM call): the embedding similarity of the
sentence to the best-matching sentence of the passages it cites, combined with how many of its
names and numbers appear in those passages. A number that appears in no cited passage makes the
sentence unsupported whatever the similarity: small models copy the context well but invent figures.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.chunking import sentence_spans
from rag.embedding import embed_texts

CITE = re.compile(r"\s*\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
NAME = re.compile(r"\b[A-Z][\w'’-]+")
# Capitalised words that are not names: sentence starts and common function words.
NOT_NAMES = {"The", "A", "An", "In", "On", "At", "By", "For", "And", "But", "Or", "He", "She", "It",
             "They", "This", "That", "These", "Those", "His", "Her", "Their", "Its", "According",
             "During", "After", "Before", "While", "With", "Both", "Also", "As", "To", "Of", "We", "I"}
SIMILARITY_WEIGHT = 0.6


def sentences_of(text: str) -> list[tuple[int, int]]:
    """Sentence spans, re-joining Punkt's splits after abbreviations it does not know ("General
    Brown Jr. | met with …"): a piece that starts in lower case continues the sentence before it."""
    merged: list[list[int]] = []
    for start, end in sentence_spans(text):
        piece = text[start:end].lstrip()
        if merged and piece[:1].islower() and "\n" not in text[merged[-1][1]:start]:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def cited_numbers(text: str) -> list[int]:
    return [int(n) for m in CITE.finditer(text) for n in re.split(r"\s*[,;]\s*", m.group(1))]


def clean_citations(answer: str, n_passages: int) -> str:
    """Drop citations that point at no passage (0, n+1, …); write [1, 2] as [1][2]."""
    def fix(m: re.Match) -> str:
        kept = [n for n in (int(x) for x in re.split(r"\s*[,;]\s*", m.group(1))) if 1 <= n <= n_passages]
        seen = list(dict.fromkeys(kept))
        return (" " if m.group(0)[:1].isspace() else "") + "".join(f"[{n}]" for n in seen) if seen else ""
    cleaned = CITE.sub(fix, answer)
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned).strip()


def neutralise_citations(text: str) -> str:
    """A passage's own bracketed numbers ("[3]", "[1, 2]": footnotes, copied references) removed.
    Only the answer cites; a document quoting "[3]" must not make passage 3 look cited."""
    return CITE.sub("", text)


def strip_citations(text: str) -> str:
    return re.sub(r"\s+", " ", CITE.sub("", text)).strip()


def split_answer(answer: str) -> list[tuple[str, list[int]]]:
    """Sentences of the answer with the passage numbers each cites.

    Models write both "… met them [1]." and "… met them. [1]"; a citation opening a sentence
    belongs to the sentence before it, so it is moved there.
    """
    pieces = [answer[s:e].strip() for s, e in sentences_of(answer)]
    sentences: list[list] = []
    for piece in pieces:
        lead = re.match(r"(?:\s*\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\])+", piece)
        if lead and sentences:
            sentences[-1][0] += " " + lead.group(0).strip()
            piece = piece[lead.end():].strip()
        if piece and strip_citations(piece):
            sentences.append([piece, None])
        elif piece and sentences:
            sentences[-1][0] += " " + piece
    return [(text, list(dict.fromkeys(cited_numbers(text)))) for text, _ in sentences]


def names_and_numbers(text: str) -> set[str]:
    plain = strip_citations(text)
    found = {m.group(0).lower() for m in NUMBER.finditer(plain)}
    found |= {m.group(0).lower().rstrip("’'s") for m in NAME.finditer(plain) if m.group(0) not in NOT_NAMES}
    return {f for f in found if f}


@dataclass
class Support:
    score: float
    similarity: float
    overlap: float
    missing_numbers: list[str]


def support(sentence: str, sources: list[str], sentence_vec: np.ndarray | None = None,
            source_vecs: np.ndarray | None = None) -> Support:
    """How well `sources` (the cited passages' texts) support `sentence`; score in [0, 1]."""
    plain = strip_citations(sentence)
    if sentence_vec is None or source_vecs is None:
        units = source_units(sources)
        vecs = np.asarray(embed_texts([plain] + units))
        sentence_vec, source_vecs = vecs[0], vecs[1:]
    similarity = float(np.max(source_vecs @ sentence_vec)) if len(source_vecs) else 0.0
    haystack = " ".join(sources).lower()
    terms = names_and_numbers(plain)
    found = {t for t in terms if t in haystack}
    overlap = len(found) / len(terms) if terms else 1.0
    missing_numbers = sorted(t for t in terms - found if NUMBER.fullmatch(t))
    score = SIMILARITY_WEIGHT * max(similarity, 0.0) + (1 - SIMILARITY_WEIGHT) * overlap
    return Support(score=score, similarity=similarity, overlap=overlap, missing_numbers=missing_numbers)


def source_units(sources: list[str]) -> list[str]:
    """What a sentence is compared with: each sentence of the sources, and pairs of neighbours
    (an answer sentence often merges two source sentences)."""
    units = []
    for text in sources:
        sents = [text[s:e] for s, e in sentences_of(text)] or [text]
        units.extend(sents)
        units.extend(a + " " + b for a, b in zip(sents, sents[1:]))
    return units


def check_passages(sentences: list[tuple[str, list[int]]], passages: dict[int, str],
                   threshold: float) -> dict[int, bool]:
    """Per cited passage: does it, on its own, support every sentence that cites it?

    check_sentences judges a sentence against all its cited passages together, so in "… [1][2]"
    a passage 2 that says nothing of the sort would share passage 1's verdict. Numbers are not
    required here (a sentence may take its figure from the other passage it cites)."""
    cited = sorted({n for _, cites in sentences for n in cites if n in passages})
    citing = [(text, [n for n in cites if n in passages]) for text, cites in sentences]
    citing = [(text, cites) for text, cites in citing if cites]
    if not cited:
        return {}
    units_by_passage = {n: source_units([passages[n]]) for n in cited}
    flat = [u for n in cited for u in units_by_passage[n]]
    vecs = np.asarray(embed_texts([strip_citations(text) for text, _ in citing] + flat))
    sentence_vecs, unit_vecs = vecs[:len(citing)], vecs[len(citing):]
    owner = np.array([n for n in cited for _ in units_by_passage[n]])
    verdicts: dict[int, bool] = {}
    for i, (text, cites) in enumerate(citing):
        for n in cites:
            result = support(text, [passages[n]], sentence_vecs[i], unit_vecs[owner == n])
            verdicts[n] = verdicts.get(n, True) and result.score >= threshold
    return verdicts


def check_sentences(sentences: list[tuple[str, list[int]]], passages: dict[int, str],
                    threshold: float) -> list[bool | None]:
    """supported/unsupported per sentence, against the passages it cites.

    A sentence citing nothing is checked against all passages, so an uncited claim that the
    documents do not back is flagged too; one embedding batch for the whole answer keeps this fast.
    """
    if not sentences or not passages:
        return [None] * len(sentences)
    all_numbers = sorted(passages)
    units_by_passage = {n: source_units([passages[n]]) for n in all_numbers}
    flat = [u for n in all_numbers for u in units_by_passage[n]]
    vecs = np.asarray(embed_texts([strip_citations(s) for s, _ in sentences] + flat))
    sentence_vecs, unit_vecs = vecs[:len(sentences)], vecs[len(sentences):]
    owner = np.array([n for n in all_numbers for _ in units_by_passage[n]])
    verdicts: list[bool | None] = []
    for i, (text, cites) in enumerate(sentences):
        refs = [n for n in cites if n in passages] or all_numbers
        mask = np.isin(owner, refs)
        result = support(text, [passages[n] for n in refs], sentence_vecs[i], unit_vecs[mask])
        verdicts.append(result.score >= threshold and not result.missing_numbers)
    return verdicts
