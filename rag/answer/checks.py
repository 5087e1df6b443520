"""The support checks of an answer sentence against the passage window it was aligned to (verify.py);
each returns reasons, empty when the check passes: missing names and numbers, numbers that count
something else, negation parity, opposites, swapped roles, verbs' objects, places and directions,
bracketed labels, what a sentence says its subject is."""
from __future__ import annotations

import re

from rag.answer.claims import (ORDINAL_VALUE, ORDINALS, PLACE_PREPOSITIONS, SCALES, UNITS, WRITTEN_NUMBER, Token,
                               contains_word, content_words, entities, key_terms, names, normalise, number_values,
                               preposition_of, same_word, stem, stopwords, term_found, tokens)

# Tuned on the dev split of eval/support.jsonl (see eval/support.py).
NUMBER_UNIT_SPAN = 4          # tokens either side of a number in which its noun must appear
PARTITIVE_EXTRA = 3           # more tokens after "N of" ("four of the project's main Web servers")

NEGATIONS = {"not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "without", "cannot",
             "refuse", "refuses", "refused", "refusing", "deny", "denies", "denied", "reject", "rejects",
             "rejected", "fail", "fails", "failed", "avoid", "avoids", "avoided", "avoiding", "lack",
             "lacks", "lacked", "lacking", "unable", "instead"}
ADVISING = ("advis", "warn", "caution", "urg")   # "advised against" negates what follows it
# A word in the sentence whose opposite the window says (and not the word itself) contradicts it;
# prefixes, so that inflections match.
ANTONYMS = [("improv", "deteriorat"), ("increas", "decreas"), ("strengthen", "weaken"), ("accept", "reject"),
            ("expand", "reduc"), ("success", "fail"), ("support", "oppos"), ("ally", "rival"), ("allie", "rival"),
            ("east", "west"), ("north", "south"), ("stable", "unstable"), ("strong", "weak"),
            ("larg", "small"), ("won", "lost"), ("gain", "los"), ("join", "leav"), ("introduc", "drop")]
ANTONYM_SLACK = 5  # letters a word may add to the prefix ("deteriorating")
PASSIVE_BY = re.compile(r"\b(?:is|are|was|were|be|been|being)\s+(?:\w+ly\s+)?\w+(?:ed|en|t)\b[^.]*?\bby\b", re.I)


def missing_terms(stoks: list[Token], wtoks: list[Token], passage_text: str, context: list[Token]) -> list[str]:
    wtoks = wtoks + context
    wterms, wwords = key_terms(wtoks), {t.lower for t in wtoks}
    ptoks = tokens(passage_text)
    pterms, pwords = key_terms(ptoks), {t.lower for t in ptoks}
    reasons = []
    for value, i in number_values(stoks):
        if value not in wterms and not counted_by_titles(stoks, i, wtoks, value):
            where = "elsewhere in the passage, not in the sentence it restates" if value in pterms else "absent from passage"
            reasons.append(f"number {value} {where}")
    for name, i in names(stoks):
        if i == 0 and opening_participle(stoks[0]):
            continue
        if designator_of_found_name(stoks, i, wterms, wwords):
            continue
        if not term_found(name, wterms, wwords):
            where = ("elsewhere in the passage, not in the sentence it restates"
                     if term_found(name, pterms, pwords) else "absent from passage")
            reasons.append(f"name {name!r} {where}")
    return list(dict.fromkeys(reasons))


NAME_PARTICLES = {"al", "el", "bin", "ibn", "de", "da", "van", "von", "der", "le", "la"}
TITLED_GAP = 5  # tokens a name may take between two titles of one list


def counted_by_titles(stoks: list[Token], i: int, wtoks: list[Token], value: str) -> bool:
    """"the two Libyan generals" over "… met with General Mohammed al-Haddad and General Abdelrazik
    al-Nazouri": a count of a noun that the window uses as a title in one list ("General A and General
    B") of exactly that many names."""
    if not value.isdigit():
        return False
    noun = next((t.lower for t in stoks[i + 1:i + 4] if not t.capital and t.lower.endswith("s")), None)
    if noun is None:
        return False
    titled = [k for k, t in enumerate(wtoks[:-1]) if t.capital and t.lower == noun[:-1] and wtoks[k + 1].capital]
    if not titled:
        return False
    lists, current = [], titled[:1]
    for a, b in zip(titled, titled[1:]):
        gap = wtoks[a + 1:b]
        if len(gap) <= TITLED_GAP and all(t.capital or t.lower in NAME_PARTICLES | {"and"} for t in gap):
            current.append(b)
        else:
            lists.append(current)
            current = [b]
    lists.append(current)
    return any(len(names_listed) == int(value) for names_listed in lists)


