"""Follow-up questions: does a question lean on the conversation, and its standalone form.

An LLM backend rewrites a follow-up with the condense prompt and `clean_rewrite` tidies its reply;
without an LLM (or when its reply is empty) `heuristic_rewrite` appends the earlier questions the
follow-up leans on and the names of the previous answer.
"""
from __future__ import annotations

import re

from rag.answer.citations import NAME, NOT_NAMES, names_and_numbers, strip_citations
from rag.answer.claims import MONTHS
from rag.answer.relevance import YES_NO_START, question_type
from rag.answer.sentences import WORD

# Words that make a question lean on the conversation ("Where did he meet them?").
ANAPHORA = set("""he she him her his hers they them their theirs it its this that these those there then
such same former latter""".split())
FOLLOW_UP_OPENERS = ("and ", "what about", "how about", "also", "why?", "why not", "when?", "where?")


ELLIPTICAL_WORDS = 8  # a question this short that names nothing ("how many people showed up?") continues one


def needs_rewrite(question: str, corpus_names: frozenset[str] = frozenset()) -> bool:
    """Does the question lean on earlier turns? Pronouns, "what about …" openers, very short, or short
    without a name or number of its own ("was the package archive affected?"). A name typed in lower
    case counts when the corpus only writes it as one (`corpus_names`): "who is khaled haftar?" stands
    alone, and rewriting it costs a model call and risks a drift."""
    words = WORD.findall(question.lower())
    if len(words) <= 2:
        return True
    if ANAPHORA & set(words) or question.lower().lstrip().startswith(FOLLOW_UP_OPENERS):
        return True
    named = names_and_numbers(question.strip()[1:]) or corpus_names.intersection(words)
    return len(words) <= ELLIPTICAL_WORDS and not named


def invented_names(rewrite: str, question: str, history: list[tuple[str, str]]) -> set[str]:
    """Names and numbers the rewrite brings that neither the question nor the conversation holds: a
    small model fills a gap from its own memory ("Debian founder Linus Torvalds")."""
    said = " ".join([question] + [text for turn in history for text in turn]).lower()
    return {n for n in names_and_numbers(rewrite) if n not in said}


def changes_what_is_asked(rewrite: str, question: str) -> bool:
    """The rewrite asks for another kind of thing than the follow-up: "how old was he when he became
    leader?" rewritten "When did Bruce Perens become the leader?" asks a date for an age, and "what did
    he build?" rewritten "Who led Debian from April 2002 until April 2003?" asks a person for a thing;
    a yes/no question stays one. Only a follow-up whose own words say what it asks is held to it
    ("what about the second one?" is not)."""
    asked = question_type(question)
    if asked != "other" and question_type(rewrite) != asked:
        return True
    if yes_no(question) != yes_no(rewrite):
        return True  # "did he lead it for long?" rewritten "Who led Debian for a long time?"
    word = question_word(question)
    return bool(word) and not SAME_ASKING.get(word, {word}) & set(WORD.findall(rewrite.lower()))


def yes_no(question: str) -> bool:
    """Does the question open on an auxiliary ("did he …", "ok, was it …"), asking yes or no?"""
    return bool(YES_NO_START.match(" ".join(opening_words(question))))


def opening_words(question: str) -> list[str]:
    """The question's words, lower-cased, from the first that is not a filler ("ok and who …" -> "who …")."""
    words = WORD.findall(question.lower())
    while words and words[0] in FILLERS:
        words = words[1:]
    return words


QUESTION_WORDS = {"what", "who", "whom", "whose", "when", "where", "which", "why", "how"}
# "what architecture …?" and "which architecture …?" ask the same.
SAME_ASKING = {"what": {"what", "which"}, "which": {"what", "which"}, "who": {"who", "whom"}, "whom": {"who", "whom"}}
FILLERS = {"and", "ok", "okay", "so", "but", "then", "well", "also"}


def question_word(question: str) -> str:
    """The wh-word a follow-up opens on ("ok and who came after him?" -> "who"), or "" (a yes/no
    question, "what about …", or none)."""
    words = opening_words(question)
    if not words or words[0] not in QUESTION_WORDS or words[1:2] == ["about"]:
        return ""
    return words[0]


def heuristic_rewrite(question: str, history: list[tuple[str, str]]) -> str:
    """Standalone question without an LLM: the follow-up plus the earlier questions it leans on and
    the names in the previous answer, so both retrieval and sentence scoring see the entities
    "he"/"them" mean."""
    if not history or not needs_rewrite(question):
        return question
    context = "; ".join(q.strip() for q in questions_leaned_on(history))
    names = answer_names(history[-1][1])
    if names:
        context += "; " + ", ".join(names)
    return f"{question.strip()} ({context})"


def answer_names(answer: str, most: int = 6) -> list[str]:
    """The names an answer mentions, as it writes them ("Bdale Garbee", "Security Unit"), in order,
    once each; no months ("April 2002" names no one "he" could be)."""
    found: dict[str, str] = {}
    for m in NAME_RUN.finditer(strip_citations(answer)):
        words = [w[:-2] if w.endswith(("’s", "'s")) else w for w in m.group(0).split()]
        while words and (words[0] in NOT_NAMES or words[0].lower()[:3] in MONTHS):
            words = words[1:]
        if words:
            found.setdefault(" ".join(words).lower(), " ".join(words))
    return list(found.values())[:most]


NAME_RUN = re.compile(rf"{NAME.pattern}(?:\s+{NAME.pattern})*")


def questions_leaned_on(history: list[tuple[str, str]], most: int = 3) -> list[str]:
    """The previous question and, while each leans on the one before, the ones before it, oldest
    first: after "who wrote the manifesto?" and "when did he start the project?", "which university
    was he at then?" leans on both (the second alone does not say who "he" is)."""
    chain: list[str] = []
    for earlier, _ in reversed(history[-most:]):
        chain.insert(0, earlier)
        if not needs_rewrite(earlier):
            break
    return chain


def clean_rewrite(raw: str) -> str:
    """The first non-empty line of the model's rewrite, without labels or quotes."""
    for line in raw.strip().splitlines():
        line = re.sub(r"^\s*(<?standalone question>?|question)\s*:?\s*", "", line, flags=re.IGNORECASE)
        line = line.strip().strip('"“”\'').strip()
        if line:
            return line
    return ""
