"""Does the answer answer the question?

The question's wh-type says what kind of thing the answer must hold; for the typed questions (how
many, when, where, who) a sentence that holds such a thing can still be about another event, so
the question's own verb ("When did X *become* head?") or counted noun ("How many *people*?") must
be in the answer too; "what is the population of …" needs "population".
"""
from __future__ import annotations

import re

from rag.answer.claims import (IRREGULAR_PAST, MONTHS, ORDINAL_VALUE, PLACE_PREPOSITIONS, YEAR, Token, acronyms,
                               contains_word, entities, names, number_values, preposition_of, stopwords, term_found,
                               tokens)
from rag.answer.sentences import sentence_texts
from rag.answer.verify import Embed, as_matrix, sentence_text

WH_PATTERNS = [  # (question pattern, kind of answer it needs)
    (re.compile(r"\bhow (many|much)\b|\bwhat (number|percentage|share|proportion|amount)\b|\bhow (old|far)\b", re.I), "number"),
    (re.compile(r"\bhow long\b", re.I), "duration"),
    (re.compile(r"\bwhen\b|\bwhat (year|date|day|month|time)\b|\bwhich (year|date|day|month)\b", re.I), "time"),
    (re.compile(r"\bwhere\b|\bwhat (city|country|place|town|region)\b|\bwhich (city|country|place|town|region)\b|\bin which\b", re.I), "place"),
    (re.compile(r"\bwhy\b|\bwhat (was|is) the (reason|cause|purpose|goal|aim)\b|\bdie[ds]? (of|from)\b|\bwhat caused\b", re.I), "reason"),
    (re.compile(r"\bwho\b|\bwhom\b|\bwhose\b", re.I), "person"),
    # Last, so a typed pattern at the same word wins ("What year …", "How many …"): a plain question
    # word that opens the question asks no kind ("What will happen when a release is made?").
    (re.compile(r"\bwhat\b|\bwhich\b|\bhow\b", re.I), "other"),
]
# "the next stable release", "the first release": "next", "last", "previous" and "first" tell no time alone.
TIME_WORDS = {"ago", "yesterday", "today", "earlier", "later", "week", "weeks",
              "month", "months", "year", "years", "day", "days", "early", "late", "mid", "after", "before",
              "during", "since", "until", "century", "decade", "morning", "evening", "recently",
              "hours", "hour", "minutes", "period"}
REASON_WORDS = {"because", "due", "over", "since", "as", "for", "order", "so", "amid", "after",
                "suspicion", "suspicions", "reason", "aim", "goal", "purpose", "given", "owing", "result",
                "saying", "fear", "fears", "counter", "contain", "prompting", "following", "through",
                "thanks", "allow", "allows", "enable", "enables", "lets", "helps", "can", "from", "of"}
PERSON_WORDS = {"government", "officials", "official", "delegation", "army", "president", "minister",
                "general", "commander", "chief", "chiefs", "representatives", "observers", "sources",
                "embassy", "people", "forces", "leader", "head", "he", "she", "they", "team", "members"}
PEOPLE = {"people", "persons", "individuals", "attendees", "participants", "members", "developers", "users",
          "citizens", "nationals", "men", "women", "fighters", "soldiers", "officials", "delegates", "staff"}
ARTICLES = {"the", "a", "an", "its", "his", "her", "their", "our", "this", "that", "these", "those"}
GENERIC_VERBS = {"happen", "happened", "occur", "occurred", "say", "said", "do", "mean", "take", "get", "go", "be",
                 "held"}  # "When was the conference held?" "It took place in …"
ANSWER_SIMILARITY = 0.15  # below this an untyped ("what …") answer is about something else
CODE_WORD = re.compile(r"\b(?=\w*[a-z])(?=\w*\d)[a-z0-9]+\b")  # "debconf22", "x86": a name typed in lower case


# "What did the Egyptian president say about …?": whose words are asked for.
SPEAKER = re.compile(r"^\W*what (?:did|do|does|has|have) (?:the )?((?:\w[\w-]* ){0,3}?\w[\w-]*) "
                     r"(?:say|said|tell|told|announce|state|claim|write|think)\b", re.I)


