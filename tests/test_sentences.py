"""The one sentence splitter every answer step uses (extractive quotes, passage trimming, the
verifier), and the question-level check for names the passages never mention."""
from __future__ import annotations

from rag.answer.decide import decide
from rag.answer.relevance import unmentioned_names
from rag.answer.results import Citation
from rag.answer.sentences import sentence_texts, sentences_of
from rag.embedding import Embedder

# A hard-wrapped text file, as Debian's constitution is shipped.
WRAPPED = """1. Introduction

   The Debian Project is an association of individuals who have made
   common cause to create a free operating system.

   This document describes the organisational structure for formal
   decision-making in the Project.
"""
PASSAGE = ("The twelfth DebConf, Debconf11, was held in Banja Luka from 24 to 30 July 2011. "
           "The Debian Project Leader is elected every year.")


def test_a_hard_wrapped_sentence_is_one_sentence():
    assert sentence_texts(WRAPPED) == [
        "1. Introduction",
        "The Debian Project is an association of individuals who have made common cause to create a free "
        "operating system.",
        "This document describes the organisational structure for formal decision-making in the Project.",
    ]
    # the span runs over the line break, so a citation highlights the whole sentence
    assert any("have made\n   common cause" in WRAPPED[start:end] for start, end in sentences_of(WRAPPED))


def test_a_title_and_its_byline_stay_apart_from_the_text():
    text = ("Libya: Russia, US in Strategic Competition in East After Fall of Assad\n\n"
            "by | Dec 16, 2024 | Libya, Political\n\nSummary: Russia keeps its bases in the east.")
    assert sentence_texts(text) == ["Libya: Russia, US in Strategic Competition in East After Fall of Assad",
                                    "by | Dec 16, 2024 | Libya, Political", "Summary: Russia keeps its bases in the east."]


def test_abbreviations_and_list_numbers_do_not_end_a_sentence():
    text = "General Brown Jr. met the U.S. Africa Command staff.\n2.\nThe Developers vote."
    assert sentence_texts(text) == ["General Brown Jr. met the U.S. Africa Command staff.", "2. The Developers vote."]


def test_names_the_passages_never_mention():
    assert unmentioned_names("where was debconf22?", [PASSAGE]) == ["debconf22"]
    assert unmentioned_names("When was Ubuntu forked from Debian?", [PASSAGE]) == ["ubuntu"]
    assert unmentioned_names("Where was DebConf11 held?", [PASSAGE]) == []
    assert unmentioned_names("How long is a DPL term?", [PASSAGE]) == []  # spelled out in the passage
    assert unmentioned_names("Who was DPL in 1999?", ["The leader in 1999 was Wichert Akkerman."]) == []  # jargon
    assert unmentioned_names("Tell me when DebConf11 was", [PASSAGE]) == []  # a capitalised first word is no name
    # nor is a quoted message's first word, unless the corpus writes it only as a name
    log = "Privoxy logs a warning when resolving the hostname fails on misconfigured systems."
    assert unmentioned_names('My logs show many "Unable to get my own hostname" lines. Why?', [log]) == []
    assert unmentioned_names('What does "Bookworm" mean?', [log], frozenset({"bookworm"})) == ["bookworm"]
    assert unmentioned_names("Where are the URLs listed?", ["Each URL is listed in the actions file."]) == []
    # a later sentence of the question opens on a capital too (privoxy-faq, a right "No" refused)
    malware = "Privoxy is not designed to be a malware removal tool."
    assert unmentioned_names("Can Privoxy remove spyware? Adware? Viruses?", [malware]) == []
    assert unmentioned_names("Thanks. Ubuntu forked when?", [malware], frozenset({"ubuntu"})) == ["ubuntu"]
    # "I'd" is the pronoun, not "Id" (debian-faq: the corpus writes "ID", the question was refused)
    dpkg = "Add log /var/log/dpkg.log to /etc/dpkg/dpkg.cfg to log each package installed or removed."
    assert unmentioned_names("How do I log installed packages? I'd like to know when, I'm told I've to ask",
                             [dpkg], frozenset({"id", "im", "ive"})) == []

    # whose words a question asks for is looked for like a name: the passages must have that speaker
    sources = "The sources confirmed that the Turks refuse a new proxy war with the Russians and Egyptians."
    assert unmentioned_names("What did the Egyptian president say about the proxy war?", [sources]) == ["president"]
    assert unmentioned_names("What do the sources say about a proxy war?", [sources]) == []
    assert unmentioned_names("What did he say about the war?", [sources]) == []