# Words that close a name without telling it apart: "the Marine Corps" is the passage's "Marine", "the
# Wagner Group" its "Wagner", "the Debian Project" its "Debian".
DESIGNATORS = {"corps", "group", "project", "company", "corporation", "inc", "ltd", "llc", "foundation"}


def designator_of_found_name(stoks: list[Token], i: int, wterms: set[str], wwords: set[str]) -> bool:
    """Token i is a designator closing a name whose word before it the window holds."""
    if stoks[i].lower not in DESIGNATORS or i == 0 or not stoks[i - 1].capital:
        return False
    return term_found(stoks[i - 1].lower, wterms, wwords)


def opening_participle(tok: Token) -> bool:
    """A sentence opening on a participle ("Speaking to the media, Langley …"): capitalised only for
    standing first, not a name (a place such as "Beijing" opening a sentence is the rare exception)."""
    return tok.lower.endswith("ing") and len(tok.lower) > 5


def number_subjects(stoks: list[Token], wtoks: list[Token]) -> list[str]:
    """A number must count the same thing: the content word right after it in the sentence ("53
    countries") must sit near the same number in the window."""
    stop = stopwords()
    window_numbers = number_values(wtoks)
    reasons = []
    for value, i in number_values(stoks):
        if re.fullmatch(r"(19|20)\d\d", value) or WRITTEN_NUMBER.fullmatch(value):
            continue  # a year dates something, "127.0.0.1" or "3.0.5" names something; neither counts
        following = [t for t in stoks[i + 1:i + 3] if t.lower not in stop and t.lower not in SCALES]
        if not following or following[0].lower[0].isdigit():
            continue
        noun = following[0].lower
        near = {wtoks[k].lower for v, j in window_numbers if v == value
                for k in range(max(0, j - NUMBER_UNIT_SPAN), min(len(wtoks), j + unit_span(wtoks, j) + 1))}
        if near and not contains_word(noun, near) and not any(contains_word(t.lower, near) for t in following[1:]):
            reasons.append(f"number {value} counts '{noun}' in the sentence but not in the passage")
        # an ordinal ("first") is skipped: an adjective may stand between it and its noun
        elif not ORDINAL_VALUE.fullmatch(value) and (counted := counted_nouns(wtoks, window_numbers, value)) and not any(
                contains_word(noun, {c}) or contains_word(c, {noun}) for c in counted):
            # "a maximum of 12 members" over "a member within the previous 12 months": the passage's
            # number counts something else, whatever words stand around it
            reasons.append(f"number {value} counts '{noun}' in the sentence but '{counted[0]}' in the passage")
    return reasons


def counted_nouns(wtoks: list[Token], window_numbers: list[tuple[str, int]], value: str) -> list[str]:
    """The words right after each occurrence of `value` in the window that say what it counts
    ("12 months"); nothing for a number followed by "of", punctuation or another number."""
    stop = stopwords()
    found = []
    for v, j in window_numbers:
        if v != value or j + 1 >= len(wtoks):
            continue
        nxt = wtoks[j + 1].lower
        if not nxt.isalpha() or nxt in stop or nxt in SCALES:
            return []  # an occurrence whose count is not said: cannot tell
        found.append(nxt)
    return found


def unit_span(toks: list[Token], i: int) -> int:
    """How far after the number at i its noun may stand: further after a partitive "of"
    ("four of the project's main Web servers")."""
    partitive = i + 1 < len(toks) and toks[i + 1].lower == "of"
    return NUMBER_UNIT_SPAN + PARTITIVE_EXTRA * partitive


