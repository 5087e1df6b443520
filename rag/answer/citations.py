"""Inline [n] citations: clean them, move them where they belong, split an answer into sentences.

Whether a cited passage supports its sentence is verify.py's question; this module only handles the
markers. Small models place them anywhere ("[1] X.", "As stated in [1], X.", "X. [1]", "passage 2"),
so they are normalised in code rather than trusted to the model's formatting.
"""
from __future__ import annotations

import re

from rag.answer.sentences import sentences_of

CITE = re.compile(r"\s*\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
NAME = re.compile(r"\b[A-Z][\w'’-]+")
# Capitalised words that are not names: sentence starts and common function words.
NOT_NAMES = {"The", "A", "An", "In", "On", "At", "By", "For", "And", "But", "Or", "He", "She", "It",
             "They", "This", "That", "These", "Those", "His", "Her", "Their", "Its", "According",
             "During", "After", "Before", "While", "With", "Both", "Also", "As", "To", "Of", "We", "I"}
MARK = re.compile(r"\[\d{1,3}\]")
LEADING_MARKS = re.compile(r"(?:\s*\[\d{1,3}\])+")
# "passage 2", "source 2": the model naming a passage in words
NAMED_PASSAGE = re.compile(r"\b(?:passages?|sources?)\s+(\d{1,3})\b", re.IGNORECASE)
# "as stated in [1]", "according to [2]", "(see [1])", "in passage [3]": a citation worded into the sentence
WORDED_CITATION = re.compile(
    r"[,;]?\s*\(?\b(?:as\s+(?:stated|mentioned|reported|noted|described|said|shown)\s+in|according\s+to|see|"
    r"from|in)\s+(?:the\s+)?(?:passages?|sources?)?\s*((?:\[\d{1,3}\]\s*)+)\)?", re.IGNORECASE)
# The sentence's closing stop, which the [n] marks go before ("X [1]."). Colons are no stop here.
CLOSING_STOP = re.compile(r"[.!?…]+[\"”’']?\s*$")
# "This is stated in [4].": a sentence that only points at a passage cites the sentence before it.
POINTER_ONLY = re.compile(
    r"(?:(?:this|that|it)(?:\s+(?:information|answer|fact))?\s+(?:is|was|can\s+be)\s+"
    r"(?:stated|mentioned|found|given|shown|written|noted|described|explained|confirmed)|source|sources)"
    r"(?:\s+(?:in|by))?(?:\s+the)?(?:\s+(?:passages?|sources?|documents?))?[\s.!]*", re.IGNORECASE)


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


def place_citations(answer: str) -> str:
    """Each sentence's [n] markers moved to its end, before the final punctuation: "[1] X.",
    "As stated in [1], X.", "According to passage 1, X." and "X. [1]" all become "X [1]"."""
    answer = NAMED_PASSAGE.sub(r"[\1]", answer)
    if LEADING_MARKS.match(answer):
        answer = segments_closed_by_their_marks(answer)
    placed: list[tuple[str, list[str]]] = []
    for start, end in sentences_of(answer):
        piece = answer[start:end].strip()
        lead = LEADING_MARKS.match(piece)
        if lead and placed:  # "X. [1] Y.": a marker opening a sentence closes the one before
            placed[-1][1].extend(MARK.findall(lead.group(0)))
            piece = piece[lead.end():]
        body, marks = _marks_out(piece)
        if body.strip(" .!?…") and not (placed and POINTER_ONLY.fullmatch(body.strip())):
            placed.append((body[:1].upper() + body[1:], marks))
        elif placed:
            placed[-1][1].extend(marks)
    return " ".join(marks_at_end(body, marks) for body, marks in placed)


def segments_closed_by_their_marks(answer: str) -> str:
    """An answer that opens on a marker opens each part on its own: "[1] 55,000,000 SLOC [2] 2250
    packages" is "55,000,000 SLOC [1]. 2250 packages [2].", not one sentence citing both."""
    parts = re.split(r"((?:\s*\[\d{1,3}\])+)", answer)
    segments: list[tuple[str, list[str]]] = []
    for marks, text in zip(parts[1::2], parts[2::2]):
        body = text.strip()
        if body.strip(" .!?…"):
            segments.append((body, MARK.findall(marks)))
        elif segments:  # a trailing "[2]." after "[1] X" also cites X
            segments[-1][1].extend(MARK.findall(marks))
    return " ".join(marks_at_end(body, marks) for body, marks in segments)


def _marks_out(sentence: str) -> tuple[str, list[str]]:
    """The sentence without its markers (and the words that framed them), and the markers."""
    marks: list[str] = []

    def take(m: re.Match) -> str:
        marks.extend(MARK.findall(m.group(1)))
        return " "
    body = WORDED_CITATION.sub(take, sentence)
    marks += MARK.findall(body)
    return " ".join(MARK.sub(" ", body).split()).lstrip(",;:- "), marks


def marks_at_end(body: str, marks: list[str]) -> str:
    """'X.' with ['[1]', '[2]'] -> 'X [1][2].' (duplicates dropped; a missing full stop added)."""
    if not marks:
        return body
    stop = CLOSING_STOP.search(body)
    core, end = (body[:stop.start()], stop.group(0).strip()) if stop else (body, ".")
    return f"{core.rstrip(' ,;:')} {''.join(dict.fromkeys(marks))}{end}"


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
        # A piece of citations alone was moved onto the sentence before it just above.
        if piece and strip_citations(piece):
            sentences.append([piece, None])
    return [(text, list(dict.fromkeys(cited_numbers(text)))) for text, _ in sentences]


def names_and_numbers(text: str) -> set[str]:
    plain = strip_citations(text)
    found = {m.group(0).lower() for m in NUMBER.finditer(plain)}
    found |= {m.group(0).lower().rstrip("’'s") for m in NAME.finditer(plain) if m.group(0) not in NOT_NAMES}
    return {f for f in found if f}