def asked_speaker(question: str) -> str | None:
    """The head word of whoever the question asks the words of ("president", "Langley")."""
    m = SPEAKER.search(question)
    return m.group(1).split()[-1].lower() if m else None


QUOTE_OPENING = re.compile(r"[\"“‘']([A-Z][a-z]+)\b")
# A sentence of a question ends at ".", "!" or "?" before a capital (not in "3.1" or "/etc/X11/").
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“‘'(]?[A-Z])")
CAPITALISED = re.compile(r"[A-Z][a-z]+\b")


def question_sentences(question: str) -> list[str]:
    return SENTENCE_END.split(question.strip())


def sentence_openings(question: str) -> list[str]:
    """The capitalised first words of the question's later sentences, capitalised as its first word is:
    "Can Privoxy remove spyware? Adware? Viruses?" (a name only if the corpus writes it only as one)."""
    return [m.group(0) for s in question_sentences(question)[1:] if (m := CAPITALISED.match(s))]


def unmentioned_names(question: str, passages: list[str], corpus_names: frozenset[str] = frozenset()) -> list[str]:
    """The question's names that no passage holds: capitalised words (not the first word, which is
    capitalised anyway), words with digits, numbers that name ("debian 13"), and words typed in lower
    case that the corpus only writes as names (`corpus_names`: "bookworm" for "Bookworm"). A question
    about a thing the passages never name cannot be answered from them, however close the rest of it
    ("Where was DebConf22?" over passages about DebConf11). Acronyms are left out: users write "DPL"
    where the documents spell out "Project Leader", often outside the passage shown; one the passages
    spell out counts as found anyway."""
    toks = tokens(question)
    wanted = {n for n, i in names(toks) if i > 0 and not toks[i].text.isupper()}
    # a quoted message's first word is capitalised as a sentence start is ('"Unable to get my own
    # hostname" lines'): a name only if the corpus writes it only as one
    openings = QUOTE_OPENING.findall(question) + sentence_openings(question)
    wanted -= {w.lower() for w in openings if w.lower() not in corpus_names}
    wanted |= {t.lower for t in toks if not t.capital and t.lower in corpus_names}  # "bookworm" typed lower-case
    if (speaker := asked_speaker(question)) and speaker not in stopwords():
        wanted.add(speaker)  # "What did the Egyptian president say …?" over passages no president speaks in
    sentence_tokens = [tokens(s) for p in passages for s in sentence_texts(p)]
    words = {t.lower for ts in sentence_tokens for t in ts}
    terms = words.union(*({n for n, _ in names(ts)} | acronyms(ts) for ts in sentence_tokens))
    missing = {n for n in wanted if not term_found(n, terms, words)
               and not (n.endswith("s") and term_found(n[:-1], terms, words))}  # "URLs" where they write "URL"
    text = " ".join(passages).lower()
    missing |= {w for w in CODE_WORD.findall(question.lower()) if not re.search(rf"\b{w}\b", text)}
    missing |= {n for n, before in naming_numbers(question) if not number_found(n, before, text)}
    return sorted(missing)


# A number standing on its own between spaces or punctuation in the question ("debian 13", "Debconf
# 5", "in 2020?"), not inside a word ("debconf22": CODE_WORD), a longer number ("1.3.1"), code or
# markup ("xss=3", "5+5").
BARE_NUMBER = re.compile(r"(?:^|(?<=[\s(]))\d+(?:[.,:]\d+)*(?=$|[\s?!.,;:)])")
LISTING_WORDS = {"name", "list", "give", "show", "top"}