def test_a_question_about_an_unmentioned_name_is_refused_whatever_the_answer():
    citation = Citation(n=1, id="c1", source="dh.txt", title="DebConf", start=0, end=len(PASSAGE), text=PASSAGE,
                        score=0.8)
    decision = decide("where was debconf22?", "It was held in Banja Luka [1].", [citation], Embedder())
    assert decision.refused and "debconf22" in decision.reason
    decision = decide("where was debconf11?", "It was held in Banja Luka [1].", [citation], Embedder())
    assert not decision.refused


def test_a_sentence_tells_something_new_only_beyond_the_question_s_own_words():
    from rag.answer.relevance import tells_new

    where = "Where was the 2024 African Defense Chiefs Conference held?"
    assert not tells_new("place", where, "It was the first time the conference was held in Africa.")
    assert tells_new("place", where, "The generals met at the conference in Gaborone, Botswana.")
    who = "Who led Debian after Ian Murdock?"
    assert not tells_new("person", who, "Ian Murdock led Debian from 1993.")
    assert tells_new("person", who, "Bruce Perens led Debian from April 1996.")
    many = "How many Russians were arrested in Tripoli in 2024?"
    assert not tells_new("number", many, "In 2024 Russians were arrested in Tripoli.")
    assert tells_new("number", many, "Three Russians were arrested in Tripoli.")


def test_a_number_that_names_a_thing_must_be_in_the_passages():
    sid = ("The Debian Project continues to work on the unstable distribution (codenamed sid). Version 1.6 was "
           "ratified on December 13th, 2015. DebConf5 was held in Helsinki.")
    assert unmentioned_names("what's the codename of debian 13?", [sid]) == ["13"]  # "13th" is a date's day
    assert unmentioned_names("when did debian 12 bookworm come out?", [sid]) == ["12"]
    assert unmentioned_names("How many people attended Debconf 5?", [sid]) == []  # written "DebConf5"
    assert unmentioned_names("What changed in version 1.6?", [sid]) == []
    assert unmentioned_names("What happened in 2015?", [sid]) == []
    # a number the answer is to fill is asked for, not named
    assert unmentioned_names("What are the 3 main goals of the project?", [sid]) == []
    assert unmentioned_names("Name 2 developers of the project", [sid]) == []
    # thousands separators or not, it is the same number
    archive = "The archive grew past 15,400 binary packages; release 10000 of the tool shipped."
    assert unmentioned_names("what came after release 10,000?", [archive]) == []
    assert unmentioned_names("which release had package 15400?", [archive]) == []
    assert unmentioned_names("which release had package 15401?", [archive]) == ["15401"]


def test_a_word_the_corpus_only_writes_as_a_name_is_one_in_lower_case_too():
    sarge = "This release shipped with the 2.4 and 2.6 Linux kernel series and a brand new installer."
    assert unmentioned_names("what kernel version did bookworm ship with?", [sarge], frozenset({"bookworm"})) == \
        ["bookworm"]
    assert unmentioned_names("what kernel version did bookworm ship with?", [sarge]) == []  # not known as a name
    assert unmentioned_names("what kernel did sarge ship with?", [f"Sarge: {sarge}"], frozenset({"sarge"})) == []


def test_numbers_inside_code_or_markup_name_nothing():
    question = 'What did the inspector write? <img src=x onerror="window.__xss=3">'
    assert unmentioned_names(question, ["The inspector wrote a report."]) == []
    assert unmentioned_names("What is the 5+5 committee?", ["The 5+5 Joint Military Committee met."]) == []