def negation_scopes(toks: list[Token]) -> list[set[str]]:
    """For each negation cue, the stems of the first two content words after it (what it negates)."""
    stop = stopwords()
    scopes = []
    for i, tok in enumerate(toks):
        advised_against = tok.lower == "against" and any(t.lower.startswith(ADVISING) for t in toks[max(0, i - 4):i])
        if tok.lower in NEGATIONS or advised_against:  # tokens() spells "didn't" out as "did not"
            after = [t.lower for t in toks[i + 1:i + 6] if t.lower not in stop and len(t.lower) > 2]
            scopes.append({stem(w) for w in after[:2]})
    return scopes


# "No, the archive was not affected": the answer to a yes/no question that the sentence's own "not"
# repeats, not a second negation. Alone ("No, the conference had been held there before"), it is the
# sentence's negation and counts.
ANSWER_NO = re.compile(r"^no,\s", re.IGNORECASE)


def negation_mismatch(stoks: list[Token], wtoks: list[Token], sentence: str = "") -> list[str]:
    """Negations in the sentence against those in the window that bear on what the sentence says
    (what they negate is in the sentence): "not to travel" matters to a sentence about travel only."""
    if ANSWER_NO.match(sentence) and negation_scopes(stoks[1:]):
        stoks = stoks[1:]
    sentence_words = {stem(w) for w in content_words(stoks)}
    window_negations = sum(1 for scope in negation_scopes(wtoks) if scope & sentence_words)
    sentence_negations = len(negation_scopes(stoks))
    if sentence_negations % 2 != window_negations % 2:
        side = "the sentence" if sentence_negations > window_negations else "the passage"
        return [f"negation in {side} only"]
    return []


def opposites(stoks: list[Token], wtoks: list[Token]) -> list[str]:
    """A word of the sentence whose opposite stands in the window, the word itself not."""
    def has(prefix: str, words: set[str]) -> bool:
        return any(w.startswith(prefix) and len(w) <= len(prefix) + ANTONYM_SLACK for w in words)

    sentence_words, window_words = {t.lower for t in stoks}, {t.lower for t in wtoks}
    reasons = []
    for a, b in ANTONYMS:
        for said, opposite in ((a, b), (b, a)):
            if has(said, sentence_words) and has(opposite, window_words) and not has(said, window_words):
                reasons.append(f"the passage says '{opposite}…' where the sentence says '{said}…'")
    return reasons


def participants(toks: list[Token]) -> list[str]:
    """Entities in order of appearance that act in the sentence: not the object of a preposition."""
    found = []
    for key, i in entities(toks):
        end = next(k for k in range(i, len(toks) + 1) if k == len(toks) or not toks[k].capital)
        actor = end < len(toks) and toks[end].lower == "based"   # "the Tripoli-based government"
        j = i - 1
        if j >= 0 and toks[j].lower == "the":
            j -= 1
        if j >= 0 and toks[j].lower in PLACE_PREPOSITIONS and not actor:
            continue
        if key not in found:
            found.append(key)
    return found


AUXILIARIES = {"will", "would", "can", "could", "did", "does", "do", "to", "not", "has", "have", "had", "may",
               "might", "must", "shall", "should", "was", "were", "is", "are", "been", "be"}
# The past tenses main_verb anchors roles on. Narrower than claims.IRREGULAR_PAST on purpose: with
# that table "caught" became a main verb and swapped_roles read "08:00 CET" as a participant (replayed
# over the stored eval drafts, a right sentence was dropped).
ROLE_ANCHOR_PAST = {"met", "held", "said", "told", "took", "gave", "made", "sent", "led", "became", "began",
                    "brought", "wrote", "saw", "won", "lost", "left", "kept", "put", "set", "found", "chose",
                    "took", "drove", "paid", "sold", "bought", "taught", "thought", "fought", "built", "ran"}
# Verbs whose two participants can stand either way round ("A met B" = "A and B met").
SYMMETRIC = ("meet", "met", "talk", "agree", "cooperat", "collaborat", "negotiat", "discuss", "signed",
             "held", "join", "compet", "clash", "fought", "war", "ally", "allie")