def naming_numbers(question: str) -> list[tuple[str, str]]:
    """(number, word before it) for the question's numbers that name a thing ("debian 13", "in 2020")
    rather than ask for that many ("the 3 main goals", "name 2 members"): a number after a stop word or
    a listing verb, followed by a lower-case word, is a count the answer is to fill."""
    found = []
    for m in BARE_NUMBER.finditer(question):
        before = re.search(r"(\w+)\W*$", question[:m.start()])
        after = re.match(r"\s+([a-z]\w*)", question[m.end():])
        word = before.group(1).lower() if before else ""
        if after and (not word or word in stopwords() or word in LISTING_WORDS):
            continue
        found.append((m.group(), word))
    return found


def number_found(number: str, before: str, text: str) -> bool:
    """The number as a number of its own in the (lower-cased) passages ("13", not the "13" of
    "13th" or "1.13"; "1,000" and "1000" alike), or written onto the word before it ("Debconf 5" as
    "DebConf5")."""
    return any(re.search(rf"(?<![\w.,:]){re.escape(form)}(?!\w|[.,:]\d)", text) for form in written_forms(number)) \
        or bool(before and re.search(rf"\b{re.escape(before + number)}\b", text))


def written_forms(number: str) -> set[str]:
    """A whole number with and without thousands separators: "1,000" and "1000"."""
    if not re.fullmatch(r"\d{1,3}(?:,\d{3})+|\d{4,}", number):
        return {number}
    plain = number.replace(",", "")
    return {plain, f"{int(plain):,}"}


# A yes/no question ("Was it the first time …?") asks for no typed thing, whatever wh-word follows.
YES_NO_START = re.compile(r"^\W*(is|are|was|were|do|does|did|can|could|has|have|had|will|would|should|shall|may|might)\b",
                          re.I)
PARENTHESIS = re.compile(r"\([^)]*\)")
# "Where does the name come from?" asks for an origin, which is seldom a place.
ORIGIN = re.compile(r"\bwhere\b.*\b(come|comes|came|coming|derive[sd]?) from\b", re.I)


def question_type(question: str) -> str:
    # A rewritten follow-up may carry its context in parentheses ("Was it …? (Where was … held?)"):
    # that says what "it" is, not what is asked.
    asked = questions_asked(PARENTHESIS.sub(" ", question))
    if YES_NO_START.match(asked) or ORIGIN.search(asked):
        return "other"
    # The question word that opens a clause, the first such: "Why are files corrupted when …?" asks a
    # reason, "the guy who built it - when was he DPL?" a time ("when"/"who" inside a clause subordinate).
    found = [(not opens_clause(asked, m.start()), m.start(), order, kind)
             for order, (pattern, kind) in enumerate(WH_PATTERNS) for m in pattern.finditer(asked)]
    return min(found)[3] if found else "other"


def questions_asked(question: str) -> str:
    """The sentences that end in a question mark, when others set the scene before them: "When I try
    to launch Privoxy, I get an error message "port 8118 is already in use". Why?" asks a reason."""
    asked = [s for s in question_sentences(question) if s.rstrip(" \"”’')").endswith("?")]
    return " ".join(asked) if asked else question


CLAUSE_BREAK = re.compile(r"(?:^|[.?!;:,(\u2013\u2014-]|\b(?:and|or|but))\s*$", re.I)


def opens_clause(text: str, position: int) -> bool:
    return bool(CLAUSE_BREAK.search(text[:position]))


def has_kind(kind: str, toks: list[Token]) -> bool:
    words = {t.lower for t in toks}
    if kind == "number":  # "first-class" or "the 2nd release" counts nothing
        return (any(not ORDINAL_VALUE.fullmatch(v) for v, _ in number_values(toks))
                or bool(words & {"several", "dozens", "hundreds", "thousands", "few"}))
    if kind == "time":
        return (any(YEAR.fullmatch(v) for v, _ in number_values(toks))
                or any(n in MONTHS.values() for n, _ in names(toks)) or bool(words & TIME_WORDS))
    if kind == "duration":
        return has_kind("number", toks) or has_kind("time", toks)
    if kind == "place":
        return any(preposition_of(toks, i) in PLACE_PREPOSITIONS for _, i in entities(toks)) or bool(
            words & {"east", "eastern", "west", "western", "north", "south", "capital", "city", "abroad"})
    if kind == "reason":
        return bool(words & REASON_WORDS)
    if kind == "person":
        return bool(names(toks)) or bool(words & PERSON_WORDS)
    return True


