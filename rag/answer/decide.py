"""Whether an answer stands: the pipeline decides refusals, not the model.

The packaged 1.5B model cannot be trusted either way: told to refuse when the passages lack the
answer, it refused 40 % of the questions whose answer it was shown, and it still invented answers to
unanswerable ones ("the population is 6.7 million [1]"). So the prompt asks for an answer, and this
module keeps what the passages back up:

1. citation markers are put where they belong (citations.place_citations);
2. each sentence is verified against each passage it cites on its own (verify.py): a citation that
   does not support its sentence is dropped; a sentence its citations do not support (or that cites
   nothing) is cited to the first other passage that does, and dropped when none does;
3. nothing left, or what is left does not answer the question (a number for "how many", …): refuse.
The same decision applies to every backend, the extractive one included.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from rag.answer.claims import IRREGULAR_PAST, acronym_definitions, names, tokens, with_definitions
from rag.answer.citations import clean_citations, marks_at_end, place_citations, split_answer, strip_citations
from rag.answer.prompts import REFUSAL
from rag.answer.results import AnswerSentence, Citation
from rag.answer.relevance import BE_FORMS, answers_question, asserted_verb, premise, says_whether, unmentioned_names
from rag.answer.verify import caching, verify_sentence
from rag.embedding import Embedder

# What a small model writes instead of answering; only trusted when the answer cites nothing, so
# "The passages do not give the date, but … [1]" stays an answer.
_REFUSAL_LIKE = re.compile(
    r"(do(es)?n[o’']?t (contain|mention|provide|say|specify|include)|no information|not (mentioned|provided|"
    r"specified|stated|found)|cannot (be )?(determine|answer)|can't (determine|answer)|i don[’']?t know|unknown)",
    re.IGNORECASE)


@dataclass(frozen=True)
class Decision:
    answer: str                       # what the user is shown (REFUSAL when refused)
    sentences: list[AnswerSentence]   # the kept sentences, each supported by the passages it cites
    refused: bool
    reason: str = ""                  # why the answer was refused, for the JSON and the evaluation


def decide(question: str, raw: str, citations: list[Citation], embedder: Embedder,
           corpus_names: frozenset[str] = frozenset()) -> Decision:
    """The answer to show for the model's raw text over the numbered passages `citations`;
    `corpus_names`: the words the corpus only writes as names (rag.bm25.capitalised_only)."""
    passages = {c.n: c.text for c in citations}
    passage_text = " ".join(passages.values())
    answer = clean_citations(place_citations(initialisms_as_written(raw.strip(), passage_text)), len(citations))
    if is_refusal(answer):
        return refusal("the model found no answer in the passages")
    if unnamed := unmentioned_names(question, [f"{c.title}\n{c.text}" for c in citations], corpus_names):
        return refusal(f"the passages do not mention {', '.join(unnamed)}")
    titles = {c.n: c.title for c in citations}
    runs = contiguous_runs(citations)
    embed = caching(embedder.texts)
    given = premises(question, citations)
    sentences = [(text, cites) for text, cites in ((list_cut_short(t), c) for t, c in split_answer(answer))
                 if not unfinished(text)]
    kept = [s for s in (supported_sentence(text, cites, passages, embed, runs, titles, given,
                                           opening_name(sentences[i - 1][0]) if i else "")
                        for i, (text, cites) in enumerate(sentences)) if s is not None]
    if not kept:
        return refusal("no sentence of the answer is supported by the passages")
    defined = acronym_definitions(passage_text)
    if not answers_question(question, [with_definitions(s.text, defined) for s in kept], embed):
        return refusal("the supported sentences do not answer the question")
    verb = asserted_verb(question)
    if verb and not any(says_whether(question, verb, passages[n]) for s in kept for n in s.citations):
        # "Did Haftar agree to …?" "Yes, Haftar agreed to … [1]." over a passage that only says what
        # he was asked: the words of the question are there, whether he agreed is not.
        return refusal(f"the passages do not say whether … {verb}")
    kept = [without_contradicting_yes(s) for s in without_repeats(kept)]
    return Decision(" ".join(s.text for s in kept), kept, False)


# Initials the model spaced out: "U. S." (tokenised apart), "U. S. A.".
SPACED_INITIALS = re.compile(r"\b(?:[A-Z]\. ){1,3}[A-Z]\.")


def initialisms_as_written(answer: str, passages: str) -> str:
    """"the U. S. had co-hosted" written "U.S." when the passages write it so (and never spaced):
    spaced, the initials end a sentence at "U." and the check sees two fragments."""
    def joined(m: re.Match) -> str:
        closed = m.group(0).replace(" ", "")
        return closed if closed in passages and m.group(0) not in passages else m.group(0)
    return SPACED_INITIALS.sub(joined, answer)


def without_repeats(sentences: list[AnswerSentence]) -> list[AnswerSentence]:
    """Each sentence once: "[1] 4 days [2] 4 days [3] 4 days" was shown as "4 days [1]." three
    times once every copy had been cited to the passage that holds it."""
    seen: set[str] = set()
    kept = []
    for sentence in sentences:
        key = " ".join(strip_citations(sentence.text).lower().split()).rstrip(".!? ")
        if key not in seen:
            seen.add(key)
            kept.append(sentence)
    return kept


# "n't" ends a word ("wasn't"), so it takes no word boundary before it
YES_THEN_NOT = re.compile(r"^Yes,\s+(?=.*(?:\bnot|\bnever|n['’]t|\bno longer)\b)", re.IGNORECASE)


def without_contradicting_yes(sentence: AnswerSentence) -> AnswerSentence:
    """"Yes, the package archive was not affected [1]." for "was the package archive affected?": the
    model's "Yes" contradicts the sentence it opens, which the passage backs; the sentence is shown
    without it."""
    if not YES_THEN_NOT.match(sentence.text):
        return sentence
    rest = YES_THEN_NOT.sub("", sentence.text, count=1)
    return replace(sentence, text=rest[:1].upper() + rest[1:])


# A sentence that stops on one of these before its citation left out what it was about to say: "The
# article was translated by [2].", "The leader then was [3]." (the model put the marker for the name).
UNFINISHED_ENDINGS = {"by", "was", "were", "is", "are", "the", "a", "an", "of", "to", "in", "and", "or", "as", "from",
                      "with", "at", "for", "on", "that", "which", "who", "be", "been", "its", "their", "his", "her"}
# ...except a preposition closing a relative clause: "the architecture Thiemo Seufer worked on [1]."
STRANDED_PREPOSITIONS = {"on", "in", "at", "for", "with", "to", "from"}
AUXILIARIES = {"was", "were", "is", "are", "be", "been", "being", "has", "have", "had", "get", "got"}
MIN_RELATIVE_WORDS = 6


def unfinished(sentence: str) -> bool:
    words = [w.lower() for w in re.findall(r"[\w']+", strip_citations(sentence))]  # "hacked in 2003" ends on 2003
    if not words or words[-1] not in UNFINISHED_ENDINGS:
        return False
    return not stranded_preposition(words) and not free_relative(words)


# "… named config on GNU/Linux, Unix, BSD, and [1]." (the model stopped copying mid-list)
CUT_LIST = re.compile(r",\s*(?:and|or)(?=(?:\s*\[\d{1,3}\])*\s*[.!?]?\s*$)", re.I)


def list_cut_short(sentence: str) -> str:
    """A sentence ending in ", and" or ", or" before its marks, the list's last item missing, as the
    list it still is: "… on GNU/Linux, Unix, BSD [1]." Whether the passage says that is checked as
    for any sentence; without the comma ("… with Benghazi and [1].") it stays unfinished."""
    return CUT_LIST.sub("", sentence, count=1)


FREE_RELATIVE_WORDS = {"what", "whatever", "who", "whoever", "where", "wherever", "how", "however", "whichever"}


def free_relative(words: list[str]) -> bool:
    """The sentence ends on a clause complete in itself: "… with the current status whatever that is",
    "… as it is, whoever they are". One to three words stand between the question word and the
    final copula; "the leader then was [3]." has none and still misses its name."""
    return words[-1] in BE_FORMS and any(w in FREE_RELATIVE_WORDS for w in words[-5:-2])


def stranded_preposition(words: list[str]) -> bool:
    """The sentence ends "... <subject> <past verb> <preposition>", the object being earlier: a
    passive ("was based on") or a bare "He worked on" still misses it."""
    if len(words) < MIN_RELATIVE_WORDS or words[-1] not in STRANDED_PREPOSITIONS:
        return False
    verb, before = words[-2], words[-3]
    return (verb.endswith("ed") or verb in IRREGULAR_PAST) and before not in AUXILIARIES


def premises(question: str, citations: list[Citation]) -> dict[int, str]:
    """Per passage, the question's words that the shown passages of its own document hold: what a
    sentence citing it may restate without the passage repeating it ("The 2024 conference was the
    first …", where the document's other passage names the 2024 conference). A word only another
    document's passage holds is not granted: "Was Haftar at the conference in Gaborone?" answered
    "Yes, Haftar was at the conference in Gaborone [1]." while only another article names Haftar."""
    by_source: dict[str, list[str]] = {}
    for c in citations:
        by_source.setdefault(c.source, []).append(f"{c.title}\n{c.text}")
    given = {source: premise(question, texts) for source, texts in by_source.items()}
    return {c.n: given[c.source] for c in citations}


def supported_sentence(text: str, cites: list[int], passages: dict[int, str], embed,
                       runs: dict[int, tuple[list[int], str]] | None = None,
                       titles: dict[int, str] | None = None, premises: dict[int, str] | None = None,
                       antecedent: str = "") -> AnswerSentence | None:
    """The sentence cited to the passages that support it, or None when none does.

    Each cited passage is checked on its own and only those that back the sentence stay cited. A
    small model often puts the wrong number on a right sentence ("General Brown Jr. [2]" where
    passage 1 says it), so a sentence its own citations do not support is cited to the first other
    passage that does; one citing several passages may be backed by them together, and a passage
    together with the passages it continues in its document (`runs`: "Debian 9 Stretch …" in one,
    "this release dropped powerpc" in the next). `antecedent`: the name an opening "He"/"She" stands
    for (the previous sentence's subject), put in its place for the check only."""
    claim = strip_citations(text)
    checked = with_antecedent(claim, antecedent)
    titles = titles or {}

    def supports(numbers: list[int], texts: list[str] | None = None, sentence: str | None = None) -> bool:
        return verify_sentence(sentence or checked, texts or [passages[n] for n in numbers], embed,
                               [titles.get(n, "") for n in numbers],
                               " ".join((premises or {}).get(n, "") for n in numbers)).supported

    cited = [n for n in cites if n in passages]
    others = [n for n in sorted(passages) if n not in cited]
    for group in (cited, others):
        alone = [n for n in group if supports([n])]
        if alone:
            return AnswerSentence(with_citations(claim, alone if group is cited else alone[:1]),
                                  alone if group is cited else alone[:1], True)
    if len(cited) > 1 and supports(cited):
        return AnswerSentence(with_citations(claim, cited), cited, True)
    for n in cited + others:
        numbers, joined = (runs or {}).get(n, ([n], ""))
        if len(numbers) > 1 and supports(numbers[:1], [joined]):
            return AnswerSentence(with_citations(claim, numbers), numbers, True)
    return supported_clauses(claim, cited + others, supports)


OPENING_PRONOUN = re.compile(r"(?:He|She)\b")


def opening_name(sentence: str) -> str:
    """The name a sentence opens on, by its last word as verify.py keys entities ("General Michael
    Langley is …" -> "Langley", whom a passage may call just that): the subject a next sentence's "He"
    or "She" refers to. "" when the sentence opens otherwise."""
    toks = tokens(strip_citations(sentence))
    last = ""
    for _, i in names(toks):
        if not all(t.capital for t in toks[:i]):  # only titles ("General", "The") before the name
            break
        last = toks[i].text
    return last


def with_antecedent(claim: str, antecedent: str) -> str:
    """'He is from the Marine Corps.' checked as 'Langley is from the Marine Corps.':
    a pronoun alone is far from every passage sentence in embedding space."""
    if antecedent and OPENING_PRONOUN.match(claim):
        return OPENING_PRONOUN.sub(antecedent, claim, count=1)
    return claim


# "X was working at Pixar, and he helped create SPI": two facts, often from two passages.
CLAUSE_BREAK = re.compile(r"[,;]\s+(?:and|but|while)\s+(?=(?:he|she|they|it|his|her|their|its|the|this|[A-Z])\b)|;\s+")


def supported_clauses(claim: str, numbers: list[int], supports) -> AnswerSentence | None:
    """A sentence joining clauses, each backed by some passage (not necessarily the same one), cited
    to those passages. When only its leading clauses are backed, those alone ("Ian Murdock was 42
    when he died, and he stopped leading Debian in August 1996" keeps its first half): the rest is
    the model's addition. None when it is one clause or its first clause has no backing."""
    clauses = [c.strip(" ,;") for c in CLAUSE_BREAK.split(claim) if c.strip(" ,;")]
    if len(clauses) < 2:
        return None
    backing: list[int] = []
    for kept, clause in enumerate(clauses):
        n = next((n for n in numbers if supports([n], sentence=clause)), None)
        if n is None:
            if not kept:
                return None
            claim = leading_clauses(claim, clauses[kept])
            break
        backing.append(n)
    backing = list(dict.fromkeys(backing))
    return AnswerSentence(with_citations(claim, backing), backing, True)


def leading_clauses(claim: str, first_dropped: str) -> str:
    """The claim up to the clause `first_dropped`, without the joining ", and"."""
    head = claim[:claim.rindex(first_dropped)]
    return CLAUSE_JOIN_END.sub("", head).rstrip(" ,;")


CLAUSE_JOIN_END = re.compile(r"[,;]\s+(?:and|but|while)?\s*$")


RUN_GAP_CHARS = 200  # passages of one document this close together are read as one text


def contiguous_runs(citations: list[Citation]) -> dict[int, tuple[list[int], str]]:
    """For each passage that continues or is continued by another of the same document (overlapping,
    or at most RUN_GAP_CHARS apart), the numbers of that run in document order and its joined text."""
    by_source: dict[str, list[Citation]] = {}
    for c in citations:
        by_source.setdefault(c.source, []).append(c)
    runs: dict[int, tuple[list[int], str]] = {}
    for group in by_source.values():
        group.sort(key=lambda c: c.start)
        current = [group[0]]
        for c in group[1:] + [None]:
            if c is not None and c.start <= current[-1].end + RUN_GAP_CHARS:
                current.append(c)
                continue
            if len(current) > 1:
                entry = ([x.n for x in current], joined_text(current))
                runs.update({x.n: entry for x in current})
            current = [c] if c is not None else []
    return runs


def joined_text(run: list[Citation]) -> str:
    """The run's passages as one text, overlaps counted once."""
    text, end = run[0].text, run[0].end
    for c in run[1:]:
        text += c.text[max(0, end - c.start):] if c.start < end else "\n" + c.text
        end = max(end, c.end)
    return text


def with_citations(claim: str, numbers: list[int]) -> str:
    return marks_at_end(claim, [f"[{n}]" for n in numbers])


def refusal(reason: str) -> Decision:
    return Decision(REFUSAL, [], True, reason)


def is_refusal(answer: str) -> bool:
    """The model's own "not in the documents" (or nothing at all)."""
    norm = " ".join(re.sub(r"[^\w\s]", " ", answer.lower()).split())
    if not norm or " ".join(re.sub(r"[^\w\s]", " ", REFUSAL.lower()).split()) in norm:
        return True
    return not re.search(r"\[\d+\]", answer) and bool(_REFUSAL_LIKE.search(answer))