def main_verb(toks: list[Token], after: int) -> int | None:
    """Index of the first verb-like word after token `after`: a past form, a word after an auxiliary,
    or an -s form right after the subject ("The U.S. fully supports …")."""
    stop = stopwords()
    for k in range(after + 1, min(len(toks), after + 12)):
        tok = toks[k]
        if tok.capital or tok.lower in stop or len(tok.lower) < 3 or tok.lower.endswith("ly"):
            continue
        if tok.lower == "based" and toks[k - 1].capital:
            continue  # "a New York-based organisation": an adjective, not the verb
        previous = toks[k - 1].lower
        if (tok.lower.endswith("ed") or tok.lower in ROLE_ANCHOR_PAST or previous in AUXILIARIES
                or (tok.lower.endswith("s") and not tok.lower.endswith("ss") and previous.endswith("ly"))):
            return k
    return None


SUBORDINATORS = {"when", "while", "after", "before", "because", "since", "until", "where", "which", "who", "whom",
                 "whose", "although", "though", "if", "whereas"}


def swapped_roles(sentence: str, stoks: list[Token], window: str, wtoks: list[Token]) -> list[str]:
    """Who does what: the participants before the sentence's main verb must stand before the same
    verb in the window and those after it after it (the other way round when exactly one side is a
    passive with a "by" agent). Names after a place preposition are not participants."""
    acting = participants(stoks)
    runs = [(key, i) for key, i in entities(stoks) if key in acting]
    if len(runs) < 2:
        return []
    verb_at = main_verb(stoks, runs[0][1] + sum(1 for _ in names_run(stoks, runs[0][1])) - 1)
    if verb_at is None or stoks[verb_at].lower.startswith(SYMMETRIC):
        return []
    verb = stem(stoks[verb_at].lower)
    window_verbs = [k for k, t in enumerate(wtoks) if stem(t.lower) == verb]
    if len(window_verbs) != 1:
        return []  # the verb is paraphrased or repeated: nothing to anchor the roles on
    anchor = window_verbs[0]
    flip = bool(PASSIVE_BY.search(normalise(sentence))) != bool(PASSIVE_BY.search(normalise(window)))
    window_entities = entities(wtoks)
    subject = runs[0]
    clause_end = next((k for k in range(verb_at + 1, len(stoks)) if stoks[k].lower in SUBORDINATORS), len(stoks))
    # "was working at Pixar when Buzz Lightyear came out": Buzz Lightyear belongs to another verb
    objects = [(key, i) for key, i in runs if verb_at < i < clause_end][:1]
    if not objects:
        # Every participant on one side ("Daesh, Al-Shabaab and Boko Haram must be deterred"): no
        # second party to swap with, and a passive sentence over an active passage reorders the same
        # roles legitimately ("the threats that must be deterred include Daesh …").
        return []
    for key, i in [subject] + objects:
        before_in_sentence = (i < verb_at) != flip
        places = [j for w, j in window_entities if same_word(key, w)]
        if places and all((j < anchor) != before_in_sentence for j in places):
            side = "before" if before_in_sentence else "after"
            return [f"roles swapped: '{key}' stands {side} '{stoks[verb_at].lower}' in the sentence, "
                    "not in the passage"]
    return []


def names_run(toks: list[Token], start: int):
    """The tokens of the name run starting at `start`."""
    k = start
    while k < len(toks) and toks[k].capital:
        yield toks[k]
        k += 1


DIRECTIONS = {"from": "source", "to": "destination", "into": "destination"}
PLACE_MARKERS = {"in", "at", "from", "to", "into", "near", "inside", "outside", "across"}
LOCATIVE = {"in", "at", "inside"}


def place_roles(stoks: list[Token], wtoks: list[Token]) -> list[str]:
    """A name the sentence makes a place ("at the US Embassy", "to the U.S.A.") must be a place of the
    same direction in the window, not the subject of something there ("The US Embassy announced")."""
    window_runs = [(key, preposition_of(wtoks, i)) for key, i in entities(wtoks)]
    reasons = []
    for key, i in entities(stoks):
        said = preposition_of(stoks, i)
        if said not in PLACE_MARKERS:
            continue
        seen = [prep for w, prep in window_runs if same_word(key, w)]
        if not seen or modifies_sentence_noun(key, stoks, wtoks):
            continue
        # "of" places a name for "from" ("a character from Toy Story": "the characters of Toy Story"),
        # not for "in"/"at" ("met in Benghazi" is not "the chiefs of staff of Benghazi")
        accepted = PLACE_PREPOSITIONS - {"of"} if said in LOCATIVE else PLACE_PREPOSITIONS
        if not any(prep in accepted for prep in seen if prep):
            reasons.append(f"'{key}' is a place in the sentence but not in the passage")
        elif said in DIRECTIONS and all(DIRECTIONS.get(prep, DIRECTIONS[said]) != DIRECTIONS[said] for prep in seen):
            reasons.append(f"'{key}' is the {DIRECTIONS[said]} in the sentence but not in the passage")
    return reasons