# "Did/Does/Do …?" and the modal ones ("Can Privoxy act as a caching proxy?") assert their verb.
ASSERTING_AUXILIARIES = {"did", "does", "do", "can", "could", "will", "would", "should", "may", "might", "must"}
_AUXILIARY = "|".join(sorted(ASSERTING_AUXILIARIES))
DID_START = re.compile(rf"^\W*({_AUXILIARY})\b", re.I)
PRONOUN_SUBJECT = re.compile(rf"^(\W*(?:{_AUXILIARY})\s+)(?:he|she|they|it|we|you|i|anyone|anything|anybody|someone|"
                             r"something|somebody|everyone|everything)\b", re.I)


# "Could you tell me …?", "Would you like to …?": a request to the reader, not a claim to check.
MODAL_REQUEST = re.compile(r"^\W*(?:can|could|will|would)\s+you\b", re.I)


def opening_auxiliary(question: str) -> str | None:
    """The did/does/can/will … a question opens on, lower-cased; None for other questions."""
    opening = DID_START.match(PARENTHESIS.sub(" ", question))
    return opening.group(1).lower() if opening else None


def asserted_verb(question: str) -> str | None:
    """The verb a "did/does/do …?" or "can/will/should … ?" question asks about ("Did he agree to …?"
    -> "agree", "Can Privoxy act as a caching proxy?" -> "act"), when it says something ("do",
    "happen" say nothing): an answer either way ("Yes, he agreed …") needs a passage that uses it.
    None for other questions."""
    asked = PARENTHESIS.sub(" ", question)
    if not opening_auxiliary(asked) or MODAL_REQUEST.match(asked):
        return None
    # a pronoun subject ("did he agree?") read like a name, which question_verb steps over
    asked = PRONOUN_SUBJECT.sub(r"\1Someone", asked, count=1)
    verb = question_verb(tokens(asked), ASSERTING_AUXILIARIES)
    return verb if verb and verb not in GENERIC_VERBS else None


def uses_verb(verb: str, text: str) -> bool:
    return any(same_verb(verb, t.lower) for t in tokens(text))


def says_whether(question: str, verb: str, text: str) -> bool:
    """Whether `text` answers the did/can-question either way: it uses the asked verb, or it answers
    with the question's own auxiliary alone ("Can I use Debian packages on Red Hat?" "You probably
    can: a program to unpack …", debian-faq)."""
    auxiliary = opening_auxiliary(question)
    elided = auxiliary and re.search(rf"\b{auxiliary}(?:n['’]t|not| not)?\s*[:;.!]", text, re.I)
    return uses_verb(verb, text) or bool(elided)


def premise(question: str, passages: list[str]) -> str:
    """The question's words that some shown passage holds too: what an answer may take from the
    question without its own passage repeating it. A word no passage holds ("bookworm" over passages
    about sarge) stays the answer's claim to prove."""
    text = " ".join(passages).lower()
    return " ".join(w for w in re.findall(r"\w[\w.-]*", question)
                    if re.search(rf"(?<![\w-]){re.escape(w.lower())}(?![\w-])", text))


def place_phrase(toks: list[Token], question: str, verb: str | None) -> bool:
    """A place that is no name ("Where do they thrive?" "in areas of instability"): a place
    preposition before a word the question does not hold, in a sentence with the question's own verb
    (without that, any "in …" of any sentence would pass)."""
    if not verb or verb in GENERIC_VERBS or not any(same_verb(verb, t.lower) for t in toks):
        return False
    asked = {t.lower for t in tokens(question)}
    for k, tok in enumerate(toks[:-1]):
        if tok.lower not in PLACE_PREPOSITIONS - {"of", "during", "since", "until", "by", "to", "from"}:
            continue
        j = k + 1
        while j < len(toks) - 1 and toks[j].lower in ARTICLES:
            j += 1
        word = toks[j].lower
        if word.isalpha() and word not in asked and word not in TIME_WORDS and word not in stopwords():
            return True
    return False


