"""Text analysis of claims, shared by the support check (verify.py, checks.py) and the answer check
(relevance.py): tokens, number, name and date normalisation, stems, stop words, name runs and the
prepositions that govern them."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

CITE = re.compile(r"\s*\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\]")
TOKEN = re.compile(r"\d+(?:[.,]\d+)*%?|[A-Za-z][A-Za-z']*")
ACRONYM = re.compile(r"\b(?:[A-Z]\.){2,}")
ALIASES = [(re.compile(r"\bUnited States\b"), "US"), (re.compile(r"\bAmericans?\b|\bAmerica\b"), "US"),
           (re.compile(r"\bU\.?S\.?A\b"), "US"),
           # a capital for its country, as news writing does
           (re.compile(r"\bWashington\b"), "US"), (re.compile(r"\bMoscow\b"), "Russia")]
POSSESSIVE = re.compile(r"(?<=\w)['’]s?\b")
# Contractions are spelled out before POSSESSIVE drops apostrophes. A negation: "didn't" read "didnt",
# which no negation check knew, so "Haftar didn't meet them" passed where the passage says he met
# them, and "won't" against "refuse" was a negation in the passage only. An auxiliary goes: "I'd like
# to know …" read "Id", a name the passages lacked (the corpus writes "ID"); "they're", "theyre".
IRREGULAR_NEGATIONS = {"wo": "will", "sha": "shall", "ca": "can", "ai": "is"}  # what precedes "n't"
NEGATED = re.compile(r"\b(\w+)n't\b", re.IGNORECASE)
AUXILIARY = re.compile(r"(?<=\w)'(?:d|m|re|ve|ll)\b", re.IGNORECASE)

UNITS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve "
                                     "thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split())}
TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if w != "_"}
SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
ORDINALS = {w: i + 1 for i, w in enumerate("first second third fourth fifth sixth seventh eighth ninth tenth".split())}
ORDINAL_VALUE = re.compile(r"\d+(st|nd|rd|th)")  # how number_values writes "first", "21st"
YEAR = re.compile(r"\b(?:1[5-9]|20)\d\d\b")  # 1500-2099: a number that tells a time
MONTHS = {m[:3]: m for m in "january february march april may june july august september october november "
                            "december".split()}

PLACE_PREPOSITIONS = {"in", "at", "from", "to", "near", "into", "across", "throughout", "outside", "inside",
                      "of", "on", "during", "since", "until", "by"}
# Capitalised at a sentence start without being a name.
NOT_NAMES = {"according", "meanwhile", "however", "observers", "both", "consecutive", "also", "yes", "today",
             "yesterday", "although", "though", "while", "after", "before", "during", "despite", "since",
             "summary", "outlook", "posted", "translation", "general", "president", "minister", "chief",
             "several", "many", "some", "most", "every", "each", "another", "other", "later", "earlier",
             "following", "because", "although", "instead", "still", "thus", "therefore", "furthermore",
             "moreover", "overall", "sources", "officials", "analysts", "experts", "reports", "he", "she"}


@dataclass(frozen=True)
class Token:
    text: str
    lower: str
    capital: bool


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    from rag.bm25 import english_stopwords  # the same NLTK list, read without importing nltk

    return english_stopwords() | {"would", "could", "also", "said", "says", "say"}


# A file path or URL ("/etc/X11/app-defaults/", "http://p.p/"): its capitals name no one, so it is read
# in lower case ("X" of "X11" was taken for a name standing on the other side of the verb). Not
# "Yahoo/Hotmail/Gmail": a relative path starts in lower case.
PATH = re.compile(r"(?:https?://|(?<![\w/.~])~?\.{0,2}/)[\w.~%+-]+(?:/[\w.~%+-]*)*|\b[a-z0-9_.-]+(?:/[\w.~%+-]+){2,}/?")


def normalise(text: str) -> str:
    text = CITE.sub("", text).replace("’", "'").replace("‘", "'")
    text = AUXILIARY.sub("", NEGATED.sub(spelled_negation, text))
    text = PATH.sub(lambda m: m.group(0).lower(), text)
    text = ACRONYM.sub(lambda m: m.group(0).replace(".", ""), text)
    for pattern, replacement in ALIASES:
        text = pattern.sub(replacement, text)
    return POSSESSIVE.sub("", text)


def spelled_negation(m: re.Match) -> str:
    """"didn't" -> "did not", "won't" -> "will not", "Can't" -> "Can not" (the first letter's case kept)."""
    stem = m.group(1)
    base = IRREGULAR_NEGATIONS.get(stem.lower(), stem.lower())
    return f"{stem[0]}{base[1:]} not" if base[0] == stem[0].lower() else f"{base} not"


def tokens(text: str) -> list[Token]:
    found: list[Token] = []
    for m in TOKEN.finditer(normalise(text)):
        word = m.group(0)
        found.append(Token(word, word.lower(), word[:1].isupper()))
    return found


# A version, date or address ("1.3.1", "4.13.17", "127.0.0.1"): a number_values value kept as written.
WRITTEN_NUMBER = re.compile(r"\d+(?:[.,]\d+){2,}")


def number_values(toks: list[Token]) -> list[tuple[str, int]]:
    """(canonical value, token index) of every number: digits, "1,200", "three", "twenty-one"
    (hyphens are split by the tokenizer), "2 million", ordinals ("first" = "1st")."""
    values: list[tuple[str, int]] = []
    i = 0
    while i < len(toks):
        word = toks[i].lower
        start = i
        if re.fullmatch(r"\d+(?:[.,]\d+)*%?", word):
            digits = word.rstrip("%")
            if WRITTEN_NUMBER.fullmatch(digits) and not re.fullmatch(r"\d{1,3}(,\d{3})+", digits):
                values.append((digits, start))  # a version or date ("1.3.1", "4.13.17"): compared as written
                i += 1
                continue
            value = float(digits.replace(",", "")) if re.fullmatch(r"\d{1,3}(,\d{3})+|\d+(\.\d+)?", digits) \
                else float(digits.replace(",", "."))
            if i + 1 < len(toks) and toks[i + 1].lower in SCALES:
                value *= SCALES[toks[i + 1].lower]
                i += 1
            values.append((_canonical(value), start))
        elif word == "one" and idiomatic_one(toks, i):
            pass
        elif word in UNITS or word in TENS:
            value, i = _spelled_number(toks, i)
            values.append((_canonical(value), start))
            continue
        elif word in ORDINALS:
            values.append((f"{ORDINALS[word]}st", start))
        elif re.fullmatch(r"\d+(st|nd|rd|th)", word):
            values.append((f"{int(word[:-2])}st", start))
        i += 1
    return values


ONE_BEFORE = {"no", "any", "every", "each", "some", "someone", "anyone"}
ONE_SPAN = 5  # tokens between "one" and "to the next" in "from one Debian release to the next"


def idiomatic_one(toks: list[Token], i: int) -> bool:
    """"one" that counts nothing: "no one", "one another", "one after the other", "from one release to
    the next" (the sentence and the passage may word it differently: "… to another")."""
    if i > 0 and toks[i - 1].lower in ONE_BEFORE:
        return True
    after = [t.lower for t in toks[i + 1:i + 2 + ONE_SPAN]]
    if after[:1] == ["another"] or after[:3] == ["after", "the", "other"]:
        return True
    return any(w in ("to", "after") and (after[k + 1:k + 2] == ["another"] or after[k + 1:k + 3] == ["the", "next"])
               for k, w in enumerate(after))


def _spelled_number(toks: list[Token], i: int) -> tuple[float, int]:
    total, current = 0.0, 0.0
    while i < len(toks):
        word = toks[i].lower
        if word in UNITS:
            current += UNITS[word]
        elif word in TENS:
            current += TENS[word]
        elif word in SCALES and current:
            current *= SCALES[word]
            if SCALES[word] >= 1000:
                total, current = total + current, 0.0
        elif word == "and" and current and i + 1 < len(toks) and toks[i + 1].lower in UNITS | TENS.keys():
            pass
        else:
            break
        i += 1
    return total + current, i


def _canonical(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def names(toks: list[Token]) -> list[tuple[str, int]]:
    """Capitalised words that are names, places, months or acronyms (lower-cased, months unabridged)."""
    stop = stopwords()
    found = []
    for i, tok in enumerate(toks):
        if not tok.capital or tok.lower in stop or tok.lower in NOT_NAMES or tok.text[0].isdigit():
            continue
        if tok.lower in UNITS or tok.lower in TENS or tok.lower in ORDINALS:
            continue
        found.append((MONTHS.get(tok.lower, tok.lower), i))  # "Dec" -> "december"
    return found


def same_word(a: str, b: str) -> bool:
    """Equal up to a short inflection or demonym ending: Russia/Russians, Libya/Libyan, meet/meeting."""
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    return len(short) >= 4 and long_.startswith(short) and len(long_) - len(short) <= 3


def stem(word: str) -> str:
    return word[:6] if len(word) > 6 else word


def content_words(toks: list[Token]) -> list[str]:
    stop = stopwords()
    return [t.lower for t in toks if len(t.lower) > 2 and t.lower not in stop and not t.lower[0].isdigit()]


def contains_word(word: str, vocabulary: set[str]) -> bool:
    return word in vocabulary or any(same_word(word, v) for v in vocabulary if v[:3] == word[:3])


def key_terms(toks: list[Token]) -> set[str]:
    return {v for v, _ in number_values(toks)} | {n for n, _ in names(toks)} | acronyms(toks)


ACRONYM_JOINERS = {"of", "in", "the", "for", "and", "on", "&"}


def acronyms(toks: list[Token]) -> set[str]:
    """The initials of each run of capitalised words and of its leading parts ("Software in the Public
    Interest, Inc." -> "spi", "spii"), so an answer may name a thing by the acronym where the passage
    spells it out."""
    stop = stopwords()
    found, run = set(), []
    for tok in toks + [Token("", "", False)]:
        if tok.lower in ACRONYM_JOINERS or (tok.capital and tok.lower in stop):
            continue
        if tok.capital and tok.text[:1].isalpha():
            run.append(tok.lower[0])
            continue
        found.update("".join(run[:n]) for n in range(2, len(run) + 1))
        run = []
    return found


def term_found(term: str, window_terms: set[str], window_words: set[str]) -> bool:
    return term in window_terms or contains_word(term, window_words)


def entities(toks: list[Token]) -> list[tuple[str, int]]:
    """Runs of neighbouring name tokens as one entity ("General Khalifa Haftar" -> "haftar"), keyed by
    the last token, with the index of the run's first token."""
    runs: list[tuple[str, int]] = []
    last = -2
    for name, i in names(toks):
        if i == last + 1 and runs:
            runs[-1] = (name, runs[-1][1])
        else:
            runs.append((name, i))
        last = i
    return runs


def preposition_of(toks: list[Token], i: int) -> str | None:
    """The preposition governing the name run starting at token i ("in the US Embassy" -> "in")."""
    j = i - 1
    if j >= 0 and toks[j].lower == "the":
        j -= 1
    if j >= 1 and toks[j].lower == "to" and toks[j - 1].lower == "according":
        return None
    return toks[j].lower if j >= 0 and toks[j].lower in PLACE_PREPOSITIONS else None


# "physical source lines of code (SLOC)": words and, in brackets, the acronym of their initials.
DEFINED_ACRONYM = re.compile(r"((?:[A-Za-z][\w-]*\s+){1,8})\(([A-Z][A-Za-z]{1,7})\)")


def acronym_definitions(text: str) -> dict[str, str]:
    """Acronyms the passages define, with the words they stand for ("SLOC" -> "source lines of code")."""
    found = {}
    for m in DEFINED_ACRONYM.finditer(text):
        words, letters = m.group(1).split(), m.group(2).lower()
        for start in range(len(words) - 1, -1, -1):  # the shortest run of words before the brackets
            tail = words[start:]
            every = "".join(w[0].lower() for w in tail)
            content = "".join(w[0].lower() for w in tail if w.lower() not in ACRONYM_JOINERS)
            if letters in (every, content):
                found[m.group(2)] = " ".join(tail)
                break
    return found


def with_definitions(sentence: str, defined: dict[str, str]) -> str:
    """'55,000,000 physical SLOC [1].' read as '… SLOC (source lines of code) [1].' by the question check:
    "how many lines of code" is answered in the passage's own abbreviation."""
    for acronym, words in defined.items():
        sentence = bare_acronym(acronym).sub(f"{acronym} ({words})", sentence)
    return sentence


def spelled_out(sentence: str, defined: dict[str, str]) -> str:
    """'… the Security Unit of the LNA.' read as '… of the Libyan National Army.' where the passage
    defines "Libyan National Army (LNA)": the checks then compare the passage's own words (what the
    unit is "of"), not an abbreviation the passage only puts in brackets."""
    for acronym, words in defined.items():
        if words.lower() not in sentence.lower():
            sentence = bare_acronym(acronym).sub(words, sentence)
    return sentence


def bare_acronym(acronym: str) -> re.Pattern:
    """The acronym as a word, where no bracketed definition follows it already."""
    return re.compile(rf"\b{re.escape(acronym)}\b(?!\s*\()")


# Past tenses that are not "-ed" forms, with their base: "came out" answers "when did it come out?".
# (Forms of be, have, do and get are auxiliaries here, and verbs that do not change, "put", "read", are
# left out: each would be taken for another tense.)
IRREGULAR_PAST = {
    "arose": "arise", "ate": "eat", "became": "become", "began": "begin", "bought": "buy", "brought": "bring",
    "broke": "break", "built": "build", "came": "come", "caught": "catch", "chose": "choose", "drew": "draw",
    "drove": "drive", "fell": "fall", "felt": "feel", "fled": "flee", "flew": "fly", "fought": "fight",
    "found": "find", "froze": "freeze", "gave": "give", "grew": "grow", "heard": "hear", "held": "hold",
    "kept": "keep", "knew": "know", "laid": "lay", "led": "lead", "left": "leave", "lost": "lose", "made": "make",
    "meant": "mean", "met": "meet", "overcame": "overcome", "paid": "pay", "ran": "run", "rode": "ride",
    "rose": "rise", "said": "say", "sang": "sing", "saw": "see", "sent": "send", "shook": "shake", "sold": "sell",
    "sought": "seek", "spent": "spend", "spoke": "speak", "stole": "steal", "stood": "stand", "struck": "strike",
    "swore": "swear", "taught": "teach", "thought": "think", "threw": "throw", "told": "tell", "took": "take",
    "understood": "understand", "undertook": "undertake", "went": "go", "withdrew": "withdraw", "won": "win",
    "wore": "wear", "wrote": "write", "died": "die",
}