def modifies_sentence_noun(key: str, stoks: list[Token], wtoks: list[Token]) -> bool:
    """The window names the place as a modifier of one of the sentence's nouns: "the Debian package
    management system" backs "packages in Debian", as "the Benghazi talks" backs "talks in Benghazi"."""
    sentence_words = set(content_words(stoks)) - {key}
    for w, i in entities(wtoks):
        if not same_word(key, w):
            continue
        after = i + sum(1 for _ in names_run(wtoks, i))
        if after < len(wtoks) and not wtoks[after].capital and contains_word(wtoks[after].lower, sentence_words):
            return True
    return False


LABELLED = re.compile(r"([A-Z][\w-]+(?:\s+[A-Z][\w-]+)*)\s*\(([^()]{1,40})\)")


def bound_labels(sentence: str, window: str) -> list[str]:
    """"Martin Schulze (Secretary)": a name's bracketed label must be the one the window gives it."""
    labels = {name.split()[-1].lower(): label.strip().lower() for name, label in LABELLED.findall(window)}
    reasons = []
    for name, label in LABELLED.findall(sentence):
        given = labels.get(name.split()[-1].lower())
        if given is not None and given != label.strip().lower():
            reasons.append(f"'{name}' is '{given}' in the passage, not '{label.strip()}'")
    return reasons


# The phrase after "of" is looked ahead at, not consumed: "invitation of the chiefs of staff of …" holds three.
OF_PHRASE = re.compile(r"\b([A-Za-z][\w-]*)\s+of\s+(?=([^,;:.()\[\]\"“”]+))")
OF_WORDS = 5  # words after "of" that say what the head is of ("the Free Standards Group and")


def of_bindings(text: str) -> list[tuple[str, set[str]]]:
    """(head, names) of each "<word> of <…>": "CTO of the Free Standards Group" -> ("cto", {"free",
    "standards", "group"}); the names are the capitalised words among the next few, up to punctuation."""
    stop = stopwords()
    found = []
    for m in OF_PHRASE.finditer(normalise(text)):
        head = m.group(1).lower()
        if head in stop or head in UNITS or head in ORDINALS:
            continue
        named = {t.lower for t in tokens(" ".join(m.group(2).split()[:OF_WORDS])) if t.capital}
        if named:
            found.append((head, named))
    return found


def of_roles(sentence: str, window: str) -> list[str]:
    """"CTO of Linux International" over "founding director of Linux International, CTO of the Free
    Standards Group": what a word is "of" must be what the window makes it of, when the window says
    what that word is of and names the sentence's thing too (in another role)."""
    bindings = of_bindings(window)
    window_names = {t.lower for t in tokens(window) if t.capital}
    reasons = []
    for head, named in of_bindings(sentence):
        said = [w for h, w in bindings if same_word(head, h)]
        if said and not any(named & w for w in said) and named & window_names:
            reasons.append(f"'{head} of {' '.join(sorted(named))}' in the sentence, "
                           f"of {' '.join(sorted(said[0]))} in the passage")
    return reasons


OBJECT_SPAN = 6  # tokens after the window's verb within which its object must be named
DETERMINERS = {"the", "a", "an"}
NOUN_MARKERS = DETERMINERS | {"whose", "its", "his", "her", "their", "our", "my", "your", "this", "that", "these",
                              "those"}
# "the first time the U.S. co-hosted": after a determiner and one of these, the word is a noun too.
RANK_WORDS = set(ORDINALS) | {"last", "next", "only", "same"}