def tells_new(kind: str, question: str, sentence: str) -> bool:
    """Does the sentence hold the kind of thing asked for beyond what the question names itself? For
    "Where was the African … Conference held?", "in Gaborone" does; "held in Africa" does not."""
    asked_tokens = tokens(question)
    asked = {t.lower for t in asked_tokens}
    toks = tokens(sentence)

    def new(word: str) -> bool:
        return not contains_word(word, asked)

    if kind == "place":
        return any(preposition_of(toks, i) in PLACE_PREPOSITIONS and new(name) for name, i in entities(toks))
    if kind == "person":
        return any(new(n) for n, _ in names(toks)) or any(w in PERSON_WORDS and new(w) for w in (t.lower for t in toks))
    if kind in ("number", "time", "duration"):
        # Digits count unless the question has the same number; words unless the question has the word.
        asked_numbers = {v for v, _ in number_values(asked_tokens)}
        return has_kind(kind, [t for t in toks
                               if (t.lower not in asked_numbers if t.lower[:1].isdigit() else new(t.lower))])
    return has_kind(kind, toks)


def verb_base(word: str) -> str:
    return IRREGULAR_PAST.get(word, word)


def same_verb(a: str, b: str) -> bool:
    a, b = verb_base(a), verb_base(b)
    if min(len(a), len(b)) >= 4:
        return a[:4] == b[:4]
    return a == b or b in inflections(a) or a in inflections(b)  # "run"/"runs", "use"/"using"


def inflections(verb: str) -> set[str]:
    forms = {verb + ending for ending in ("s", "es", "d", "ed", "ing")} | {verb + verb[-1] + "ing", verb + verb[-1] + "ed"}
    return forms | ({verb[:-1] + "ing"} if verb.endswith("e") else set())


VERB_ADVERBS = {"first", "last", "ever", "also", "once", "later", "then", "still", "now", "just", "actually"}


def question_verb(toks: list[Token], auxiliaries: frozenset[str] | set[str] = frozenset({"did", "does", "do"})) -> str | None:
    """The question's own verb: after "did/does/do SUBJECT" (or another of `auxiliaries`: "When did
    Khaled Haftar become …", "When did the 2003 server compromise start?") or right after "who" ("Who
    fixed …")."""
    stop = stopwords()

    def content(k: int) -> bool:
        return k < len(toks) and toks[k].lower not in stop and not toks[k].capital and not toks[k].lower[0].isdigit()

    for i, tok in enumerate(toks):
        if tok.lower == "who":
            k = i + 1
            while k < len(toks) and (toks[k].lower in VERB_ADVERBS or toks[k].lower.endswith("ly")):
                k += 1  # "Who first lit …", "Who originally wrote …"
            if content(k) or (k < len(toks) and toks[k].lower in IRREGULAR_PAST):
                return toks[k].lower
        if tok.lower in {"was", "were"} and i > 0 and toks[i - 1].lower in {"when", "where", "who"}:
            # "When was ubuntu forked from debian?": the participle after the subject.
            participle = next((toks[k].lower for k in range(i + 2, min(len(toks), i + 8))
                               if not toks[k].capital and (toks[k].lower.endswith("ed") or toks[k].lower in IRREGULAR_PAST)),
                              None)
            if participle:
                return participle
        if tok.lower in auxiliaries:
            k = i + 1
            article = k < len(toks) and toks[k].lower in ARTICLES
            k += article
            while k < len(toks) and (toks[k].capital or toks[k].lower[0].isdigit() or toks[k].lower == "based"
                                     or toks[k].lower.endswith("ly")):
                k += 1
            while article and content(k) and content(k + 1):
                k += 1  # the subject's nouns: "did the conference discuss", "the server compromise start"
            return toks[k].lower if content(k) else None
    return None


def counted_noun(question: str) -> str | None:
    m = re.search(r"\bhow (?:many|much) (\w+)", question, re.I)
    return m.group(1).lower() if m and m.group(1).lower() not in stopwords() else None


def asked_attribute(question: str) -> str | None:
    """"What is the population of Libya?" -> "population": a property of something, which the answer
    names ("the codename of Debian 13"). "What's the first promise in …" asks for the promise itself."""
    m = re.search(r"\b(?:what|which)(?:'s|’s| is| are| was| were) (?:the|a|an) (?:\w+ ){0,2}?(\w+) of\b", question, re.I)
    return m.group(1) if m and m.group(1).islower() and m.group(1) not in stopwords() else None


def mentions(noun: str, toks: list[Token]) -> bool:
    """The answer names what the question counts or asks about; people-words stand for each other."""
    words = {t.lower for t in toks}
    if contains_word(noun, words):
        return True
    return noun in PEOPLE and bool(words & PEOPLE or any(n.endswith(("ans", "ese")) for n, _ in names(toks)))


QUESTION_PARTS = re.compile(r",?\s+and\s+(?=(?:until |since |for )?(?:what|who|whom|when|where|why|how|which)\b)", re.I)


def question_parts(question: str) -> list[str]:
    """"How old was he, and when did he stop leading?" -> its two questions."""
    parts = [part.strip() for part in QUESTION_PARTS.split(question) if part.strip()]
    # "…, and why?" adds to the first question; it cannot stand on its own (any "for" would answer it).
    return [parts[0]] + [p for p in parts[1:] if len(p.split()) >= 3] if parts else []


def answers_question(question: str, answer_sentences: list[str], embed: Embed) -> bool:
    """The answer answers the question, or at least one part of a question that asks two things
    (the user is shown what the passages support, not a refusal of the whole)."""
    return any(answers_part(part, answer_sentences, embed) for part in question_parts(question) or [question])


def answers_part(question: str, answer_sentences: list[str], embed: Embed) -> bool:
    """The answer holds the kind of thing asked for (a number for "how many", a time for "when", …),
    about what was asked (the question's verb, counted noun or asked attribute, when it has one). For
    a typed question one sentence must hold all of it: "used by many individuals [1]. More than 350
    distributions derive from Debian [3]." does not say how many people use Debian."""
    plain = [s for s in map(sentence_text, answer_sentences) if s]
    if not plain or not question.strip():
        return False
    if DIE_OF.search(question) and not any(map(names_cause_of_death, plain)):
        return False  # "died in December 2015" (or the model's "died of December 2015") says when, not of what
    kind = question_type(question)
    if kind != "other":
        verb = question_verb(tokens(question))  # what the question asks, worked out once for all sentences
        wanted = [w for w in (asked_attribute(question), counted_noun(question)) if w]
        return any(holds_asked(kind, question, verb, wanted, tokens(sentence), sentence) for sentence in plain)
    toks = tokens(" ".join(plain))
    attribute = asked_attribute(question)
    if attribute and not mentions(attribute, toks):
        return False
    vectors = as_matrix(embed([question] + plain))
    return float((vectors[1:] @ vectors[0]).max()) >= ANSWER_SIMILARITY


AGE_WORDS = {"old", "age", "aged"}
MAX_AGE = 130
DIE_OF = re.compile(r"\bdie[ds]? (of|from)\b", re.I)
CAUSE_OF_DEATH = re.compile(r"\b(die[ds]?|death)\b\W+(?:\w+\W+){0,3}?(of|from|after|following|due|because)\b", re.I)


# Where things are in software documentation: a path or URL, a directory, site or package, "available
# in experimental" ("Where is the source code?" "in the pool directory").
DOCUMENT_PLACE = re.compile(
    r"\b(?:in|at|from|on|under|inside|into|via)\s+(?:the\s+|a\s+|an\s+|your\s+|its\s+|their\s+|our\s+|this\s+)?"
    r"(?:[`'\"]?(?:https?://|~?\.{0,2}/|[\w.-]+/)\S*|(?:[\w'.+-]+\s+){0,2}(?:director(?:y|ies)|folders?|files?|"
    r"sites?|website|web site|pages?|archives?|repositor(?:y|ies)|section|menu|packages?|distributions?|servers?|"
    r"mirrors?|pool|tree|suite|chapter|manual|lists?))\b|\bavailable\s+(?:in|from|on|at|for|via)\s+[\w`'\"/.-]+", re.I)