def verb_objects(sentence: str, stoks: list[Token], wtoks: list[Token]) -> list[str]:
    """"push the Turks into a war" over "push the Libyan factions into a new war": a name standing right
    after a verb of the sentence (its object) must stand soon after the same verb in the window, when
    the window has that verb."""
    stop = stopwords()
    name_at = {i for _, i in names(stoks)}
    window_names = {i: n for n, i in names(wtoks)}
    reasons = []
    for i, tok in enumerate(stoks[:-1]):
        if tok.capital or not tok.lower.isalpha() or tok.lower in stop or len(tok.lower) < 4:
            continue
        k = i + 1 + (stoks[i + 1].lower in DETERMINERS)
        if k not in name_at or (i > 0 and stoks[i - 1].lower in NOUN_MARKERS) or (
                i > 1 and stoks[i - 1].lower in RANK_WORDS and stoks[i - 2].lower in NOUN_MARKERS):
            continue  # "whose founders Michael …", "the first time the U.S.": a noun, not a verb
        adjacent = rf"\b{re.escape(tok.text)}\s+(?:(?:the|a|an)\s+)?{re.escape(stoks[k].text)}"
        if not re.search(adjacent, normalise(sentence)):
            continue  # "the chairman, Brown": punctuation between, an apposition
        obj = stoks[k].lower
        at = [j for j, w in enumerate(wtoks) if w.lower == tok.lower]
        after = (window_names.get(m, "") for j in at for m in range(j + 1, j + 1 + OBJECT_SPAN))
        if at and not any(same_word(obj, name) for name in after):
            reasons.append(f"'{stoks[k].text}' is not what '{tok.lower}' acts on in the passage")
    return reasons


# "<Name> is a/an/the <noun phrase>": a predicate noun, not a place or state ("was at Purdue University").
COPULA_CLAIM = re.compile(r"^(?:(?:yes|no),\s+)?(?P<subject>[A-Z][\w.+-]*(?:\s+[A-Z][\w.+-]*){0,3})\s+(?:is|was|are|were)"
                          r"\s+(?:not\s+)?(?:a|an|the)\s+(?P<predicate>[^,;:()]+?)\s*\.?$", re.I)
PRONOUNS = {"he", "she", "it", "they", "his", "her", "its", "their", "this", "which", "who"}
PASSAGE_CLAUSE = re.compile(r"[^.!?|\n]+")
PREDICATE_WORDS = 4  # a longer predicate is a description, checked by the other checks


def copula_subject(sentence: str, passage: str) -> list[str]:
    """"Privoxy is a caching proxy": what the sentence calls its subject, the passage must not say only
    of others ("Polipo is a caching proxy", over a passage that names Privoxy elsewhere). Each clause
    of the passage that holds the predicate's words is read up to them: a clause with the subject
    supports the sentence; one with only other names says it of someone else."""
    found = COPULA_CLAIM.match(sentence.strip())
    if not found:
        return []
    subject = [t.lower for t in tokens(found.group("subject"))]
    predicate = content_words(tokens(found.group("predicate")))
    if not subject or subject[0] in stopwords() or not predicate or len(predicate) > PREDICATE_WORDS:
        return []  # "It is …", "The project is …": no name to look for
    others = []
    for clause in PASSAGE_CLAUSE.findall(passage):
        ctoks = tokens(clause)
        at = _phrase_start(ctoks, predicate)
        if at is None:
            continue
        before = ctoks[:at]
        if any(same_word(subject[-1], t.lower) for t in before) or any(t.lower in PRONOUNS for t in before):
            return []  # said of the subject, or of someone the passage only calls "he" or "it"
        others += [name for name, _ in entities(before) if not any(same_word(name, s) for s in subject)]
    return [f"the passage says '{' '.join(predicate)}' of {others[0]}, not of {found.group('subject')}"] if others else []


def _phrase_start(toks: list[Token], words: list[str]) -> int | None:
    """Index of the first token of `words` found in order (each within 3 tokens of the last), or None."""
    for start, tok in enumerate(toks):
        if not same_word(words[0], tok.lower):
            continue
        k = start
        for word in words[1:]:
            k = next((j for j in range(k + 1, min(len(toks), k + 4)) if same_word(word, toks[j].lower)), None)
            if k is None:
                break
        else:
            return start
    return None