def document_location(sentence: str, question: str) -> bool:
    """A location in documents' terms that the question does not already give ("in the manual" gives
    nothing new for "where is it in the manual?": "the" is no place)."""
    asked = {t.lower for t in tokens(question)}
    return any(any(not contains_word(t.lower, asked) and t.lower not in stopwords() for t in tokens(m.group(0))[1:])
               for m in DOCUMENT_PLACE.finditer(sentence))


def holds_asked(kind: str, question: str, verb: str | None, wanted: list[str], toks: list[Token],
                sentence: str) -> bool:
    """One sentence holds what a typed question asks for: its kind of thing, the nouns it `wanted`
    named (asked attribute, counted noun) and its own `verb`."""
    if not tells_new(kind, PARENTHESIS.sub(" ", question), sentence) and not (
            kind == "place" and (place_phrase(toks, question, verb) or document_location(sentence, question))):
        return False  # "Who led Debian after Ian Murdock?" is not answered by "Ian Murdock led …"
    if any(not mentions(w, toks) for w in wanted):
        return False
    words = {t.lower for t in toks}
    if re.search(r"\bhow old\b", question, re.I) and not (words & AGE_WORDS or any(
            re.fullmatch(r"\d+", value) and 0 < int(value) <= MAX_AGE and re.fullmatch(r"\d+", toks[i].text)
            for value, i in number_values(toks))):
        return False  # a year ("January, 1998") or a version ("2.0") is not an age; "was 42" is
    if kind in {"time", "person"} and verb and verb not in GENERIC_VERBS:
        if not any(same_verb(verb, w) for w in words):
            return False
        asks_doer = kind == "person" and re.search(rf"\bwho\s+(?:\w+\s+)?{re.escape(verb)}\b", question, re.I)
        return not asks_doer or new_doer(question, verb, toks)  # "Who did X meet?" asks for the object
    return True


def names_cause_of_death(sentence: str) -> bool:
    """"died of cancer", "died after a long illness": a cause after the verb, not a time."""
    found = CAUSE_OF_DEATH.search(sentence)
    return bool(found) and not has_kind("time", tokens(sentence[found.end():])[:2])


BE_FORMS = {"was", "were", "is", "are", "be", "been", "being"}
PASSIVE_BY_SPAN = 10


def new_doer(question: str, verb: str, toks: list[Token]) -> bool:
    """For "who <verb> …?": who does the verb in the sentence is someone the question does not name: "Who led
    Debian after Ian Murdock?" is not answered by "Ian Murdock led Debian from 1993 to 1996". The
    doer is the subject (a name before the verb) or, in a passive, the name after "by"."""
    asked = {t.lower for t in tokens(PARENTHESIS.sub(" ", question))}
    at = next(i for i, t in enumerate(toks) if same_verb(verb, t.lower))
    if at > 0 and toks[at - 1].lower in BE_FORMS:  # "was painted green in 1911 by the keeper …"
        by = next((i for i in range(at + 1, min(len(toks), at + PASSIVE_BY_SPAN)) if toks[i].lower == "by"), None)
        side = list(range(by + 1, min(len(toks), by + 6))) if by is not None else []
    else:
        side = list(range(max(0, at - 6), at))
    partner = next((i for i in range(at + 1, min(len(toks), at + 6)) if toks[i].lower == "with"), None)
    if partner is not None and re.search(r"\bwith\b", question, re.I):  # "Who co-hosted it with the U.S.?"
        side += range(partner + 1, min(len(toks), partner + 4))
    doers = [n for n, i in names(toks) if i in side] + [toks[i].lower for i in side if toks[i].lower in PERSON_WORDS]
    return not doers or any(not contains_word(d, asked) for d in doers)
